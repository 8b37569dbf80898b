package e2e_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// from returns an HTTP client whose connections leave from the loopback
// address addr (127.0.0.2, 127.0.0.3, …), so the gateway sees a different
// client for each.
func from(addr string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

// login posts a password login through c and returns the status and the
// Retry-After it carried.
func login(t *testing.T, c *http.Client, base, email, password string, header http.Header) (int, int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/v1/sessions",
		strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, retry
}

// TestBruteForceCannotLockOutTheVictim: attackers on three addresses fail
// logins on random emails and on the victim's email through the real
// gateway; the victim, on another address, still logs in at once. Before
// the auth service saw client addresses through the gateway, every login
// shared the gateway's address and the victim got 429.
func TestBruteForceCannotLockOutTheVictim(t *testing.T) {
	env := testinfra.PlatformEnv(t)
	_, base := testinfra.ServeAll(t, env)
	const victim, password = "victim@example.com", "the victim's long password"
	status, _ := call(t, "POST", base+"/v1/users", "", "application/json",
		fmt.Sprintf(`{"email":%q,"password":%q,"display_name":"Victim"}`, victim, password))
	require.Equal(t, 201, status)

	attackers := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	var mu sync.Mutex
	refused := map[string]int{}
	var wg sync.WaitGroup
	// First 12 tries on the victim's email (4 from each address)...
	heard := 0
	for _, a := range attackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := from(a)
			for i := range 4 {
				st, _ := login(t, c, base, victim, fmt.Sprintf("guess %d", i), nil)
				require.Contains(t, []int{http.StatusUnauthorized, http.StatusTooManyRequests}, st)
				mu.Lock()
				if st == http.StatusUnauthorized {
					heard++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.GreaterOrEqual(t, heard, 9, "the tenth failure slows the account down (and answers 429 itself); later tries are refused")
	// ...then 60 on random emails (20 from each).
	for _, a := range attackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := from(a)
			for i := range 20 {
				st, retry := login(t, c, base, fmt.Sprintf("nobody-%s-%d@example.com", a, i), "guess", nil)
				require.Contains(t, []int{http.StatusUnauthorized, http.StatusTooManyRequests}, st)
				if st == http.StatusTooManyRequests {
					require.GreaterOrEqual(t, retry, 1, "a refusal says when to come back")
					mu.Lock()
					refused[a]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	for _, a := range attackers {
		require.Positive(t, refused[a], "attacker %s is slowed down", a)
	}

	// An attacker is judged by its own address, whatever it claims: five
	// failures on one account from one address lock that pair for 15
	// minutes, though each claimed another address. (Checked on a second
	// account from a fresh address, so that no earlier wait, which may run
	// out on a slow machine, decides it.)
	const second, secondPassword = "second@example.com", "the second user's long password"
	status, _ = call(t, "POST", base+"/v1/users", "", "application/json",
		fmt.Sprintf(`{"email":%q,"password":%q,"display_name":"Second"}`, second, secondPassword))
	require.Equal(t, 201, status)
	claims := func(i int) http.Header { return http.Header{"X-Forwarded-For": {fmt.Sprintf("203.0.113.%d", 50+i)}} }
	forger := from("127.0.0.6")
	for i := range 5 {
		st, _ := login(t, forger, base, second, "guess", claims(i))
		want := http.StatusUnauthorized
		if i == 4 {
			want = http.StatusTooManyRequests // the failure that locks the pair says so itself
		}
		require.Equal(t, want, st, "failure %d", i+1)
	}
	st, _ := login(t, forger, base, second, secondPassword, claims(5))
	require.Equal(t, http.StatusTooManyRequests, st, "a forged X-Forwarded-For is not believed: the pair is locked")

	start := time.Now()
	st, _ = login(t, from("127.0.0.5"), base, victim, password, nil)
	require.Equal(t, http.StatusCreated, st, "the victim logs in")
	require.Less(t, time.Since(start), 5*time.Second, "at once: at most the account's bounded delay")
}

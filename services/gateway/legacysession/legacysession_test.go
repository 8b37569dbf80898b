package legacysession_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/gateway/legacysession"
)

// fakeAuth is auth's token endpoint for the exchange: "live-N" sessions
// become "lattice-N" tokens, "forged" is invalid_grant, and a wrong client
// secret is invalid_client.
type fakeAuth struct {
	calls atomic.Int64
	gate  chan struct{} // when set, answers wait for it
}

func (a *fakeAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.calls.Add(1)
	if a.gate != nil {
		<-a.gate
	}
	id, secret, _ := r.BasicAuth()
	_ = r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case id != "gateway" || secret != "s3cret":
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client"})
	case r.PostForm.Get("grant_type") != legacysession.GrantTokenExchange || r.PostForm.Get("subject_token_type") != legacysession.TokenTypeLegacySession:
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "unsupported_grant_type"})
	case strings.HasPrefix(r.PostForm.Get("subject_token"), "live-"):
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "lattice-" + strings.TrimPrefix(r.PostForm.Get("subject_token"), "live-"),
			"token_type": "Bearer", "expires_in": 900, "issued_token_type": legacysession.TokenTypeAccessToken})
	default:
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
	}
}

func TestAnExchangeIsMadeOncePerSession(t *testing.T) {
	ctx := context.Background()
	auth := &fakeAuth{gate: make(chan struct{})}
	srv := httptest.NewServer(auth)
	defer srv.Close()
	x, err := legacysession.New(srv.URL+"/oauth2/token", "gateway", "s3cret", srv.Client())
	require.NoError(t, err)

	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		wg.Go(func() { got[i], _ = x.Exchange(ctx, "live-1") })
	}
	testinfra.Within(t, 10*time.Second, "the first exchange is under way", func() bool { return auth.calls.Load() == 1 })
	close(auth.gate)
	wg.Wait()
	for _, tok := range got {
		require.Equal(t, "lattice-1", tok)
	}
	tok, err := x.Exchange(ctx, "live-1")
	require.NoError(t, err)
	require.Equal(t, "lattice-1", tok)
	require.EqualValues(t, 1, auth.calls.Load(), "twenty concurrent requests and a later one: one exchange")

	_, err = x.Exchange(ctx, "forged")
	require.ErrorIs(t, err, legacysession.ErrRejected)
	_, err = x.Exchange(ctx, "forged")
	require.ErrorIs(t, err, legacysession.ErrRejected)
	require.EqualValues(t, 2, auth.calls.Load(), "a refusal is remembered too")

	_, err = x.Exchange(ctx, strings.Repeat("x", legacysession.MaxToken+1))
	require.ErrorIs(t, err, legacysession.ErrRejected)
	require.EqualValues(t, 2, auth.calls.Load(), "an oversized token is not sent")
}

func TestAMisconfiguredExchangeIsAnErrorNotARefusal(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(&fakeAuth{})
	defer srv.Close()
	x, err := legacysession.New(srv.URL+"/oauth2/token", "gateway", "wrong", srv.Client())
	require.NoError(t, err)
	_, err = x.Exchange(ctx, "live-1")
	require.Error(t, err)
	require.NotErrorIs(t, err, legacysession.ErrRejected, "the gateway's own credentials are not the caller's fault")
	require.NotContains(t, err.Error(), "wrong", "the secret is not repeated")

	srv.Close()
	_, err = x.Exchange(ctx, "live-2")
	require.Error(t, err)
	require.NotErrorIs(t, err, legacysession.ErrRejected, "auth unreachable")

	_, err = legacysession.New("/oauth2/token", "gateway", "s3cret", nil)
	require.Error(t, err)
	_, err = legacysession.New(srv.URL, "", "", nil)
	require.Error(t, err)
}

// TestRememberedExchangesAreBounded: more sessions than the limit
// (MaxRemembered) never grow the memory past it; the newest is kept.
func TestRememberedExchangesAreBounded(t *testing.T) {
	ctx := context.Background()
	auth := &fakeAuth{}
	srv := httptest.NewServer(auth)
	defer srv.Close()
	x, err := legacysession.New(srv.URL, "gateway", "s3cret", srv.Client())
	require.NoError(t, err)
	const limit = 100
	x.SetLimit(limit)
	n := limit + 50
	for i := range n {
		_, err := x.Exchange(ctx, "live-"+strconv.Itoa(i))
		require.NoError(t, err)
	}
	require.LessOrEqual(t, x.Remembered(), limit)
	calls := auth.calls.Load()
	last := "live-" + strconv.Itoa(n-1)
	_, err = x.Exchange(ctx, last)
	require.NoError(t, err)
	require.Equal(t, calls, auth.calls.Load(), "the newest exchange is remembered")
}

// TestAnExchangeIsBounded: auth's answer is read up to its bound, and an
// auth that does not answer within the timeout is an error, not a
// refusal.
func TestAnExchangeIsBounded(t *testing.T) {
	ctx := context.Background()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/huge" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"access_token":"`+strings.Repeat("a", 70<<10)+`","expires_in":900,"issued_token_type":"`+legacysession.TokenTypeAccessToken+`"}`)
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	huge, err := legacysession.New(srv.URL+"/huge", "gateway", "s3cret", srv.Client())
	require.NoError(t, err)
	_, err = huge.Exchange(ctx, "live-1")
	require.Error(t, err, "an answer over 64 KiB is not read whole")
	require.NotErrorIs(t, err, legacysession.ErrRejected)

	silent, err := legacysession.New(srv.URL+"/silent", "gateway", "s3cret", srv.Client())
	require.NoError(t, err)
	silent.SetTimeout(100 * time.Millisecond)
	start := time.Now()
	_, err = silent.Exchange(ctx, "live-1")
	require.Error(t, err)
	require.NotErrorIs(t, err, legacysession.ErrRejected)
	require.Less(t, time.Since(start), 5*time.Second, "the exchange was bounded")
}

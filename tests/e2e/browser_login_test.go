package e2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// chromium returns Debian's Chromium, skipping the test outside CI when it
// is not installed (.ci/run installs it).
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed: apt-get install chromium")
		}
		t.Skip("chromium is not installed: apt-get install chromium")
	}
	return path
}

// browserContext starts a headless Chromium with a fresh profile, with the
// flags that keep it off the network this machine does not have.
func browserContext(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.UserDataDir(t.TempDir()), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

// callback is a client application's redirect URI on loopback: it records
// the query each visit brings.
func callback(t *testing.T) (*httptest.Server, <-chan url.Values) {
	t.Helper()
	visits := make(chan url.Values, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cb" {
			http.NotFound(w, r)
			return
		}
		visits <- r.URL.Query()
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<!doctype html><title>signed in</title><p>back at the client</p>"))
	}))
	t.Cleanup(srv.Close)
	return srv, visits
}

// TestBrowserCompletesTheAuthorizationCodeFlow drives Debian's Chromium
// through the gateway: the login form is filled in and posted, and the
// browser lands on the client's redirect URI with a code and the state
// (it used to stop on the login page: the form's CSP blocked the redirect
// that answered the post). Signed in, the browser then goes straight back
// with a new code, without the form.
func TestBrowserCompletesTheAuthorizationCodeFlow(t *testing.T) {
	ctx := browserContext(t)
	env := testinfra.PlatformEnv(t)
	cb, visits := callback(t)
	redirect := cb.URL + "/cb"
	out := lattice(t, env, "", "client", "create", "--name", "Notebook", "--type", "public",
		"--redirect-uri", redirect, "--grant", "authorization_code", "--scope", "users:read")
	var clientID string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "client_id="); ok {
			clientID = v
		}
	}
	require.NotEmpty(t, clientID)
	_, base := testinfra.ServeAll(t, env)
	status, _ := call(t, "POST", base+"/v1/users", "", "application/json", `{"email":"lin@example.com","password":"a long enough password","display_name":"Lin"}`)
	require.Equal(t, 201, status)

	authURL := func(state, verifier string) string {
		sum := sha256.Sum256([]byte(verifier))
		q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "scope": {"users:read"},
			"state": {state}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
		return base + "/oauth2/authorize?" + q.Encode()
	}
	arrive := func(what string) url.Values {
		select {
		case v := <-visits:
			return v
		case <-time.After(30 * time.Second):
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("%s: the browser never reached the redirect URI; it is at %s", what, loc)
		}
		return nil
	}
	exchange := func(code, verifier string) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
			"client_id": {clientID}, "code_verifier": {verifier}}
		status, tok := call(t, "POST", base+"/oauth2/token", "", "application/x-www-form-urlencoded", form.Encode())
		require.Equal(t, 200, status, "the code is real: %v", tok)
		status, me := call(t, "GET", base+"/v1/users/me", tok["access_token"].(string), "", "")
		require.Equal(t, 200, status)
		require.Equal(t, "lin@example.com", me["email"])
	}

	verifier := oauth2.GenerateVerifier()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(authURL("first-visit", verifier)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "lin@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "a long enough password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	))
	got := arrive("after the login form")
	require.Equal(t, "first-visit", got.Get("state"))
	require.NotEmpty(t, got.Get("code"))
	exchange(got.Get("code"), verifier)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(loc, redirect+"?"), "the browser is at the client: %s", loc)

	// Signed in: the consent-free path sends the browser straight back.
	verifier = oauth2.GenerateVerifier()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(authURL("second-visit", verifier))))
	got = arrive("signed in")
	require.Equal(t, "second-visit", got.Get("state"))
	exchange(got.Get("code"), verifier)
}

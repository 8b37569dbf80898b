package testinfra

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// Browser is a user agent that keeps cookies and does not follow
// redirects, so tests can read where a server sends it.
func Browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// CSRFField finds the login form's CSRF token (its first submatch).
var CSRFField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// SignIn walks Lattice's authorization endpoint as a person would: open
// authURL, fill in the login form with email and password, post it to
// formURL (the authorization endpoint, through whatever front door the
// test uses), and return where the server sends the browser back to. A
// browser already signed in is sent back at once, without the form.
func SignIn(t *testing.T, b *http.Client, authURL, formURL, email, password string) *url.URL {
	t.Helper()
	resp, err := b.Get(authURL)
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusFound { // already signed in
		loc, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		return loc
	}
	require.Equal(t, http.StatusOK, resp.StatusCode, string(page))
	require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
	m := CSRFField.FindSubmatch(page)
	require.NotNil(t, m, "the form carries a CSRF token")
	q, err := url.Parse(authURL)
	require.NoError(t, err)
	form := url.Values{"email": {email}, "password": {password}, "csrf_token": {string(m[1])}}
	for k, v := range q.Query() {
		form[k] = v
	}
	resp, err = b.PostForm(formURL, form)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, string(body))
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	return loc
}

package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
	"github.com/lattice-platform/lattice/services/auth/oapi"
)

type loginView struct {
	ClientName, Scope, Error, Email, CSRF, Action string
	Params                                        map[string]string
}

type errorView struct{ Code, Description string }

// Authorize shows the login form, or redirects straight back when the
// browser already has a session.
func (s *Server) Authorize(ctx context.Context, req oapi.AuthorizeRequestObject) (oapi.AuthorizeResponseObject, error) {
	p := req.Params
	ar := app.AuthorizeRequest{
		ResponseType: deref(p.ResponseType), ClientID: deref(p.ClientId), RedirectURI: deref(p.RedirectUri), Scope: deref(p.Scope),
		State: deref(p.State), CodeChallenge: deref(p.CodeChallenge), CodeChallengeMethod: deref(p.CodeChallengeMethod),
	}
	v, page, err := s.checkAuthorize(ctx, ar)
	if err != nil || page != nil {
		return *page, err
	}
	if cookie := s.cookie(ctx, sessionCookieName); cookie != "" {
		if sess, err := s.app.BrowserSession(ctx, cookie); err == nil {
			if u, err := s.app.Me(ctx, domain.Principal{UserID: sess.UserID}); err == nil {
				return s.redirectWithCode(ctx, v, u, nil)
			}
		}
	}
	return s.loginForm(ctx, http.StatusOK, v, "", "")
}

// AuthorizeLogin handles the login form.
func (s *Server) AuthorizeLogin(ctx context.Context, req oapi.AuthorizeLoginRequestObject) (oapi.AuthorizeLoginResponseObject, error) {
	f := req.Body
	if f == nil {
		f = &oapi.AuthorizeLoginForm{}
	}
	ar := app.AuthorizeRequest{
		ResponseType: deref(f.ResponseType), ClientID: deref(f.ClientId), RedirectURI: deref(f.RedirectUri), Scope: deref(f.Scope),
		State: deref(f.State), CodeChallenge: deref(f.CodeChallenge), CodeChallengeMethod: deref(f.CodeChallengeMethod),
	}
	v, page, err := s.checkAuthorize(ctx, ar)
	if err != nil || page != nil {
		return *page, err
	}
	c := callerFrom(ctx)
	token, csrfCookie := deref(f.CsrfToken), s.cookie(ctx, csrfCookieName)
	if token == "" || csrfCookie == "" || subtle.ConstantTimeCompare([]byte(token), []byte(csrfCookie)) != 1 {
		return render(http.StatusBadRequest, "error.html", errorView{Code: domain.ErrInvalidRequest,
			Description: "The sign-in form expired or was not sent from this site. Go back to the application and start again."})
	}
	user, err := s.app.CheckPassword(ctx, deref(f.Email), deref(f.Password), c.ip)
	switch {
	case errors.Is(err, domain.ErrInvalidCredentials):
		return s.loginForm(ctx, http.StatusOK, v, deref(f.Email), "Email or password is incorrect.")
	case fault.Of(err, fault.RateLimited):
		return s.loginForm(ctx, http.StatusTooManyRequests, v, deref(f.Email), "Too many failed sign-ins. Try again later.")
	case err != nil:
		return nil, err
	}
	ns, err := s.app.OpenBrowserSession(ctx, user, c.ip, c.userAgent)
	if err != nil {
		return nil, err
	}
	cookie := s.newCookie(ctx, sessionCookieName, ns.Token, http.SameSiteLaxMode)
	cookie.Expires = ns.Session.ExpiresAt
	expired := s.newCookie(ctx, csrfCookieName, "", http.SameSiteStrictMode)
	expired.MaxAge = -1
	return s.redirectWithCode(ctx, v, user, []*http.Cookie{cookie, expired})
}

// checkAuthorize validates the request; on failure it returns the page to
// show (an error page, or a redirect carrying the error).
func (s *Server) checkAuthorize(ctx context.Context, ar app.AuthorizeRequest) (app.ValidatedAuthorize, *htmlPage, error) {
	v, err := s.app.CheckAuthorize(ctx, ar)
	var ae *app.AuthorizeError
	switch {
	case err == nil:
		return v, nil, nil
	case !errors.As(err, &ae):
		return v, &htmlPage{}, err
	case !ae.Redirect:
		page, err := render(http.StatusBadRequest, "error.html", errorView{Code: ae.Code, Description: ae.Description})
		return v, &page, err
	}
	loc := app.RedirectWith(ar.RedirectURI, url.Values{
		"error": {ae.Code}, "error_description": {ae.Description}, "state": {ar.State}, "iss": {s.issuer},
	})
	return v, &htmlPage{location: loc}, nil
}

func (s *Server) redirectWithCode(ctx context.Context, v app.ValidatedAuthorize, u domain.User, cookies []*http.Cookie) (htmlPage, error) {
	loc, err := s.app.IssueCode(ctx, v, u)
	if err != nil {
		return htmlPage{}, err
	}
	return htmlPage{location: loc, cookies: cookies}, nil
}

// loginForm renders the form with a fresh CSRF token, set as a cookie too
// (double-submit): a cross-site page can post the form but cannot read or
// set the cookie.
func (s *Server) loginForm(ctx context.Context, status int, v app.ValidatedAuthorize, email, msg string) (htmlPage, error) {
	var b [24]byte
	_, _ = rand.Read(b[:])
	csrf := base64.RawURLEncoding.EncodeToString(b[:])
	r := v.Request
	page, err := render(status, "login.html", loginView{
		ClientName: v.Client.Name, Scope: strings.Join(v.Scopes, " "), Error: msg, Email: email, CSRF: csrf, Action: authorizePath,
		Params: map[string]string{
			"response_type": r.ResponseType, "client_id": r.ClientID, "redirect_uri": r.RedirectURI, "scope": r.Scope,
			"state": r.State, "code_challenge": r.CodeChallenge, "code_challenge_method": r.CodeChallengeMethod,
		},
	})
	if err != nil {
		return htmlPage{}, err
	}
	cookie := s.newCookie(ctx, csrfCookieName, csrf, http.SameSiteStrictMode)
	cookie.MaxAge = 3600
	page.cookies = []*http.Cookie{cookie}
	if origin := cspOrigin(r.RedirectURI); origin != "" {
		page.formTargets = []string{origin}
	}
	return page, nil
}

// secure says whether the browser reached us over HTTPS: the public URL
// says so, or a trusted proxy did (X-Forwarded-Proto), or our own TLS.
func (s *Server) secure(ctx context.Context) bool {
	return strings.HasPrefix(s.issuer, "https://") || callerFrom(ctx).https
}

// cookieName is name as the browser stores it: with the __Host- prefix
// over HTTPS.
func (s *Server) cookieName(ctx context.Context, name string) string {
	if s.secure(ctx) {
		return hostPrefix + name
	}
	return name
}

// newCookie is one of the login flow's cookies: HttpOnly, Path=/, and
// Secure with the __Host- prefix over HTTPS.
func (s *Server) newCookie(ctx context.Context, name, value string, sameSite http.SameSite) *http.Cookie {
	return &http.Cookie{Name: s.cookieName(ctx, name), Value: value, Path: "/", HttpOnly: true,
		Secure: s.secure(ctx), SameSite: sameSite}
}

// cookie returns the value of one of the login flow's cookies.
func (s *Server) cookie(ctx context.Context, name string) string {
	want := s.cookieName(ctx, name)
	for _, c := range callerFrom(ctx).cookies {
		if c.Name == want {
			return c.Value
		}
	}
	return ""
}

// cspOrigin is the CSP source expression for a redirect URI's origin, or
// "" when the URI holds anything a source expression cannot (the URI
// matched a registered one exactly, so this only guards the header).
func cspOrigin(redirectURI string) string {
	u, err := url.Parse(redirectURI)
	if err != nil || u.Scheme == "" || strings.ContainsFunc(u.Scheme+u.Host, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-+:[]", r))
	}) {
		return ""
	}
	if u.Host == "" { // a private-use scheme of a native app: com.example.app:/cb
		return u.Scheme + ":"
	}
	return u.Scheme + "://" + u.Host
}

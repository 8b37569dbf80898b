package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/argon2id"
	"github.com/lattice-platform/lattice/pkg/adapters/jose"
	"github.com/lattice-platform/lattice/pkg/adapters/legacyhash"
	"github.com/lattice-platform/lattice/pkg/adapters/tokenverify"
	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports/portstest"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/app/fake"
	"github.com/lattice-platform/lattice/services/auth/authsvc"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

const issuer = "https://auth.test"

func setup(t *testing.T) (*app.Service, *clock) {
	t.Helper()
	svc, clk, _ := setupWithOutbox(t)
	return svc, clk
}

// setupWithOutbox is setup that also returns the outbox the service writes
// its audit events to.
func setupWithOutbox(t *testing.T) (*app.Service, *clock, *portstest.Outbox) {
	t.Helper()
	return setupWithOptions(t, app.Options{Issuer: issuer, SessionTTL: time.Hour})
}

// setupWithOptions is setupWithOutbox with the service's options.
func setupWithOptions(t *testing.T, opts app.Options) (*app.Service, *clock, *portstest.Outbox) {
	t.Helper()
	return setupWith(t, opts, fake.NewSessionStore())
}

func setupWith(t *testing.T, opts app.Options, sessions app.SessionStore) (*app.Service, *clock, *portstest.Outbox) {
	t.Helper()
	return setupEditing(t, opts, func(d *app.Deps) { d.Sessions = sessions })
}

// setupEditing is setup with edit applied to the dependencies first.
func setupEditing(t *testing.T, opts app.Options, edit func(*app.Deps)) (*app.Service, *clock, *portstest.Outbox) {
	t.Helper()
	outbox := portstest.NewOutbox()
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	keys := fake.NewSigningKeyStore()
	deps := app.Deps{
		Users:    fake.NewUserRepository(),
		Sessions: fake.NewSessionStore(),
		Throttle: fake.NewLoginThrottle(),
		Hasher:   legacyhash.Hasher{Current: argon2id.New(argon2id.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32})},
		Clients:  fake.NewClientRepository(),
		Grants:   fake.NewGrantStore(),
		Keys:     keys,
		Signer:   jose.NewSigner(),
		APIKeys:  fake.NewAPIKeyRepository(),
		Verifier: tokenverify.New(tokenverify.Config{Issuer: issuer, Audience: "lattice",
			Fetch: authsvc.StoreKeys(keys, clk.Now), MinRefetch: time.Nanosecond, Now: clk.Now}),
		Clock:  clk,
		Tx:     portstest.Transactor{},
		Outbox: outbox,
	}
	edit(&deps)
	svc, err := app.New(deps, opts)
	require.NoError(t, err)
	return svc, clk, outbox
}

const pw = "correct horse battery"

func signUp(t *testing.T, svc *app.Service, email string) domain.User {
	t.Helper()
	u, err := svc.SignUp(context.Background(), app.SignUpInput{Email: email, Password: pw, DisplayName: "Ada"})
	require.NoError(t, err)
	return u
}

func TestSignUpNormalisesAndRejectsDuplicates(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	u := signUp(t, svc, " Ada@Example.com")
	require.Equal(t, "ada@example.com", u.Email)
	require.Equal(t, domain.RoleUser, u.Role)
	require.NotContains(t, u.PasswordHash, pw)

	_, err := svc.SignUp(context.Background(), app.SignUpInput{Email: "ADA@example.com", Password: pw, DisplayName: "Imposter"})
	require.ErrorIs(t, err, domain.ErrEmailTaken)
}

func TestSignUpValidates(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	for _, in := range []app.SignUpInput{
		{Email: "bad", Password: pw, DisplayName: "A"},
		{Email: "a@example.com", Password: "short", DisplayName: "A"},
		{Email: "a@example.com", Password: pw, DisplayName: " "},
	} {
		_, err := svc.SignUp(context.Background(), in)
		require.True(t, fault.Of(err, fault.Invalid), "%+v: got %v", in, err)
	}
}

func TestLoginAuthenticateLogout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, clk := setup(t)
	u := signUp(t, svc, "ada@example.com")

	ns, err := svc.Login(ctx, app.LoginInput{Email: "ADA@example.com", Password: pw, IP: "10.0.0.1", UserAgent: "ua"})
	require.NoError(t, err)
	require.Regexp(t, `^lts_[A-Za-z0-9_-]{43}$`, ns.Token)
	require.Equal(t, clk.Now().Add(time.Hour), ns.Session.ExpiresAt)

	p, err := svc.Authenticate(ctx, ns.Token)
	require.NoError(t, err)
	require.Equal(t, u.ID, p.UserID)
	require.Equal(t, ns.Session.ID, p.SessionID)

	list, err := svc.ListSessions(ctx, p)
	require.NoError(t, err)
	require.Len(t, list, 1)

	require.NoError(t, svc.Logout(ctx, p))
	_, err = svc.Authenticate(ctx, ns.Token)
	require.ErrorIs(t, err, domain.ErrUnauthenticated)
}

// TestAMigratedUsersLegacyHashIsReplacedAtTheFirstLogin: a user imported
// with the monolith's passlib hash logs in with the old password; the hash
// then becomes Argon2id (audited, naming only the old scheme), and the
// password still works while the old hash is gone.
func TestAMigratedUsersLegacyHashIsReplacedAtTheFirstLogin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	users := fake.NewUserRepository()
	svc, _, outbox := setupEditing(t, app.Options{}, func(d *app.Deps) { d.Users = users })
	const legacy = "$pbkdf2-sha256$29000$Z0yJsdbam1NKiZHSGuMcIw$gExhbYkaQ1gdOnzl6LfxSBp.i5Fh.cTMpkCQ/aF3av4" // passlib, "correct horse"
	at := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	require.NoError(t, users.Create(ctx, domain.User{ID: "0190c0de-0000-7000-8000-000000000001", Email: "old@monolith.example",
		DisplayName: "Old", Role: domain.RoleUser, PasswordHash: legacy, CreatedAt: at, UpdatedAt: at}))

	_, err := svc.Login(ctx, app.LoginInput{Email: "old@monolith.example", Password: "correct horsE"})
	require.ErrorIs(t, err, domain.ErrInvalidCredentials)
	got, err := users.ByEmail(ctx, "old@monolith.example")
	require.NoError(t, err)
	require.Equal(t, legacy, got.PasswordHash, "a failed login changes nothing")

	_, err = svc.Login(ctx, app.LoginInput{Email: "old@monolith.example", Password: "correct horse"})
	require.NoError(t, err)
	got, err = users.ByEmail(ctx, "old@monolith.example")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(got.PasswordHash, "$argon2id$"), got.PasswordHash)
	var recorded strings.Builder
	for _, e := range outbox.Events() {
		recorded.Write(e.Payload)
	}
	require.NotContains(t, recorded.String(), "Z0yJsdbam1NKiZHSGuMcIw", "the audit record does not carry the hash")
	require.Contains(t, recorded.String(), `"action":"user.password_rehashed"`)
	require.Contains(t, recorded.String(), `"from":"pbkdf2-sha256"`)

	_, err = svc.Login(ctx, app.LoginInput{Email: "old@monolith.example", Password: "correct horse"})
	require.NoError(t, err, "the password still works")
	again, err := users.ByEmail(ctx, "old@monolith.example")
	require.NoError(t, err)
	require.Equal(t, got.PasswordHash, again.PasswordHash, "a current hash is not replaced again")
}

func TestSessionsExpire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, clk := setup(t)
	signUp(t, svc, "ada@example.com")
	ns, err := svc.Login(ctx, app.LoginInput{Email: "ada@example.com", Password: pw})
	require.NoError(t, err)
	clk.Add(time.Hour)
	_, err = svc.Authenticate(ctx, ns.Token)
	require.ErrorIs(t, err, domain.ErrUnauthenticated)
}

func TestAuthenticateRejectsGarbage(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	for _, tok := range []string{"", "lts_", "lts_nope", "ltk_x", "eyJhbGciOiJub25lIn0.e30."} {
		_, err := svc.Authenticate(context.Background(), tok)
		require.ErrorIs(t, err, domain.ErrUnauthenticated, tok)
	}
}

func TestLoginLocksOnlyTheFailingAddressOutOfTheAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, clk := setup(t)
	signUp(t, svc, "ada@example.com")
	pair := domain.DefaultLoginThrottle.Pair
	var err error
	for i := range pair.Free - 1 {
		_, err = svc.Login(ctx, app.LoginInput{Email: "ada@example.com", Password: fmt.Sprintf("wrong %d", i), IP: "10.0.0.2"})
		require.ErrorIs(t, err, domain.ErrInvalidCredentials)
	}
	_, err = svc.Login(ctx, app.LoginInput{Email: "ada@example.com", Password: "wrong again", IP: "10.0.0.2"})
	require.True(t, fault.Of(err, fault.RateLimited), "the fifth failure locks the pair: %v", err)
	require.Equal(t, int(pair.Base.Seconds()), retryAfter(err))

	// Locked: even the right password is refused from that address, with
	// the same error...
	_, err = svc.Login(ctx, app.LoginInput{Email: "ada@example.com", Password: pw, IP: "10.0.0.2"})
	require.True(t, fault.Of(err, fault.RateLimited))
	// ...but not from another.
	_, err = svc.Login(ctx, app.LoginInput{Email: "ada@example.com", Password: pw, IP: "10.0.0.3"})
	require.NoError(t, err)

	clk.Add(pair.Base)
	_, err = svc.Login(ctx, app.LoginInput{Email: "ada@example.com", Password: pw, IP: "10.0.0.2"})
	require.NoError(t, err, "the lock ends")
}

func retryAfter(err error) int {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.RetryAfterSeconds
	}
	return -1
}

func TestLoginSlowsDownAnAddressWithAGrowingBoundedWait(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, clk := setup(t)
	signUp(t, svc, "victim@example.com")
	addr := domain.DefaultLoginThrottle.Address
	// One address spraying many accounts is slowed down...
	var waits []int
	for i := range 30 {
		_, err := svc.Login(ctx, app.LoginInput{Email: fmt.Sprintf("u%d@example.com", i), Password: "x", IP: "192.0.2.9"})
		if fault.Of(err, fault.RateLimited) {
			waits = append(waits, retryAfter(err))
			clk.Add(time.Duration(retryAfter(err)) * time.Second) // it waits as told, then fails again
		}
	}
	require.Equal(t, 1, waits[0], "the first wait is short")
	for i := 1; i < len(waits); i++ {
		require.GreaterOrEqual(t, waits[i], waits[i-1], "waits grow")
	}
	require.Equal(t, int(addr.Max.Seconds()), waits[len(waits)-1], "and stop growing at the bound")
	_, err := svc.Login(ctx, app.LoginInput{Email: "another@example.com", Password: "x", IP: "192.0.2.9"})
	require.Equal(t, int(addr.Max.Seconds()), retryAfter(err), "after the wait, one more attempt is heard, and fails into the next wait")
	_, err = svc.Login(ctx, app.LoginInput{Email: "victim@example.com", Password: pw, IP: "192.0.2.9"})
	require.True(t, fault.Of(err, fault.RateLimited), "the slowed address waits even with a right password")
	// ...and nobody else is.
	_, err = svc.Login(ctx, app.LoginInput{Email: "victim@example.com", Password: pw, IP: "192.0.2.10"})
	require.NoError(t, err, "other addresses are unaffected")
}

func TestAccountUnderAttackDelaysButNeverRefusesACleanAddress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var slept []time.Duration
	var mu sync.Mutex
	svc, _, _ := setupWithOptions(t, app.Options{Issuer: issuer, Sleep: func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		slept = append(slept, d)
		return nil
	}})
	signUp(t, svc, "victim@example.com")
	// Three attackers, each below its own pair lock, fail 12 times on the
	// victim's account.
	for i := range 12 {
		_, err := svc.Login(ctx, app.LoginInput{Email: "victim@example.com", Password: "guess", IP: fmt.Sprintf("198.51.100.%d", i%3+1)})
		require.Error(t, err)
	}
	_, err := svc.Login(ctx, app.LoginInput{Email: "victim@example.com", Password: "guess", IP: "198.51.100.1"})
	require.True(t, fault.Of(err, fault.RateLimited), "a failing address is slowed down on the account: %v", err)

	_, err = svc.Login(ctx, app.LoginInput{Email: "victim@example.com", Password: pw, IP: "203.0.113.7"})
	require.NoError(t, err, "the owner, from an address that has not failed, gets in")
	require.Equal(t, []time.Duration{domain.DefaultLoginThrottle.CleanDelay}, slept, "after a bounded delay")
}

func TestUnknownEmailFailsLikeWrongPassword(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	_, err := svc.Login(context.Background(), app.LoginInput{Email: "ghost@example.com", Password: pw})
	require.ErrorIs(t, err, domain.ErrInvalidCredentials)
}

func TestRevokeOnlyOwnSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := setup(t)
	signUp(t, svc, "a@example.com")
	signUp(t, svc, "b@example.com")
	a, err := svc.Login(ctx, app.LoginInput{Email: "a@example.com", Password: pw})
	require.NoError(t, err)
	b, err := svc.Login(ctx, app.LoginInput{Email: "b@example.com", Password: pw})
	require.NoError(t, err)
	pb, err := svc.Authenticate(ctx, b.Token)
	require.NoError(t, err)
	require.ErrorIs(t, svc.RevokeSession(ctx, pb, a.Session.ID), domain.ErrSessionNotFound)
	_, err = svc.Authenticate(ctx, a.Token)
	require.NoError(t, err, "a's session survives b's attempt")
}

func TestListUsersPagesForAdminsOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := setup(t)
	admin, err := svc.CreateAdmin(ctx, app.SignUpInput{Email: "root@example.com", Password: pw, DisplayName: "Root"})
	require.NoError(t, err)
	for i := range 4 {
		signUp(t, svc, fmt.Sprintf("u%d@example.com", i))
	}
	pa := domain.Principal{UserID: admin.ID, Role: admin.Role, Scopes: domain.RoleScopes(admin.Role)}
	var seen []string
	cursor := ""
	for {
		page, err := svc.ListUsers(ctx, pa, cursor, 2)
		require.NoError(t, err)
		for _, u := range page.Users {
			seen = append(seen, u.Email)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	require.Len(t, seen, 5)

	_, err = svc.ListUsers(ctx, domain.Principal{Scopes: domain.RoleScopes(domain.RoleUser)}, "", 2)
	require.True(t, fault.Of(err, fault.Forbidden))
	_, err = svc.ListUsers(ctx, pa, "not-a-cursor!", 2)
	require.True(t, fault.Of(err, fault.Invalid))
}

// TestSecurityActionsAreAudited walks through the auth service's
// security-relevant actions and checks each left one audit event, with
// its actor and target, in the outbox (in order, nothing extra).
func TestSecurityActionsAreAudited(t *testing.T) {
	ctx := context.Background()
	svc, _, outbox := setupWithOutbox(t)
	u := signUp(t, svc, "audit@example.com")
	admin, err := svc.CreateAdmin(ctx, app.SignUpInput{Email: "root@example.com", Password: pw, DisplayName: "Root"})
	require.NoError(t, err)
	pa := domain.Principal{UserID: admin.ID, Role: admin.Role, Scopes: domain.RoleScopes(admin.Role)}

	sess, err := svc.Login(ctx, app.LoginInput{Email: u.Email, Password: pw, IP: "10.0.0.1"})
	require.NoError(t, err)
	pu := domain.Principal{UserID: u.ID, Role: u.Role, Scopes: domain.RoleScopes(u.Role), SessionID: sess.Session.ID}
	for range domain.DefaultLoginThrottle.Pair.Free {
		_, err = svc.Login(ctx, app.LoginInput{Email: u.Email, Password: "wrong password!", IP: "10.0.0.2"})
		require.Error(t, err)
	}
	_, err = svc.Login(ctx, app.LoginInput{Email: u.Email, Password: "wrong password!", IP: "10.0.0.2"})
	require.Error(t, err, "locked: refused without another record")
	key, err := svc.CreateAPIKey(ctx, pu, app.APIKeyInput{Name: "ci", Scopes: []domain.Scope{"resources:read"}})
	require.NoError(t, err)
	require.NoError(t, svc.RevokeAPIKey(ctx, pu, key.Key.ID))
	c, err := svc.CreateClient(ctx, pa, app.ClientInput{Name: "svc", Type: domain.ClientConfidential,
		GrantTypes: []string{domain.GrantClientCredentials}, Scopes: []domain.Scope{"resources:read"}})
	require.NoError(t, err)
	require.NoError(t, svc.DeleteClient(ctx, pa, c.Client.ID))
	_, err = svc.RotateKeysAsAdmin(ctx, pa)
	require.NoError(t, err)
	require.NoError(t, svc.Logout(ctx, pu))

	type rec struct{ actor, action, target string }
	want := []rec{
		{u.ID, "user.signed_up", "user/" + u.ID},
		{"operator", "user.created", "user/" + admin.ID},
		{u.ID, "login.succeeded", "session/" + sess.Session.ID},
	}
	for range domain.DefaultLoginThrottle.Pair.Free {
		want = append(want, rec{"anonymous", "login.failed", "user/" + u.ID})
	}
	want = append(want,
		rec{"system", "login.locked_out", "user/" + u.ID},
		rec{u.ID, "api_key.created", "api-key/" + key.Key.ID},
		rec{u.ID, "api_key.revoked", "api-key/" + key.Key.ID},
		rec{admin.ID, "client.created", "client/" + c.Client.ID},
		rec{admin.ID, "client.deleted", "client/" + c.Client.ID},
		rec{admin.ID, "signing_key.rotated", ""},
		rec{u.ID, "session.revoked", "session/" + sess.Session.ID},
	)
	var got []rec
	for _, e := range outbox.Events() {
		require.Equal(t, app.AuditSubject, e.Subject)
		env, err := events.Decode(e.Payload)
		require.NoError(t, err)
		require.Equal(t, e.ID, env.ID)
		require.Equal(t, app.Source, env.Source)
		var r schema.AuditRecord
		require.NoError(t, json.Unmarshal(env.Data, &r))
		if r.Action == "signing_key.rotated" {
			require.True(t, strings.HasPrefix(r.Target, "signing-key/"), r.Target)
			r.Target = ""
		}
		// Signing keys are also created lazily by the system when a token is
		// first signed; only the admin's rotation is expected here.
		if r.Actor == "system" && r.Action == "signing_key.rotated" {
			continue
		}
		got = append(got, rec{r.Actor, r.Action, r.Target})
	}
	require.Equal(t, want, got)
}

package e2e_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/pkg/testinfra/speccheck"
	sdk "github.com/lattice-platform/lattice/sdk"
	analyticsapi "github.com/lattice-platform/lattice/sdk/api/analytics"
	authapi "github.com/lattice-platform/lattice/sdk/api/auth"
	jobsapi "github.com/lattice-platform/lattice/sdk/api/jobs"
	resourcesapi "github.com/lattice-platform/lattice/sdk/api/resources"
	searchapi "github.com/lattice-platform/lattice/sdk/api/search"
)

// sdkFor returns an SDK client of base that signs up email and
// authenticates with a fresh API key holding scopes, made through the SDK.
func sdkFor(t *testing.T, base, email string, scopes ...string) (*sdk.Client, string) {
	t.Helper()
	ctx := context.Background()
	anon, err := sdk.New(base)
	require.NoError(t, err)
	const password = "a long enough password"
	_, err = anon.Auth.API.SignUpWithResponse(ctx, authapi.SignUpRequest{Email: openapi_types.Email(email), Password: password, DisplayName: "SDK"})
	require.NoError(t, err)
	return sdkLogin(t, base, email, password, scopes...)
}

func sdkLogin(t *testing.T, base, email, password string, scopes ...string) (*sdk.Client, string) {
	t.Helper()
	ctx := context.Background()
	anon, err := sdk.New(base)
	require.NoError(t, err)
	session, err := anon.Auth.API.CreateSessionWithResponse(ctx, authapi.LoginRequest{Email: email, Password: password})
	require.NoError(t, err)
	user, err := sdk.New(base, sdk.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: session.JSON201.Token})))
	require.NoError(t, err)
	key, err := user.Auth.CreateAPIKey(ctx, "sdk", scopes...)
	require.NoError(t, err)
	c, err := sdk.New(base, sdk.WithAPIKey(key.Secret), validated(t))
	require.NoError(t, err)
	return c, key.Secret
}

// validated sends an SDK client's requests through the spec-validating
// transport: what the SDK sends and what it gets are checked against the
// public contract (and recorded for the contract-coverage gate).
func validated(t *testing.T) sdk.Option {
	t.Helper()
	bundle, err := publicContract()
	require.NoError(t, err)
	return sdk.WithHTTPClient(speccheck.Client(t, bundle))
}

// TestSDKJourney drives every service's main operations through the Go
// SDK against the real platform: resources with ETags, conflicts and
// pages; files streamed up and down, whole and by range; search, jobs,
// usage, the audit trail and the gateway's composite; client credentials
// by discovery; retries under injected 429s and lost answers, with a
// retried create made once; and the SDK's own examples.
func TestSDKJourney(t *testing.T) {
	env := testinfra.PlatformEnv(t)
	_, base := testinfra.ServeAll(t, env)
	ctx := context.Background()
	c, apiKey := sdkFor(t, base, "sdk@example.com", "resources:read", "resources:write", "search:read", "jobs:read", "analytics:read", "users:read")

	me, err := c.Auth.Me(ctx)
	require.NoError(t, err)
	require.Equal(t, "sdk@example.com", string(me.Email))

	// Resources: create, read, update under If-Match, a stale update
	// refused with a typed conflict, Modify, delete.
	body := "Observations of the pangolin at dusk."
	r, etag, err := c.Resources.Create(ctx, resourcesapi.ResourceInput{Title: "Field notes", Body: &body})
	require.NoError(t, err)
	require.Equal(t, sdk.ETag(`"1"`), etag)
	got, etag, err := c.Resources.Get(ctx, r.Id)
	require.NoError(t, err)
	require.Equal(t, body, got.Body)
	title := "Field notes, revised"
	updated, etag2, err := c.Resources.Update(ctx, r.Id, etag, resourcesapi.ResourcePatch{Title: &title})
	require.NoError(t, err)
	require.Equal(t, title, updated.Title)
	require.Equal(t, sdk.ETag(`"2"`), etag2)
	_, _, err = c.Resources.Update(ctx, r.Id, etag, resourcesapi.ResourcePatch{Title: &title})
	var conflict *sdk.ConflictError
	require.ErrorAs(t, err, &conflict)
	require.Equal(t, etag, conflict.Sent)
	require.True(t, sdk.IsConflict(err))
	modified, _, err := c.Resources.Modify(ctx, r.Id, func(r *resourcesapi.Resource) (resourcesapi.ResourcePatch, error) {
		tags := append(r.Tags, "nature")
		return resourcesapi.ResourcePatch{Tags: &tags}, nil
	})
	require.NoError(t, err)
	require.Equal(t, []string{"nature"}, modified.Tags)
	require.EqualValues(t, 3, modified.Version)

	// Pagination across pages: 7 resources under one tag, pages of 3.
	tag := "page-" + uuid.NewString()[:8]
	made := map[uuid.UUID]bool{}
	for i := range 7 {
		p, _, err := c.Resources.Create(ctx, resourcesapi.ResourceInput{Title: "Page item " + string(rune('a'+i)), Tags: &[]string{tag}})
		require.NoError(t, err)
		made[p.Id] = true
	}
	limit := 3
	seen := map[uuid.UUID]bool{}
	for p, err := range c.Resources.All(ctx, &resourcesapi.ListResourcesParams{Tag: &tag, Limit: &limit}) {
		require.NoError(t, err)
		require.False(t, seen[p.Id], "resource %s listed twice", p.Id)
		seen[p.Id] = true
	}
	require.Equal(t, made, seen)

	// Files: a streamed upload from disk, downloaded whole and by range.
	content := bytes.Repeat([]byte("The quokka smiles on Rottnest Island. "), 3000) // 114 KB
	path := filepath.Join(t.TempDir(), "quokka.txt")
	require.NoError(t, os.WriteFile(path, content, 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	file, err := c.Resources.Upload(ctx, r.Id, "quokka.txt", f)
	f.Close()
	require.NoError(t, err)
	sum := sha256.Sum256(content)
	require.Equal(t, hex.EncodeToString(sum[:]), file.Sha256)
	require.EqualValues(t, len(content), file.Size)
	whole, err := c.Resources.Download(ctx, r.Id, file.Id)
	require.NoError(t, err)
	back, err := io.ReadAll(whole)
	whole.Close()
	require.NoError(t, err)
	require.Equal(t, content, back)
	part, err := c.Resources.DownloadRange(ctx, r.Id, file.Id, 4, 6)
	require.NoError(t, err)
	back, err = io.ReadAll(part)
	part.Close()
	require.NoError(t, err)
	require.Equal(t, "quokka", string(back))
	require.EqualValues(t, len(content), part.Total)

	// Search finds the file's words once processing has indexed them, and
	// the processing jobs are visible.
	mode := searchapi.Hybrid
	testinfra.Within(t, 30*time.Second, "the upload is searchable through the SDK", func() bool {
		res, err := c.Search.Query(ctx, searchapi.SearchRequest{Query: "quokka Rottnest", Mode: &mode})
		require.NoError(t, err)
		for _, h := range res.Hits {
			if h.FileId != nil && *h.FileId == file.Id {
				return true
			}
		}
		return false
	})
	hits := 0
	for h, err := range c.Search.All(ctx, searchapi.SearchRequest{Query: "Page item", Mode: &mode}) {
		require.NoError(t, err)
		if made[h.ResourceId] {
			hits++
		}
	}
	require.Positive(t, hits)
	var extract *jobsapi.Job
	testinfra.Within(t, 30*time.Second, "the file's extraction job succeeds", func() bool {
		kind := jobsapi.JobKindExtractFile
		for j, err := range c.Jobs.All(ctx, &jobsapi.ListJobsParams{ResourceId: &r.Id, Kind: &kind}) {
			require.NoError(t, err)
			if j.State == jobsapi.Succeeded {
				extract = &j
				return true
			}
		}
		return false
	})
	j, err := c.Jobs.Get(ctx, extract.Id)
	require.NoError(t, err)
	require.Equal(t, r.Id, j.ResourceId)

	// The gateway's composite, and usage as analytics records it.
	overview, err := c.Gateway.Overview(ctx, r.Id)
	require.NoError(t, err)
	require.Equal(t, r.Id.String(), overview.Resource["id"])
	testinfra.Within(t, 30*time.Second, "the calls show in the usage series", func() bool {
		series, err := c.Analytics.Usage(ctx, &analyticsapi.GetUsageParams{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Minute)})
		require.NoError(t, err)
		var requests int64
		for _, p := range series.Points {
			requests += p.Requests
		}
		return requests > 10
	})

	// Deleting, then reading: a 404 the helpers recognise.
	require.NoError(t, c.Resources.Delete(ctx, r.Id, "*"))
	_, _, err = c.Resources.Get(ctx, r.Id)
	require.True(t, sdk.IsNotFound(err), "%v", err)
	var p *sdk.Problem
	require.ErrorAs(t, err, &p)
	require.NotEmpty(t, p.RequestID)

	// The audit trail, as an administrator, page by page; the chain holds.
	lattice(t, env, "an admin password\n", "user", "create-admin", "--email", "ops@example.com", "--name", "Ops")
	admin, _ := sdkLogin(t, base, "ops@example.com", "an admin password", "audit:read")
	testinfra.Within(t, 30*time.Second, "the audit trail has the sign-ups and keys", func() bool {
		n := 0
		small := 2
		for _, err := range admin.Audit.All(ctx, &analyticsapi.ListAuditEventsParams{Limit: &small}) {
			require.NoError(t, err)
			n++
		}
		return n >= 4
	})
	verified, err := admin.Audit.Verify(ctx, analyticsapi.VerifyRequest{})
	require.NoError(t, err)
	require.Nil(t, verified.Broken)
	require.Positive(t, verified.Entries)

	// A service's client credentials, found by discovery.
	clientID, clientSecret := serviceClient(t, env, "sdk-svc", "search:read")
	svc, err := sdk.New(base, sdk.WithClientCredentials(clientID, clientSecret, "search:read"), validated(t))
	require.NoError(t, err)
	res, err := svc.Search.Query(ctx, searchapi.SearchRequest{Query: "anything"})
	require.NoError(t, err)
	require.NotNil(t, res.Hits)

	t.Run("retries under injected 429s and lost answers", func(t *testing.T) {
		target, err := url.Parse(base)
		require.NoError(t, err)
		forward := httputil.NewSingleHostReverseProxy(target)
		var calls, injected atomic.Int32
		// Every other request is refused with 429 before it reaches the
		// platform; a create's first answer is lost after the platform
		// made the resource (503 instead), so only its Idempotency-Key
		// keeps the retry from making a second one.
		faulty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := calls.Add(1)
			if r.Method == http.MethodPost && r.URL.Path == "/v1/resources" && r.Header.Get("X-Seen") == "" {
				rec := httptest.NewRecorder()
				forward.ServeHTTP(rec, r)
				if rec.Code != http.StatusCreated {
					t.Errorf("the create's first sending answered %d: %s", rec.Code, rec.Body)
				}
				injected.Add(1)
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			if n%2 == 1 {
				injected.Add(1)
				w.Header().Set("Retry-After", "0")
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = io.WriteString(w, `{"type":"https://lattice.dev/problems/rate-limited","title":"Too Many Requests","status":429}`)
				return
			}
			forward.ServeHTTP(w, r)
		}))
		defer faulty.Close()
		// The transport marks a request's second sending, so that only
		// the first answer of a create is lost.
		seen := map[string]bool{}
		hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if k := r.Header.Get("Idempotency-Key"); k != "" {
				if seen[k] {
					r.Header.Set("X-Seen", "1")
				}
				seen[k] = true
			}
			return http.DefaultTransport.RoundTrip(r)
		})}
		flaky, err := sdk.New(faulty.URL, sdk.WithAPIKey(apiKey), sdk.WithHTTPClient(hc))
		require.NoError(t, err)
		retryTag := "retry-" + uuid.NewString()[:8]
		for range 5 {
			_, _, err := flaky.Resources.Get(ctx, modified.Id) // deleted: 404 through the faults
			require.True(t, sdk.IsNotFound(err), "%v", err)
		}
		created, _, err := flaky.Resources.Create(ctx, resourcesapi.ResourceInput{Title: "Once", Tags: &[]string{retryTag}})
		require.NoError(t, err)
		n := 0
		for r, err := range flaky.Resources.All(ctx, &resourcesapi.ListResourcesParams{Tag: &retryTag}) {
			require.NoError(t, err)
			require.Equal(t, created.Id, r.Id)
			n++
		}
		require.Equal(t, 1, n, "the retried create made exactly one resource")
		require.GreaterOrEqual(t, injected.Load(), int32(4))
	})

	t.Run("the SDK's examples", func(t *testing.T) {
		id, secret := serviceClient(t, env, "sdk-examples", "search:read")
		cmd := exec.Command("go", "test", "-count=1", "-run", "^Example", "-v", ".")
		cmd.Dir = "../../sdk"
		cmd.Env = append(os.Environ(), "LATTICE_URL="+base, "LATTICE_API_KEY="+apiKey, "LATTICE_CLIENT_ID="+id, "LATTICE_CLIENT_SECRET="+secret)
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", b)
		for _, name := range []string{"Example", "ExampleResourcesClient_All", "ExampleConflictError", "ExampleResourcesClient_Upload",
			"ExampleSearchClient_Query", "ExampleJobsClient_All", "ExampleIsNotFound", "ExampleWithClientCredentials"} {
			require.Contains(t, string(b), "--- PASS: "+name+" ", "%s", b)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

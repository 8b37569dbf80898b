package lattice_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	lattice "github.com/lattice-platform/lattice/sdk"
	"github.com/lattice-platform/lattice/sdk/api/jobs"
	"github.com/lattice-platform/lattice/sdk/api/resources"
)

var rid = uuid.MustParse("0193a1f0-0000-7000-8000-000000000001")

func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func client(t *testing.T, url string, opts ...lattice.Option) *lattice.Client {
	t.Helper()
	c, err := lattice.New(url, append([]lattice.Option{lattice.WithAPIKey("ltk_test")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func resourceJSON(w http.ResponseWriter, status int, version int) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", `"`+string(rune('0'+version))+`"`)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"id": rid, "title": "T", "body": "", "content_type": "text/plain",
		"owner_id": "u1", "tags": []string{}, "metadata": map[string]string{}, "visibility": "private",
		"version": version, "created_at": time.Now(), "updated_at": time.Now()})
}

func problem(w http.ResponseWriter, status int, typ, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Request-Id", "req-1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "https://lattice.dev/problems/" + typ, "title": http.StatusText(status), "status": status, "detail": detail})
}

func TestAnErrorAnswerIsAProblem(t *testing.T) {
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		problem(w, 404, "not-found", "no such resource")
	})
	_, _, err := client(t, url).Resources.Get(context.Background(), rid)
	p, ok := errors.AsType[*lattice.Problem](err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *Problem", err, err)
	}
	if p.Status != 404 || p.Type != "https://lattice.dev/problems/not-found" || p.Detail != "no such resource" || p.RequestID != "req-1" {
		t.Fatalf("problem = %+v", p)
	}
	if !lattice.IsNotFound(err) || lattice.IsConflict(err) || lattice.IsRateLimited(err) {
		t.Fatalf("helpers disagree with status 404: %v", err)
	}
	if !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "req-1") {
		t.Fatalf("message %q names neither status nor request", err)
	}
}

// Any answer outside 2xx is an error, not a response to decode: here a
// 300 the HTTP client does not follow, without a body.
func TestEveryAnswerOutside2xxIsAProblem(t *testing.T) {
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req-300")
		w.WriteHeader(http.StatusMultipleChoices)
	})
	_, _, err := client(t, url).Resources.Get(context.Background(), rid)
	p, ok := errors.AsType[*lattice.Problem](err)
	if !ok || p.Status != 300 || p.Title != "Multiple Choices" || p.Type != "about:blank" || p.RequestID != "req-300" {
		t.Fatalf("err = %v", err)
	}
}

func TestAnOAuthErrorObjectIsAProblemToo(t *testing.T) {
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = io.WriteString(w, `{"error":"invalid_request","error_description":"token is required"}`)
	})
	_, err := client(t, url).Auth.API.IntrospectWithBodyWithResponse(context.Background(), "application/x-www-form-urlencoded", strings.NewReader("x=1"))
	p, ok := errors.AsType[*lattice.Problem](err)
	if !ok || p.Status != 400 || p.Title != "invalid_request" || p.Detail != "token is required" {
		t.Fatalf("err = %v", err)
	}
}

// An error body larger than the bound is not read past it: the Problem
// keeps the status but not the (truncated, so unparsable) document.
func TestAnOversizedErrorBodyIsNotReadWhole(t *testing.T) {
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		problem(w, 400, "invalid", strings.Repeat("x", 70<<10))
	})
	_, _, err := client(t, url).Resources.Get(context.Background(), rid)
	p, ok := errors.AsType[*lattice.Problem](err)
	if !ok || p.Status != 400 || p.Detail != "" || p.Title != "Bad Request" {
		t.Fatalf("err = %v", err)
	}
}

func TestA429WithRetryAfterIsRetried(t *testing.T) {
	var calls atomic.Int32
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.Header().Set("Retry-After", "0")
			problem(w, 429, "rate-limited", "slow down")
			return
		}
		resourceJSON(w, 200, 1)
	})
	r, etag, err := client(t, url).Resources.Get(context.Background(), rid)
	if err != nil || r.Id != rid || etag != `"1"` {
		t.Fatalf("Get = %v, %q, %v", r, etag, err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d calls, want 3", calls.Load())
	}
}

func TestRetriesAreBounded(t *testing.T) {
	var calls atomic.Int32
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "0")
		problem(w, 503, "unavailable", "down")
	})
	_, _, err := client(t, url, lattice.WithRetries(2, time.Second)).Resources.Get(context.Background(), rid)
	if lattice.StatusOf(err) != 503 || calls.Load() != 3 {
		t.Fatalf("err %v after %d calls, want 503 after 3", err, calls.Load())
	}
}

func TestARetryAfterLongerThanTheMaximumIsReturned(t *testing.T) {
	var calls atomic.Int32
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "120")
		problem(w, 429, "rate-limited", "slow down")
	})
	_, _, err := client(t, url).Resources.Get(context.Background(), rid)
	p, ok := errors.AsType[*lattice.Problem](err)
	if !ok || !lattice.IsRateLimited(err) || p.RetryAfter != 120*time.Second || calls.Load() != 1 {
		t.Fatalf("err %v after %d calls", err, calls.Load())
	}
}

func TestTheContextEndsARetryWait(t *testing.T) {
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "20")
		problem(w, 429, "rate-limited", "slow down")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := client(t, url).Resources.Get(ctx, rid)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
}

// A create is retried with the same Idempotency-Key and body, so the
// server can answer the retry with the first creation.
func TestACreateIsRetriedUnderOneIdempotencyKey(t *testing.T) {
	var mu sync.Mutex
	var keys, bodies []string
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		mu.Lock()
		keys, bodies = append(keys, r.Header.Get("Idempotency-Key")), append(bodies, string(raw))
		n := len(keys)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "0")
			problem(w, 503, "unavailable", "shedding")
			return
		}
		resourceJSON(w, 201, 1)
	})
	c := client(t, url)
	if _, _, err := c.Resources.Create(context.Background(), resources.ResourceInput{Title: "T"}); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0] == "" || keys[0] != keys[1] || bodies[0] != bodies[1] || !strings.Contains(bodies[0], `"title":"T"`) {
		t.Fatalf("keys %q, bodies %q", keys, bodies)
	}
	// Each create has a key of its own; a caller's key is kept.
	if _, _, err := c.Resources.Create(lattice.WithIdempotencyKey(context.Background(), "mine"), resources.ResourceInput{Title: "T"}); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 || keys[2] != "mine" {
		t.Fatalf("keys %q", keys)
	}
}

// A create the service does not yet deduplicate by Idempotency-Key
// carries one, but is sent once: its retry could act twice.
func TestAJobIsNotRetried(t *testing.T) {
	var calls atomic.Int32
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Idempotency-Key") == "" {
			t.Errorf("a create goes without an Idempotency-Key")
		}
		w.Header().Set("Retry-After", "0")
		problem(w, 503, "unavailable", "shedding")
	})
	_, err := client(t, url).Jobs.Enqueue(context.Background(), jobs.JobRequest{Kind: "reindex", ResourceId: rid})
	if lattice.StatusOf(err) != 503 || calls.Load() != 1 {
		t.Fatalf("err %v after %d calls", err, calls.Load())
	}
}

func TestALostConnectionIsRetried(t *testing.T) {
	var calls atomic.Int32
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close() // no answer at all
			}
			return
		}
		resourceJSON(w, 200, 2)
	})
	_, etag, err := client(t, url).Resources.Get(context.Background(), rid)
	if err != nil || etag != `"2"` || calls.Load() != 2 {
		t.Fatalf("etag %q, err %v after %d calls", etag, err, calls.Load())
	}
}

func TestAllPagesThroughTheCursors(t *testing.T) {
	var calls atomic.Int32
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		items := map[string][]string{"": {"a", "b"}, "p2": {"c", "d"}, "p3": {"e"}}[r.URL.Query().Get("cursor")]
		next := map[string]string{"": "p2", "p2": "p3"}[r.URL.Query().Get("cursor")]
		page := map[string]any{"items": []map[string]any{}}
		for _, title := range items {
			page["items"] = append(page["items"].([]map[string]any), map[string]any{"id": uuid.New(), "title": title, "version": 1,
				"body": "", "content_type": "text/plain", "owner_id": "u", "tags": []string{}, "metadata": map[string]string{},
				"visibility": "public", "created_at": time.Now(), "updated_at": time.Now()})
		}
		if next != "" {
			page["next_cursor"] = next
		}
		if r.URL.Query().Get("tag") != "x" {
			t.Errorf("the filter was lost on %s", r.URL)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(page)
	})
	c := client(t, url)
	tag := "x"
	var titles []string
	for r, err := range c.Resources.All(context.Background(), &resources.ListResourcesParams{Tag: &tag}) {
		if err != nil {
			t.Fatal(err)
		}
		titles = append(titles, r.Title)
	}
	if strings.Join(titles, "") != "abcde" || calls.Load() != 3 {
		t.Fatalf("titles %q in %d calls", titles, calls.Load())
	}
	// Breaking out stops the walk: no page is fetched past it.
	calls.Store(0)
	for _, err := range c.Resources.All(context.Background(), &resources.ListResourcesParams{Tag: &tag}) {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	if calls.Load() != 1 {
		t.Fatalf("%d pages fetched for one item", calls.Load())
	}
}

func TestAnErrorEndsTheWalk(t *testing.T) {
	url := serve(t, func(w http.ResponseWriter, r *http.Request) { problem(w, 403, "forbidden", "missing scope") })
	n := 0
	for _, err := range client(t, url).Jobs.All(context.Background(), nil) {
		n++
		if !lattice.IsForbidden(err) {
			t.Fatalf("err = %v", err)
		}
	}
	if n != 1 {
		t.Fatalf("%d yields, want the error once", n)
	}
}

func TestAStaleETagIsATypedConflict(t *testing.T) {
	var version atomic.Int32
	version.Store(2)
	var patches atomic.Int32
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			resourceJSON(w, 200, int(version.Load()))
		case http.MethodPatch:
			patches.Add(1)
			if r.Header.Get("If-Match") != `"`+string(rune('0'+version.Load()))+`"` {
				problem(w, 412, "precondition-failed", "the resource has changed")
				return
			}
			version.Add(1)
			resourceJSON(w, 200, int(version.Load()))
		}
	})
	c := client(t, url)
	title := "new"
	_, _, err := c.Resources.Update(context.Background(), rid, `"1"`, resources.ResourcePatch{Title: &title})
	ce, ok := errors.AsType[*lattice.ConflictError](err)
	if !ok || ce.Sent != `"1"` || ce.ID != rid || !lattice.IsConflict(err) || lattice.StatusOf(err) != 412 {
		t.Fatalf("err = %v (%T)", err, err)
	}

	// Modify reads again and decides again when another writer got there
	// between its read and its write.
	seen := 0
	r, etag, err := c.Resources.Modify(context.Background(), rid, func(r *resources.Resource) (resources.ResourcePatch, error) {
		seen++
		if seen == 1 {
			version.Add(1) // someone else writes first
		}
		return resources.ResourcePatch{Title: &title}, nil
	})
	if err != nil || seen != 2 || etag != `"4"` || r.Version != 4 {
		t.Fatalf("Modify: %v, etag %q, change ran %d times", err, etag, seen)
	}
}

// Modify gives up after a bounded number of rounds when every write finds
// the resource changed again.
func TestModifyGivesUpWhenTheResourceKeepsChanging(t *testing.T) {
	var patches atomic.Int32
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			patches.Add(1)
			problem(w, 412, "precondition-failed", "the resource has changed")
			return
		}
		resourceJSON(w, 200, 1)
	})
	title := "t"
	_, _, err := client(t, url).Resources.Modify(context.Background(), rid, func(*resources.Resource) (resources.ResourcePatch, error) {
		return resources.ResourcePatch{Title: &title}, nil
	})
	if _, ok := errors.AsType[*lattice.ConflictError](err); !ok || patches.Load() != 5 {
		t.Fatalf("err %v after %d writes, want a conflict after 5", err, patches.Load())
	}
}

func TestDownloadRangeStreamsThePartAsked(t *testing.T) {
	content := strings.Repeat("0123456789", 100)
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		http.ServeContent(w, r, "f.txt", time.Time{}, strings.NewReader(content))
	})
	d, err := client(t, url).Resources.DownloadRange(context.Background(), rid, rid, 995, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got, _ := io.ReadAll(d)
	if string(got) != "56789" || d.Offset != 995 || d.Total != 1000 {
		t.Fatalf("got %q at %d of %d", got, d.Offset, d.Total)
	}
}

func TestAnAPIKeyAndUserAgentAreSent(t *testing.T) {
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer ltk_test" || !strings.HasPrefix(r.Header.Get("User-Agent"), "reports/2 lattice-go/") {
			problem(w, 401, "unauthenticated", "who are you")
			return
		}
		resourceJSON(w, 200, 1)
	})
	if _, _, err := client(t, url, lattice.WithUserAgent("reports/2")).Resources.Get(context.Background(), rid); err != nil {
		t.Fatal(err)
	}
}

func TestNewRefusesWhatCannotWork(t *testing.T) {
	for name, c := range map[string]struct {
		url  string
		opts []lattice.Option
	}{
		"relative URL":       {"/v1", nil},
		"no scheme":          {"127.0.0.1:8080", nil},
		"credentials in URL": {"http://u:p@127.0.0.1:8080", nil},
		"two credentials":    {"http://127.0.0.1:8080", []lattice.Option{lattice.WithAPIKey("k"), lattice.WithClientCredentials("id", "s")}},
		"empty key":          {"http://127.0.0.1:8080", []lattice.Option{lattice.WithAPIKey("")}},
		"negative retries":   {"http://127.0.0.1:8080", []lattice.Option{lattice.WithRetries(-1, 0)}},
		"client without id":  {"http://127.0.0.1:8080", []lattice.Option{lattice.WithClientCredentials("", "s")}},
		"nil http client":    {"http://127.0.0.1:8080", []lattice.Option{lattice.WithHTTPClient(nil)}},
		"nil token source":   {"http://127.0.0.1:8080", []lattice.Option{lattice.WithTokenSource(nil)}},
	} {
		if _, err := lattice.New(c.url, c.opts...); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "u:p") {
			t.Errorf("%s: the error shows the URL's credentials: %v", name, err)
		}
	}
}

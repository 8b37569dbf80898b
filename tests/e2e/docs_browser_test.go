package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// operation is what the API reference must show of one operation.
type operation struct {
	id, summary, tag string
}

// publicOperations reads the gateway's bundled spec, every service's
// operations in one document.
func publicOperations(t *testing.T, base string) []operation {
	t.Helper()
	resp, err := http.Get(base + "/openapi.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &spec))
	var ops []operation
	for _, item := range spec.Paths {
		for method, body := range item {
			if method == "parameters" || method == "summary" || method == "description" || method == "servers" {
				continue
			}
			var op struct {
				OperationID string   `json:"operationId"`
				Summary     string   `json:"summary"`
				Tags        []string `json:"tags"`
			}
			require.NoError(t, json.Unmarshal(body, &op))
			tag := "default"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			ops = append(ops, operation{id: op.OperationID, summary: op.Summary, tag: tag})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].id < ops[j].id })
	return ops
}

// TestAPIReferenceRendersInABrowser opens /docs through the gateway in
// Debian's Chromium, with no network but the gateway's: the reference
// lists every service's operations, shows an operation's request schema,
// and the console stays free of errors (scripts, CSP, failed requests).
func TestAPIReferenceRendersInABrowser(t *testing.T) {
	_, base := testinfra.ServeAll(t, testinfra.PlatformEnv(t))
	ops := publicOperations(t, base)
	require.Greater(t, len(ops), 40, "the bundle holds every service's operations")

	ctx := browserContext(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")))
	listening, stop := context.WithCancel(ctx)
	messages := chromedp.Console(listening)
	var mu sync.Mutex
	var problems []string
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" {
				mu.Lock()
				problems = append(problems, m.String())
				mu.Unlock()
			}
		}
	}()

	report := func() string { // what went wrong in the page, for a failure message
		stop()
		<-drained
		mu.Lock()
		defer mu.Unlock()
		return "console errors:\n" + strings.Join(problems, "\n")
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/docs")))
	waiting, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	const create = `#operations-resources-createResource`
	if err := chromedp.Do(waiting, chromedp.WaitVisible(chromedp.CSS(create))); err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("the reference did not render: %v\n%s\npage text: %.500q", err, report(), text)
	}
	// Every operation of the bundle is on the page, under its tag, with
	// its id and summary as a reader sees them.
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	require.NoError(t, err)
	plain := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[id^="operations-"]')].map(e => e.id)`))
	require.NoError(t, err)
	for _, op := range ops {
		require.Contains(t, ids, "operations-"+op.tag+"-"+op.id, "operation %s is listed under %s", op.id, op.tag)
		require.Contains(t, text, op.id)
		require.Contains(t, plain(text), plain(op.summary), "the summary of %s is shown", op.id)
	}
	// Opening an operation shows its request body's schema, field by field.
	require.NoError(t, chromedp.Do(waiting,
		chromedp.Click(chromedp.CSS(create+` .opblock-summary-control`)),
		chromedp.WaitVisible(chromedp.CSS(create+` .opblock-section-request-body .model-box`))))
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+strconv.Quote(create+` .opblock-section-request-body`)+`).innerText`))
	require.NoError(t, err)
	require.Contains(t, body, "application/json")
	for _, field := range []string{"title", "body", "content_type", "metadata", "tags", "visibility"} {
		require.Contains(t, body, field, "the request schema shows %q", field)
	}

	require.Equal(t, "console errors:\n", report(), "the console has no error")
}

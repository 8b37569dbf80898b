package proxy_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/tokenbucket"
	"github.com/lattice-platform/lattice/pkg/platform/httpserver"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
)

const visible = "01a20000-0000-7000-8000-000000000001"

func TestOverviewComposesPartsAndToleratesFailures(t *testing.T) {
	t.Parallel()
	resource := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/resources/"+visible || r.Header.Get("Authorization") != "Bearer u:ada" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"type":"https://lattice.dev/problems/not-found","title":"Not Found","status":404}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"` + visible + `","title":"T"}`))
	}))
	defer resource.Close()
	processing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, visible, r.URL.Query().Get("resource_id"))
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer processing.Close()
	release := make(chan struct{})
	defer close(release)
	analytics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // slower than the composite's deadline
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer analytics.Close()

	svc, err := gatewaysvc.New(gatewaysvc.Config{Verifier: anyUser{}, Limiter: tokenbucket.New(),
		Upstreams: map[string]string{"resource": resource.URL, "processing": processing.URL, "analytics": analytics.URL}}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	gw := httptest.NewServer(httpserver.Handler(httpserver.Config{}, svc.HTTP))
	defer gw.Close()

	start := time.Now()
	body := callAs(t, gw.URL+"/v1/resources/"+visible+"/overview", "ada")
	require.Less(t, time.Since(start), 10*time.Second)
	var out struct {
		Resource   map[string]any      `json:"resource"`
		Processing map[string]any      `json:"processing"`
		Errors     []map[string]string `json:"errors"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &out))
	require.Equal(t, "T", out.Resource["title"])
	require.Nil(t, out.Processing)
	parts := map[string]string{}
	for _, e := range out.Errors {
		parts[e["part"]] = e["detail"]
	}
	require.Contains(t, parts["processing"], "Internal Server Error")
	require.Contains(t, parts["analytics"], "did not answer in time")

	// A resource the caller may not see: its 404 is the answer.
	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/v1/resources/"+visible+"/overview", nil)
	req.Header.Set("Authorization", "Bearer u:eve")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.True(t, strings.Contains(string(b), "not-found"))
}

// The composite's generated server checks its parameters: a malformed id
// is a problem+json 400, not a request passed on to the services.
func TestOverviewRefusesAMalformedID(t *testing.T) {
	t.Parallel()
	called := false
	resource := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	defer resource.Close()
	svc, err := gatewaysvc.New(gatewaysvc.Config{Verifier: anyUser{}, Limiter: tokenbucket.New(),
		Upstreams: map[string]string{"resource": resource.URL}}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	gw := httptest.NewServer(httpserver.Handler(httpserver.Config{}, svc.HTTP))
	defer gw.Close()
	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/v1/resources/not-a-uuid/overview", nil)
	req.Header.Set("Authorization", "Bearer u:ada")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	require.False(t, called)
}

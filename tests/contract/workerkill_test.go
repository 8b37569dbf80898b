package contract_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/hashembed"
	"github.com/lattice-platform/lattice/pkg/adapters/natsjs/jobstore"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/processing/app"
	"github.com/lattice-platform/lattice/services/processing/domain"
	"github.com/lattice-platform/lattice/services/resource/oapi"
	searchdomain "github.com/lattice-platform/lattice/services/search/domain"
)

// blockingEmbedder is an OpenAI-compatible /v1/embeddings server whose
// first request hangs until its client goes away; later ones answer with
// the built-in embedder's vectors.
type blockingEmbedder struct {
	calls   atomic.Int32
	arrived chan struct{}
}

func (b *blockingEmbedder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Input []string `json:"input"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if b.calls.Add(1) == 1 {
		b.arrived <- struct{}{}
		<-r.Context().Done() // the worker is killed while waiting here
		return
	}
	vecs, _ := hashembed.Embedder{}.Embed(r.Context(), req.Input)
	type item struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	resp := struct {
		Data []item `json:"data"`
	}{}
	for i, v := range vecs {
		resp.Data = append(resp.Data, item{Index: i, Embedding: v})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// TestAWorkerKilledMidJobLosesNothing runs processing as a real process,
// SIGKILLs it while a job is embedding, starts another, and checks the job
// finishes once in effect: one chunks.ready, the chunks indexed once.
func TestAWorkerKilledMidJobLosesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bin := testinfra.LatticeBinary(t)
	p := startPipeline(t, pipelineOption{noProcessing: true})
	client, err := p.auth.svc.App.RegisterClient(ctx, clientInput("processing-worker", "resources:admin"))
	require.NoError(t, err)
	emb := &blockingEmbedder{arrived: make(chan struct{}, 1)}
	embSrv := httptest.NewServer(emb)
	t.Cleanup(embSrv.Close)

	worker := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--target=processing")
		cmd.Env = append(os.Environ(), "NATS_URL="+p.natsURL, "AUTH_URL="+p.auth.url, "AUTH_ISSUER="+p.auth.url,
			"RESOURCE_URL="+p.url, "PROCESSING_ADDR=127.0.0.1:0", "PROCESSING_ADMIN_ADDR=127.0.0.1:0", "LATTICE_SERVICE_CLIENT_ID="+client.Client.ID,
			"LATTICE_SERVICE_CLIENT_SECRET="+client.Secret, "EMBEDDINGS_URL="+embSrv.URL, "EMBEDDINGS_MODEL=fake-embed",
			"EMBEDDINGS_DIMENSIONS=1024", "PROCESSING_ACK_WAIT=2s", "LATTICE_DATA_DIR="+t.TempDir(), "LOG_LEVEL=warn")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}

	first := worker()
	_, key := p.apiKeyFor(t, "kill@example.com", false)
	body := "Meerkats stand guard while the rest of the mob forages."
	in := newInput("Meerkats", oapi.Private)
	in.Body = &body
	created, err := p.client.CreateResourceWithResponse(ctx, nil, in, resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, created.StatusCode())
	rid := created.JSON201.Id.String()

	select {
	case <-emb.arrived:
	case <-time.After(60 * time.Second):
		t.Fatal("the worker never started embedding")
	}
	require.NoError(t, first.Process.Signal(syscall.SIGKILL))
	_, _ = first.Process.Wait()
	worker()

	jobs, err := jobstore.New(ctx, p.js, "jobs")
	require.NoError(t, err)
	var job domain.Job
	eventually(t, 60*time.Second, "the redelivered job succeeds", func() bool {
		list, err := jobs.List(ctx, app.JobFilter{ResourceID: rid}, "", 10)
		if err != nil || len(list) != 1 {
			return false
		}
		job = list[0]
		return job.State == domain.Succeeded
	})
	require.Equal(t, 2, job.Attempts, "the killed attempt and the one that finished")
	eventually(t, 30*time.Second, "the chunks are indexed", func() bool {
		st, err := p.searchSvc.App.IndexStats(searchdomain.Caller{Subject: "test", Scopes: []string{searchdomain.ScopeResourcesAdmin}})
		return err == nil && st.Chunks == 1
	})
	ready := 0
	for _, e := range p.events.ofType("chunks.ready") {
		if e["data"].(map[string]any)["resource_id"] == rid {
			ready++
		}
	}
	require.Equal(t, 1, ready, "one chunks.ready for the job")
	require.GreaterOrEqual(t, emb.calls.Load(), int32(2))
}

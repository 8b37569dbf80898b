// Package openaiembed implements ports.Embedder on an OpenAI-compatible
// /v1/embeddings endpoint (OpenAI, Ollama, vLLM). Texts go in batches;
// 429 and 5xx answers are retried with exponential backoff and jitter,
// honouring Retry-After; results come back in input order whatever order
// the server lists them in.
package openaiembed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
)

// Config names the endpoint and model.
type Config struct {
	BaseURL    string // e.g. http://127.0.0.1:11434 (Ollama) or https://api.openai.com
	APIKey     string // sent as a bearer token when set; never logged
	Model      string
	Dimensions int           // the model's vector length, checked on every answer
	BatchSize  int           // texts per request (default 64)
	MaxRetries int           // default 5
	Backoff    time.Duration // first retry's base wait, doubled each time (default 200ms)
	Client     *http.Client  // default: one with a transport of its own and a 60 s timeout
}

// Embedder implements ports.Embedder.
type Embedder struct {
	cfg     Config
	backoff func(attempt int) time.Duration
}

var _ ports.Embedder = (*Embedder)(nil)

// New returns an embedder.
func New(cfg Config) *Embedder {
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 64
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 5
	}
	if cfg.Client == nil {
		// A transport of its own: on the shared default one, any code in
		// the process that closes its idle connections can break a request
		// whose answer has arrived (net/http returns the close instead
		// when the two race), and the retry below would send the batch
		// twice.
		cfg.Client = &http.Client{Timeout: 60 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 200 * time.Millisecond
	}
	return &Embedder{cfg: cfg, backoff: func(attempt int) time.Duration {
		base := cfg.Backoff << attempt
		return base/2 + time.Duration(rand.Int64N(int64(base))) // full jitter around the base
	}}
}

// Model is the configured model id.
func (e *Embedder) Model() string { return e.cfg.Model }

// Dimensions is the configured vector length.
func (e *Embedder) Dimensions() int { return e.cfg.Dimensions }

// Embed embeds texts in batches, in order.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += e.cfg.BatchSize {
		batch := texts[start:min(start+e.cfg.BatchSize, len(texts))]
		vecs, err := e.embedBatch(ctx, batch)
		if err != nil {
			return nil, err
		}
		out = append(out, vecs...)
	}
	return out, nil
}

type response struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
}

func (e *Embedder) embedBatch(ctx context.Context, batch []string) ([][]float32, error) {
	body, _ := json.Marshal(map[string]any{"model": e.cfg.Model, "input": batch})
	var lastErr error
	for attempt := 0; attempt <= e.cfg.MaxRetries; attempt++ {
		if attempt > 0 {
			wait := e.backoff(attempt - 1)
			var re *retryAfter
			if errors.As(lastErr, &re) && re.d > wait {
				wait = re.d
			}
			select {
			case <-ctx.Done():
				return nil, fault.Wrap(fault.Unavailable, "embedding cancelled", ctx.Err())
			case <-time.After(wait):
			}
		}
		vecs, err, retry := e.try(ctx, body, len(batch))
		if err == nil {
			return vecs, nil
		}
		if !retry {
			return nil, err
		}
		lastErr = err
	}
	return nil, fault.Wrap(fault.Unavailable, "the embedding service kept failing", lastErr)
}

type retryAfter struct {
	d      time.Duration
	status int
}

func (r *retryAfter) Error() string { return "embedding service answered " + strconv.Itoa(r.status) }

func (e *Embedder) try(ctx context.Context, body []byte, n int) ([][]float32, error, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.BaseURL+"/v1/embeddings", bytes.NewReader(body))
	if err != nil {
		return nil, err, false
	}
	req.Header.Set("Content-Type", "application/json")
	if e.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+e.cfg.APIKey)
	}
	resp, err := e.cfg.Client.Do(req)
	if err != nil {
		return nil, err, ctx.Err() == nil
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return nil, &retryAfter{d: time.Duration(secs) * time.Second, status: resp.StatusCode}, true
	case resp.StatusCode != http.StatusOK:
		return nil, fault.New(fault.Invalid, fmt.Sprintf("the embedding service refused the request (%d)", resp.StatusCode)), false
	}
	var r response
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fault.Wrap(fault.Unavailable, "the embedding service answered nonsense", err), true
	}
	if len(r.Data) != n {
		return nil, fault.New(fault.Unavailable, fmt.Sprintf("the embedding service returned %d vectors for %d texts", len(r.Data), n)), false
	}
	out := make([][]float32, n)
	for _, d := range r.Data {
		if d.Index < 0 || d.Index >= n || out[d.Index] != nil {
			return nil, fault.New(fault.Unavailable, "the embedding service returned bad indexes"), false
		}
		if e.cfg.Dimensions > 0 && len(d.Embedding) != e.cfg.Dimensions {
			return nil, fault.New(fault.Unavailable, fmt.Sprintf("the model returned %d dimensions, not %d", len(d.Embedding), e.cfg.Dimensions)), false
		}
		out[d.Index] = d.Embedding
	}
	return out, nil, false
}

// Package httpapi is the search service's HTTP edge: the query and index
// management API on the generated strict server. Who the caller is comes
// from the shared token verifier; what they may see is decided in the
// use cases.
package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lattice-platform/lattice/pkg/access"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/apimw"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/search/app"
	"github.com/lattice-platform/lattice/services/search/domain"
	"github.com/lattice-platform/lattice/services/search/oapi"
)

// Server implements the generated strict interface.
type Server struct {
	app     *app.Service
	lag     func(context.Context) (string, int64)
	queries *prometheus.HistogramVec
}

var _ oapi.StrictServerInterface = (*Server)(nil)

// Handler returns the search API: validation, then the generated router.
// lag reports the event consumer's name and backlog.
// Query latency per mode is registered on reg as
// lattice_search_query_duration_seconds{mode}.
func Handler(svc *app.Service, verifier ports.TokenVerifier, lag func(context.Context) (string, int64), reg prometheus.Registerer) (http.Handler, error) {
	spec, err := oapi.GetSpec()
	if err != nil {
		return nil, err
	}
	queries := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lattice_search_query_duration_seconds",
		Help:    "How long search queries took in the index, by mode (text, vector, hybrid).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}}, []string{"mode"})
	if err := reg.Register(queries); err != nil {
		return nil, err
	}
	return apimw.Mount(spec, verifier, nil, func(r chi.Router) {
		strict := oapi.NewStrictHandlerWithOptions(&Server{app: svc, lag: lag, queries: queries}, nil, oapi.StrictHTTPServerOptions{
			RequestErrorHandlerFunc:  apimw.RequestError,
			ResponseErrorHandlerFunc: apimw.ResponseError,
		})
		oapi.HandlerWithOptions(strict, oapi.ChiServerOptions{BaseRouter: r, ErrorHandlerFunc: apimw.RequestError})
	})
}

// caller is who the request acts for, as the edge established it
// (apimw.Identity): anonymous without a credential.
func (s *Server) caller(ctx context.Context) (domain.Caller, error) {
	c := access.CallerFrom(ctx)
	return domain.Caller{Subject: c.Subject, Scopes: c.Scopes}, nil
}

// Search answers a query.
func (s *Server) Search(ctx context.Context, req oapi.SearchRequestObject) (oapi.SearchResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	q := domain.Query{Text: strings.TrimSpace(b.Query), Mode: domain.ModeHybrid, Weight: 0.5, Limit: 10}
	if b.Mode != nil {
		q.Mode = domain.Mode(*b.Mode)
	}
	if b.Weight != nil {
		q.Weight = *b.Weight
	}
	if b.Limit != nil {
		q.Limit = *b.Limit
	}
	if f := b.Filters; f != nil {
		if f.Owner != nil {
			q.Filters.Owner = *f.Owner
		}
		if f.Tags != nil {
			q.Filters.Tags = *f.Tags
		}
		if f.Metadata != nil {
			q.Filters.Metadata = *f.Metadata
		}
		if f.ResourceIds != nil {
			for _, id := range *f.ResourceIds {
				q.Filters.ResourceIDs = append(q.Filters.ResourceIDs, id.String())
			}
		}
		if f.UpdatedSince != nil {
			q.Filters.UpdatedSince = *f.UpdatedSince
		}
	}
	fingerprint := queryFingerprint(b)
	if b.Cursor != nil {
		if q.Offset, err = parseCursor(*b.Cursor, fingerprint); err != nil {
			return nil, err
		}
	}
	began := time.Now()
	res, err := s.app.Search(ctx, c, q)
	s.queries.WithLabelValues(string(q.Mode)).Observe(time.Since(began).Seconds())
	if err != nil {
		return nil, err
	}
	out := oapi.Search200JSONResponse{Hits: make([]oapi.Hit, 0, len(res.Hits)), Model: res.Model}
	for _, h := range res.Hits {
		hit := oapi.Hit{ChunkId: h.ChunkID, ResourceId: apimw.UUID(h.ResourceID), Version: h.Version, Title: h.Title,
			Score: h.Score, Highlights: h.Highlights, Excerpt: h.Excerpt}
		if hit.Highlights == nil {
			hit.Highlights = []string{}
		}
		if h.FileID != "" {
			f := apimw.UUID(h.FileID)
			hit.FileId = &f
		}
		if h.TextRank > 0 {
			hit.Ranks.Text = &h.TextRank
		}
		if h.VectorRank > 0 {
			hit.Ranks.Vector = &h.VectorRank
		}
		out.Hits = append(out.Hits, hit)
	}
	if res.NextOffset > 0 {
		next := makeCursor(res.NextOffset, fingerprint)
		out.NextCursor = &next
	}
	return out, nil
}

// queryFingerprint identifies a query apart from its paging, so a cursor
// cannot be replayed against a different query.
func queryFingerprint(b *oapi.SearchRequest) string {
	copy := *b
	copy.Cursor, copy.Limit = nil, nil
	raw, _ := json.Marshal(copy)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:6])
}

func makeCursor(offset int, fingerprint string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset) + "." + fingerprint))
}

func parseCursor(cursor, fingerprint string) (int, error) {
	bad := fault.InvalidField("cursor", "not a cursor of this query")
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, bad
	}
	offset, fp, ok := strings.Cut(string(raw), ".")
	n, err := strconv.Atoi(offset)
	if !ok || err != nil || n < 0 || fp != fingerprint {
		return 0, bad
	}
	return n, nil
}

// GetIndexes reports index statistics.
func (s *Server) GetIndexes(ctx context.Context, _ oapi.GetIndexesRequestObject) (oapi.GetIndexesResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.app.IndexStats(c)
	if err != nil {
		return nil, err
	}
	name, pending := s.lag(ctx)
	out := oapi.GetIndexes200JSONResponse{Documents: st.Documents, Chunks: int64(st.Chunks), VectorsByModel: st.VectorsByModel,
		Consumer: oapi.ConsumerLag{Name: name, Pending: pending}}
	if out.VectorsByModel == nil {
		out.VectorsByModel = map[string]int{}
	}
	if st.LastEvent.ID != "" {
		out.LastEvent = &oapi.LastEvent{Id: st.LastEvent.ID, Type: st.LastEvent.Type, AppliedAt: st.LastEvent.AppliedAt}
	}
	if st.Rebuild.ID != "" {
		rb := toRebuild(st.Rebuild)
		out.Rebuild = &rb
	}
	return out, nil
}

// RebuildIndexes starts a rebuild.
func (s *Server) RebuildIndexes(ctx context.Context, _ oapi.RebuildIndexesRequestObject) (oapi.RebuildIndexesResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	rb, err := s.app.StartRebuild(ctx, c)
	if err != nil {
		return nil, err
	}
	return oapi.RebuildIndexes202JSONResponse{Body: toRebuild(rb), Headers: oapi.RebuildIndexes202ResponseHeaders{Location: "/v1/indexes"}}, nil
}

func toRebuild(r app.Rebuild) oapi.Rebuild {
	out := oapi.Rebuild{Id: apimw.UUID(r.ID), State: oapi.RebuildState(r.State), Progress: r.Progress(), Done: r.Done, Total: r.Total, StartedAt: r.StartedAt}
	if !r.FinishedAt.IsZero() {
		out.FinishedAt = &r.FinishedAt
	}
	if r.Error != "" {
		out.Error = &r.Error
	}
	return out
}

package legacyimport

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	resapp "github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/domain"
)

// ImportResources reads the resources table in key order and imports it
// in batches, Workers batches at once, each batch one transaction. A
// batch is whole or absent after a kill, and the next run skips what is
// there, so the legacy id table is the checkpoint.
func (r *Run) ImportResources(ctx context.Context, m ResourcesMapping) (Counts, error) {
	r.defaults()
	c := Counts{Kind: "resources"}
	total, err := r.Source.count(ctx, m.Table)
	if err != nil {
		return c, fmt.Errorf("resources: count: %w", err)
	}
	p := newProgress(r.Options, "resources", total)
	var mu sync.Mutex // guards c and p
	type batch struct {
		rows      []resapp.ImportedResource
		skipped   map[int]string // index → reason, for rows refused before the service saw them
		legacyIDs []string
	}
	g, ctx := errgroup.WithContext(ctx)
	batches := make(chan batch, r.Workers)
	for range r.Workers {
		g.Go(func() error {
			for b := range batches {
				out, err := r.Resources.ImportResources(ctx, b.rows, r.DryRun)
				if err != nil {
					return fmt.Errorf("resources: legacy ids %s to %s: %w", b.legacyIDs[0], b.legacyIDs[len(b.legacyIDs)-1], err)
				}
				mu.Lock()
				for i, o := range out {
					reason := o.Reason
					if o.Result == resapp.Skipped {
						reason = cmp.Or(b.skipped[i], reason)
					}
					c.add(string(o.Result), reason, b.legacyIDs[i])
					if r.DryRun && o.Result == resapp.Imported {
						r.wouldCreate(b.legacyIDs[i])
					}
				}
				p.tick(c.Total)
				mu.Unlock()
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(batches)
		var after any
		for {
			rows, err := r.Source.resources(ctx, m, after, r.Page)
			if err != nil {
				return fmt.Errorf("resources: read after %v: %w", after, err)
			}
			for start := 0; start < len(rows); start += r.Batch {
				part := rows[start:min(start+r.Batch, len(rows))]
				b := batch{rows: make([]resapp.ImportedResource, len(part)), skipped: map[int]string{}, legacyIDs: make([]string, len(part))}
				for i, row := range part {
					in, reason, err := r.resource(ctx, row)
					if err != nil {
						return fmt.Errorf("resources: legacy id %s: %w", row.legacyID, err)
					}
					if reason != "" {
						// The service sees a row it refuses (no owner), unless
						// it was imported before; the batch keeps its shape.
						b.skipped[i] = reason
						in = resapp.ImportedResource{LegacyID: row.legacyID}
					}
					b.rows[i], b.legacyIDs[i] = in, row.legacyID
				}
				select {
				case batches <- b:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if len(rows) < r.Page {
				return nil
			}
			after = rows[len(rows)-1].key
		}
	})
	err = g.Wait()
	if err == nil {
		p.done(c.Total)
	}
	return c, err
}

// resource maps a source row, or says why it cannot be imported.
func (r *Run) resource(ctx context.Context, row resourceRow) (resapp.ImportedResource, string, error) {
	owner, err := r.ownerID(ctx, row.owner)
	if err != nil || owner == "" {
		return resapp.ImportedResource{}, resapp.ReasonOwnerNotImported, err
	}
	if owner == wouldBeID {
		owner = "00000000-0000-7000-8000-000000000000" // a dry run's stand-in: the service checks rows, not owners
	}
	in := resapp.ImportedResource{LegacyID: row.legacyID, OwnerID: owner,
		Input: resapp.Input{Title: row.title, Body: row.body, Visibility: domain.Visibility(row.vis)}}
	if row.createdAt != nil {
		in.CreatedAt = *row.createdAt
	}
	if row.updatedAt != nil {
		in.UpdatedAt = *row.updatedAt
	}
	if in.Metadata, err = metadataOf(row.metadata); err != nil {
		return in, "invalid metadata", nil
	}
	if in.Tags, err = tagsOf(row.tags); err != nil {
		return in, "invalid tags", nil
	}
	return in, "", nil
}

// metadataOf reads a JSON object: string values are kept, other scalars
// and nested values become their JSON text, and nulls are dropped.
func metadataOf(raw *string) (map[string]string, error) {
	if raw == nil || *raw == "null" {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(*raw), &obj); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(obj))
	for k, v := range obj {
		var s string
		switch {
		case string(v) == "null":
			continue
		case json.Unmarshal(v, &s) == nil:
			out[k] = s
		default:
			out[k] = string(v)
		}
	}
	return out, nil
}

// tagsOf reads a JSON array of strings (or of numbers, kept as text).
func tagsOf(raw *string) ([]string, error) {
	if raw == nil || *raw == "null" {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(*raw), &items); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		var s string
		var n json.Number
		switch {
		case json.Unmarshal(it, &s) == nil:
			out = append(out, s)
		case json.Unmarshal(it, &n) == nil:
			out = append(out, n.String())
		default:
			return nil, fmt.Errorf("a tag is neither a string nor a number: %.40s", it)
		}
	}
	return out, nil
}

// wouldCreate notes a resource a dry run would make.
func (r *Run) wouldCreate(legacyID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.wouldBe == nil {
		r.wouldBe = map[string]bool{}
	}
	r.wouldBe[legacyID] = true
}

// resourceIDs maps resources' legacy ids to their Lattice ids, with
// wouldBeID for those a dry run would make.
func (r *Run) resourceIDs(ctx context.Context, legacyIDs []string) (map[string]string, error) {
	ids, err := r.Resources.ImportedIDs(ctx, resapp.LegacyResourceKind, legacyIDs)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range legacyIDs {
		if _, ok := ids[l]; !ok && r.wouldBe[l] {
			ids[l] = wouldBeID
		}
	}
	return ids, nil
}

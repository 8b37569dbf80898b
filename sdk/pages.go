package lattice

import (
	"context"
	"fmt"
	"iter"
	"net/http"
)

// pages walks a cursor list: fetch returns one page's items and the
// cursor of the next (nil on the last page). The walk stops at the first
// error, which it yields once, or when the caller breaks out of the loop.
func pages[T any](ctx context.Context, fetch func(ctx context.Context, cursor *string) ([]T, *string, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var cursor *string
		for {
			items, next, err := fetch(ctx, cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == nil || *next == "" {
				return
			}
			cursor = next
		}
	}
}

// body returns a successful answer's decoded body, or an error when the
// answer had none of the expected kind (an error answer is already a
// *Problem by the time it gets here).
func body[T any](v *T, resp *http.Response) (*T, error) {
	if v == nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		return nil, fmt.Errorf("lattice: unexpected answer (status %d, %s)", status, contentType(resp))
	}
	return v, nil
}

func contentType(resp *http.Response) string {
	if resp == nil {
		return "no response"
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		return ct
	}
	return "no content type"
}

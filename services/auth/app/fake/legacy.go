package fake

import (
	"context"
	"sync"
	"time"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/auth/app"
)

// LegacyIDs is an in-memory app.LegacyIDs.
type LegacyIDs struct {
	mu  sync.Mutex
	ids map[[2]string]string
}

var _ app.LegacyIDs = (*LegacyIDs)(nil)

// NewLegacyIDs returns an empty table.
func NewLegacyIDs() *LegacyIDs { return &LegacyIDs{ids: map[[2]string]string{}} }

// Lookup returns the id the row became, or "".
func (l *LegacyIDs) Lookup(_ context.Context, kind, legacyID string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ids[[2]string{kind, legacyID}], nil
}

// Record notes the row's id once.
func (l *LegacyIDs) Record(_ context.Context, kind, legacyID, id string, _ time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := [2]string{kind, legacyID}
	if _, ok := l.ids[k]; ok {
		return fault.New(fault.Conflict, "the row was imported already")
	}
	l.ids[k] = id
	return nil
}

package authstore

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lattice-platform/lattice/pkg/adapters/postgres"
	"github.com/lattice-platform/lattice/pkg/adapters/postgres/authstore/internal/authdb"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// SessionStore is the PostgreSQL app.SessionStore, used when no Redis is
// configured.
type SessionStore struct{ q *authdb.Queries }

var _ app.SessionStore = (*SessionStore)(nil)

// NewSessionStore returns a store on pool.
func NewSessionStore(pool *pgxpool.Pool) *SessionStore { return &SessionStore{q: authdb.New(pool)} }

// Create inserts s.
func (st *SessionStore) Create(ctx context.Context, s domain.Session) error {
	id, err := parseID(s.ID)
	if err != nil {
		return err
	}
	uid, err := parseID(s.UserID)
	if err != nil {
		return err
	}
	return postgres.Translate(queries(ctx, st.q).InsertSession(ctx, authdb.InsertSessionParams{
		ID: id, UserID: uid, TokenHash: s.TokenHash, UserAgent: s.UserAgent, Ip: s.IP,
		CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt,
	}))

}

// ByTokenHash returns the live session with hash.
func (st *SessionStore) ByTokenHash(ctx context.Context, hash []byte, now time.Time) (domain.Session, error) {
	row, err := queries(ctx, st.q).SessionByTokenHash(ctx, authdb.SessionByTokenHashParams{TokenHash: hash, ExpiresAt: now})
	if err != nil {
		return domain.Session{}, postgres.Lookup(err, domain.ErrSessionNotFound)
	}
	return sessionFromRow(row), nil
}

// ListByUser returns the user's live sessions, newest first.
func (st *SessionStore) ListByUser(ctx context.Context, userID string, now time.Time) ([]domain.Session, error) {
	uid, err := uuid.Parse(userID)
	if err != nil {
		return []domain.Session{}, nil
	}
	rows, err := queries(ctx, st.q).ListSessionsByUser(ctx, authdb.ListSessionsByUserParams{UserID: uid, ExpiresAt: now})
	if err != nil {
		return nil, postgres.Translate(err)
	}
	out := make([]domain.Session, len(rows))
	for i, r := range rows {
		out[i] = sessionFromRow(r)
	}
	return out, nil
}

// Delete removes the user's session id.
func (st *SessionStore) Delete(ctx context.Context, userID, id string) error {
	sid, err1 := uuid.Parse(id)
	uid, err2 := uuid.Parse(userID)
	if err1 != nil || err2 != nil {
		return domain.ErrSessionNotFound
	}
	n, err := queries(ctx, st.q).DeleteSession(ctx, authdb.DeleteSessionParams{ID: sid, UserID: uid})
	if err != nil {
		return postgres.Translate(err)
	}
	if n == 0 {
		return domain.ErrSessionNotFound
	}
	return nil
}

// DeleteExpired removes sessions that ended before now; the service calls it
// periodically so the table does not grow without bound.
func (st *SessionStore) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	n, err := queries(ctx, st.q).DeleteExpiredSessions(ctx, now)
	return n, postgres.Translate(err)
}

func sessionFromRow(r authdb.Session) domain.Session {
	return domain.Session{
		ID: r.ID.String(), UserID: r.UserID.String(), TokenHash: r.TokenHash, UserAgent: r.UserAgent, IP: r.Ip,
		CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
	}
}

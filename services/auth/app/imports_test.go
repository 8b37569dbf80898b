package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/app/fake"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// TestImportingUsers: a row becomes a user once (a second import of it
// changes nothing), keeping its hash, role and creation time; bad rows are
// skipped with their reason and leave nothing behind; a dry run writes
// nothing; each import is audited.
func TestImportingUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	users, legacy := fake.NewUserRepository(), fake.NewLegacyIDs()
	svc, _, outbox := setupEditing(t, app.Options{}, func(d *app.Deps) { d.Users, d.LegacyIDs = users, legacy })
	const hash = "$2b$04$0ehisEbhH79wZy0Rit8gCujAxj7aLDsjZV0pczUMm0ZtRkSR2JsWK"
	joined := time.Date(2019, 5, 6, 7, 8, 9, 0, time.UTC)
	row := app.ImportedUser{LegacyID: "7", Email: " Grace@Monolith.example", DisplayName: "Grace", PasswordHash: hash, Admin: true, CreatedAt: joined}

	dry, err := svc.ImportUser(ctx, row, true)
	require.NoError(t, err)
	require.Equal(t, app.ImportOutcome{Result: app.Imported}, dry)
	_, err = users.ByEmail(ctx, "grace@monolith.example")
	require.ErrorIs(t, err, domain.ErrUserNotFound, "a dry run writes nothing")
	require.Empty(t, outbox.Events())

	got, err := svc.ImportUser(ctx, row, false)
	require.NoError(t, err)
	require.Equal(t, app.Imported, got.Result)
	u, err := users.ByEmail(ctx, "grace@monolith.example")
	require.NoError(t, err)
	require.Equal(t, got.ID, u.ID)
	require.Equal(t, hash, u.PasswordHash, "the hash is kept as it is")
	require.Equal(t, domain.RoleAdmin, u.Role)
	require.Equal(t, joined, u.CreatedAt)
	require.Len(t, outbox.Events(), 1)
	require.Contains(t, string(outbox.Events()[0].Payload), `"action":"user.imported"`)

	again, err := svc.ImportUser(ctx, row, false)
	require.NoError(t, err)
	require.Equal(t, app.ImportOutcome{Result: app.Unchanged, ID: u.ID}, again, "a re-run changes nothing")
	require.Len(t, outbox.Events(), 1)
	id, err := svc.ImportedUserID(ctx, "7")
	require.NoError(t, err)
	require.Equal(t, u.ID, id, "other kinds map their owners by it")
	id, err = svc.ImportedUserID(ctx, "8")
	require.NoError(t, err)
	require.Empty(t, id)

	for reason, bad := range map[string]app.ImportedUser{
		app.ReasonInvalidEmail:   {LegacyID: "8", Email: "not-an-email", DisplayName: "X", PasswordHash: hash},
		app.ReasonDuplicateEmail: {LegacyID: "9", Email: "GRACE@monolith.example", DisplayName: "Grace again", PasswordHash: hash},
		app.ReasonInvalidName:    {LegacyID: "10", Email: "ten@monolith.example", DisplayName: " ", PasswordHash: hash},
		app.ReasonNoPassword:     {LegacyID: "11", Email: "eleven@monolith.example", DisplayName: "Eleven"},
		app.ReasonNoPassword + " (over 512 bytes)": {LegacyID: "12", Email: "twelve@monolith.example", DisplayName: "Twelve",
			PasswordHash: strings.Repeat("x", 513)},
	} {
		out, err := svc.ImportUser(ctx, bad, false)
		require.NoError(t, err, reason)
		require.Equal(t, app.Skipped, out.Result, reason)
		require.True(t, strings.HasPrefix(reason, out.Reason), "%s: %s", reason, out.Reason)
		id, err := legacy.Lookup(ctx, app.LegacyUserKind, bad.LegacyID)
		require.NoError(t, err)
		require.Empty(t, id, "%s: a skipped row is not remembered, so a fixed row imports on the next run", reason)
	}
	list, err := users.List(ctx, "", 10)
	require.NoError(t, err)
	require.Len(t, list, 1, "no bad row left a user behind")
}

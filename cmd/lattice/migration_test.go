package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMigrationCommand: the CLI sends the admin's token to the gateway's
// migration API, prints the routes as a table and the API's problem as
// the error; the token comes only from the environment.
func TestMigrationCommand(t *testing.T) {
	ctx := context.Background()
	var seen []string
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen = append(seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+string(body))
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/migration/routes":
			_, _ = io.WriteString(w, `{"items":[{"route":"/v1/resources","legacy":"legacy","lattice":"resource","phase":"canary","percent":25,
				"updated_at":"2026-11-29T12:00:00Z","updated_by":"u1","shadow":{"compared":400,"matched":398,"recent_diffs":[]}},{"route":"/v1/search","legacy":"legacy","lattice":"search","phase":"legacy"}]}`)
		case "/v1/migration/routes/huge":
			_, _ = io.WriteString(w, `{"items":[`+strings.Repeat(`{"route":"/v1/x","phase":"legacy"},`, 40000)+`{}]}`)
		case "/v1/migration/routes/promote":
			_, _ = io.WriteString(w, `{"route":"/v1/resources","legacy":"legacy","lattice":"resource","phase":"lattice"}`)
		default:
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"type":"about:blank","title":"Conflict","status":409,"detail":"the route is on the monolith already"}`)
		}
	}))
	defer gateway.Close()
	env := envMap(map[string]string{"LATTICE_URL": gateway.URL + "/", "LATTICE_TOKEN": "admin-token"})
	var out, errb strings.Builder

	require.NoError(t, run(ctx, []string{"migration", "status"}, nil, &out, &errb, env))
	require.Regexp(t, `ROUTE\s+PHASE\s+LEGACY\s+LATTICE\s+PARITY\s+UPDATED\s+BY\n/v1/resources\s+canary 25%\s+legacy\s+resource\s+99.5% of 400\s+2026-11-29T12:00:00Z\s+u1\n/v1/search\s+legacy\s+legacy\s+search\s+-\s+-\s+-\n`, out.String())
	out.Reset()
	require.NoError(t, run(ctx, []string{"migration", "promote", "/v1/resources", "--reason", "parity 99.8%"}, nil, &out, &errb, env))
	require.Contains(t, out.String(), "lattice")
	err := run(ctx, []string{"migration", "rollback", "/v1/search"}, nil, &out, &errb, env)
	require.ErrorContains(t, err, "409 Conflict: the route is on the monolith already")
	require.Equal(t, []string{
		"GET /v1/migration/routes Bearer admin-token ",
		`POST /v1/migration/routes/promote Bearer admin-token {"reason":"parity 99.8%","route":"/v1/resources"}`,
		`POST /v1/migration/routes/rollback Bearer admin-token {"route":"/v1/search"}`,
	}, seen)

	for _, args := range [][]string{{"migration"}, {"migration", "promote"}, {"migration", "status", "/v1/x"}, {"migration", "jump", "/v1/x"}, {"migration", "promote", "/v1/x", "extra"}} {
		require.ErrorContains(t, run(ctx, args, nil, &out, &errb, env), "usage:", "%v", args)
	}
	var list struct{ Items []migrationRoute }
	err = gatewayClient{base: gateway.URL, token: "admin-token", http: gateway.Client()}.call(ctx, "GET", "/v1/migration/routes/huge", nil, &list)
	require.Error(t, err, "an answer over 1 MiB is not read whole")
	seen = seen[:3]
	err = run(ctx, []string{"migration", "status"}, nil, &out, &errb, envMap(map[string]string{"LATTICE_URL": gateway.URL}))
	require.ErrorContains(t, err, "LATTICE_TOKEN")
	require.Len(t, seen, 3, "nothing is sent without a token")
}

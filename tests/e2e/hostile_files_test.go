package e2e_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/extract/extracttest"
	"github.com/lattice-platform/lattice/pkg/testinfra"
)

// TestHostileFilesCannotStopIndexing: eight hostile files are uploaded,
// then an ordinary one. Before extraction ran in a limited child process,
// the hostile files held every worker forever and the ordinary file was
// never searchable; now each hostile file ends rejected with its reason,
// and the ordinary file is found within the usual time.
func TestHostileFilesCannotStopIndexing(t *testing.T) {
	env := append(testinfra.PlatformEnv(t), "PROCESSING_CONCURRENCY=4",
		"PROCESSING_EXTRACT_CPU=3s", "PROCESSING_EXTRACT_TIMEOUT=6s", "PROCESSING_EXTRACT_MEMORY_BYTES=268435456")
	_, base := testinfra.ServeAll(t, env)
	status, _ := call(t, "POST", base+"/v1/users", "", "application/json", `{"email":"ada@example.com","password":"a long enough password","display_name":"Ada"}`)
	require.Equal(t, 201, status)
	status, login := call(t, "POST", base+"/v1/sessions", "", "application/json", `{"email":"ada@example.com","password":"a long enough password"}`)
	require.Equal(t, 201, status)
	ada := login["token"].(string)
	status, res := call(t, "POST", base+"/v1/resources", ada, "application/json", `{"title":"Inbox","body":"uploads","visibility":"private"}`)
	require.Equal(t, 201, status)
	rid := res["id"].(string)

	hostile := map[string]string{} // file id → name
	files := extracttest.Hostile(t)
	for _, f := range append(files, files[0], files[3]) { // eight: a second lying count and a second bomb
		hostile[upload(t, base, ada, rid, f.Name, f.Content)] = f.Name
	}
	ordinary := upload(t, base, ada, rid, "okapi.txt", []byte("The okapi is a giraffid of the Congo rainforest."))

	testinfra.Within(t, 30*time.Second, "the ordinary file is searchable", func() bool {
		return found(search(t, base, ada, "okapi giraffid", "text"), rid, ordinary)
	})
	for id, name := range hostile {
		testinfra.Within(t, 60*time.Second, name+" is rejected", func() bool {
			status, f := call(t, "GET", base+"/v1/resources/"+rid+"/files/"+id, ada, "", "")
			if status != 200 || f["status"] != "rejected" { // 429 when polling outruns the per-IP budget
				return false
			}
			require.NotEmpty(t, f["rejected_reason"], name)
			t.Logf("%s: %s", name, f["rejected_reason"])
			return true
		})
	}
	status, jobs := call(t, "GET", base+"/v1/jobs?resource_id="+rid+"&state=dead", ada, "", "")
	require.Equal(t, 200, status)
	require.Len(t, jobs["items"], len(hostile), "every hostile file's job is dead, not retried")
	for _, j := range jobs["items"].([]any) {
		require.EqualValues(t, 1, j.(map[string]any)["attempts"], "a file that breaks a limit is not retried")
	}
}

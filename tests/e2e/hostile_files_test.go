package e2e_test

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pdf builds a PDF from objects (1-based, object 1 the catalog) with a
// correct cross-reference table.
func pdf(objs ...string) []byte {
	var b strings.Builder
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return []byte(b.String())
}

// hostileFiles are the files that once hung or exhausted a processing
// worker: a lying page count, page trees that loop, deflate bombs, and
// documents nested 100,000 deep.
func hostileFiles(t *testing.T) map[string][]byte {
	t.Helper()
	const page = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>"
	content := "<< /Length 9 >>\nstream\nBT () Tj ET\nendstream"
	var bomb bytes.Buffer
	w, err := zlib.NewWriterLevel(&bomb, zlib.BestSpeed)
	require.NoError(t, err)
	spaces := bytes.Repeat([]byte(" "), 1<<20)
	for range 768 {
		_, err := w.Write(spaces)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	bombStream := fmt.Sprintf("<< /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream", bomb.Len(), bomb.Bytes())
	return map[string][]byte{
		"count-1.pdf": pdf("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 2000000000 >>", page, content),
		"count-2.pdf": pdf("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R 3 0 R] /Count 1999999999 >>", page, content),
		"loop-1.pdf":  pdf("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [2 0 R] /Count 1 >>", page, content),
		"loop-2.pdf":  pdf("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [2 0 R 2 0 R] /Count 1 >>", page, content),
		"bomb-1.pdf":  pdf("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page, bombStream),
		"bomb-2.pdf":  pdf("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page, bombStream),
		"deep.html":   []byte("<!DOCTYPE html><html><body>" + strings.Repeat("<div>", 100000) + "deep" + strings.Repeat("</div>", 100000) + "</body></html>"),
		"deep.json":   []byte(strings.Repeat("[", 100000) + strings.Repeat("]", 100000)),
	}
}

// TestHostileFilesCannotStopIndexing: eight hostile files are uploaded,
// then an ordinary one. Before extraction ran in a limited child process,
// the hostile files held every worker forever and the ordinary file was
// never searchable; now each hostile file ends rejected with its reason,
// and the ordinary file is found within the usual time.
func TestHostileFilesCannotStopIndexing(t *testing.T) {
	env := append(platformEnv(t), "PROCESSING_CONCURRENCY=4",
		"PROCESSING_EXTRACT_CPU=3s", "PROCESSING_EXTRACT_TIMEOUT=6s", "PROCESSING_EXTRACT_MEMORY_BYTES=268435456")
	_, base := serve(t, env)
	status, _ := call(t, "POST", base+"/v1/users", "", "application/json", `{"email":"ada@example.com","password":"a long enough password","display_name":"Ada"}`)
	require.Equal(t, 201, status)
	status, login := call(t, "POST", base+"/v1/sessions", "", "application/json", `{"email":"ada@example.com","password":"a long enough password"}`)
	require.Equal(t, 201, status)
	ada := login["token"].(string)
	status, res := call(t, "POST", base+"/v1/resources", ada, "application/json", `{"title":"Inbox","body":"uploads","visibility":"private"}`)
	require.Equal(t, 201, status)
	rid := res["id"].(string)

	hostile := map[string]string{} // file id → name
	for name, content := range hostileFiles(t) {
		hostile[upload(t, base, ada, rid, name, content)] = name
	}
	ordinary := upload(t, base, ada, rid, "okapi.txt", []byte("The okapi is a giraffid of the Congo rainforest."))

	within(t, 30*time.Second, "the ordinary file is searchable", func() bool {
		return found(search(t, base, ada, "okapi giraffid", "text"), rid, ordinary)
	})
	for id, name := range hostile {
		within(t, 60*time.Second, name+" is rejected", func() bool {
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

package extract_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/extract"
	"github.com/lattice-platform/lattice/pkg/fault"
)

func extractText(t *testing.T, ctype, content string) (string, error) {
	t.Helper()
	return extract.Extractor{}.Extract(context.Background(), ctype, strings.NewReader(content))
}

func TestExtractFormats(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ctype, in string
		want      []string
		notWant   []string
	}{
		{"text/plain; charset=utf-8", "  plain words\n", []string{"plain words"}, nil},
		{"text/markdown", "# Title\n\nSome **bold** and a [link](http://x.example/secret-path).\n\n- item one\n\n```go\ncode()\n```",
			[]string{"Title", "Some bold and a link.", "item one", "code()"}, []string{"#", "**", "http://x.example", "```"}},
		{"text/html", `<html><head><title>T</title><style>p{color:red}</style></head><body><h1>Heading</h1>
			<p>First <b>para</b>.</p><script>alert("no")</script><noscript>nope</noscript><p>Second para.</p></body></html>`,
			[]string{"Heading", "First para .", "Second para."}, []string{"alert", "color:red", "nope"}},
		{"application/json", `{"title":"Quarterly report","tags":["finance","q3"],"pages":12,"nested":{"author":"Ada"}}`,
			[]string{"title: Quarterly report", "tags: finance", "tags: q3", "pages: 12", "author: Ada"}, nil},
		{"text/csv", "name,city\nAda,London\nGrace,Arlington\n", []string{"name: Ada, city: London", "name: Grace, city: Arlington"}, nil},
	} {
		got, err := extractText(t, tc.ctype, tc.in)
		require.NoError(t, err, tc.ctype)
		for _, w := range tc.want {
			require.Contains(t, got, w, tc.ctype)
		}
		for _, w := range tc.notWant {
			require.NotContains(t, got, w, tc.ctype)
		}
	}
}

func TestHTMLBlocksBecomeParagraphs(t *testing.T) {
	t.Parallel()
	got, err := extractText(t, "text/html", "<div>one</div><div>two</div>")
	require.NoError(t, err)
	require.Equal(t, "one\n\ntwo", got)
}

func TestExtractPDF(t *testing.T) {
	t.Parallel()
	got, err := extractText(t, "application/pdf", minimalPDF("Hello from a PDF"))
	require.NoError(t, err)
	require.Contains(t, got, "Hello from a PDF")
}

func TestUnsupportedAndCorruptFiles(t *testing.T) {
	t.Parallel()
	_, err := extractText(t, "image/png", "\x89PNG")
	require.True(t, fault.Of(err, fault.UnsupportedMedia), "got %v", err)
	for ctype, bad := range map[string]string{
		"application/json": `{"broken":`,
		"text/csv":         "a,\"unterminated\nb",
		"application/pdf":  "%PDF-1.4 garbage that is not a pdf",
		"text/plain":       "\xff\xfe\xfd",
	} {
		_, err := extractText(t, ctype, bad)
		require.True(t, fault.Of(err, fault.Invalid), "%s: got %v", ctype, err)
	}
	_, err = extract.Extractor{MaxBytes: 10}.Extract(context.Background(), "text/plain", strings.NewReader(strings.Repeat("x", 11)))
	require.True(t, fault.Of(err, fault.TooLarge))
}

// minimalPDF builds a one-page PDF 1.4 with text in Helvetica, with a
// correct cross-reference table.
func minimalPDF(text string) string {
	stream := fmt.Sprintf("BT /F1 18 Tf 72 720 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
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
	return b.String()
}

// The page tree is walked without trusting /Count or /Kids: a lying count
// or a tree that points back at itself is rejected at once, in-process.
func TestPDFPageTreeIsNotTrusted(t *testing.T) {
	t.Parallel()
	text := []byte("BT /F1 18 Tf 72 720 Td (hi) Tj ET")
	for name, file := range map[string]string{
		"lying count": pdfWith("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 2000000000 >>", page, stream("", text), font),
		"self loop":   pdfWith("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [2 0 R] /Count 1 >>", page, stream("", text), font),
		"fan-out loop": pdfWith("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [2 0 R 2 0 R 2 0 R] /Count 1 >>",
			page, stream("", text), font),
	} {
		start := time.Now()
		got, err := extractText(t, "application/pdf", file)
		require.Empty(t, got)
		require.True(t, fault.Of(err, fault.Invalid) || fault.Of(err, fault.TooLarge), "%s: got %v", name, err)
		require.Less(t, time.Since(start), 2*time.Second, name)
	}
}

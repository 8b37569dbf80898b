// Package extracttest builds the files the extraction tests feed the
// parsers: small valid PDFs, and the hostile files that once hung or
// exhausted a processing worker.
package extracttest

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// PDF builds a PDF 1.4 from objects (1-based, object 1 the catalog) with a
// correct cross-reference table.
func PDF(objs ...string) []byte {
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

// Objects of a one-page PDF whose page is object 3, its content object 4
// and its font object 5.
const (
	Catalog = "<< /Type /Catalog /Pages 2 0 R >>"
	Page    = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
	Font    = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
)

// Stream is a stream object with dict's entries and body.
func Stream(dict string, body []byte) string {
	return fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(body), body)
}

// TextPDF is a one-page PDF showing text.
func TextPDF(text string) []byte {
	return PDF(Catalog, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>", Page,
		Stream("", []byte(fmt.Sprintf("BT /F1 18 Tf 72 720 Td (%s) Tj ET", text))), Font)
}

// File is one test file, with a name whose extension says its type.
type File struct {
	Name, ContentType string
	Content           []byte
}

// bomb is a content stream of 256 MiB of spaces deflated to about 1 MiB
// (four times the extractor's 64 MiB content limit), made once per process.
var bomb = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	w, _ := zlib.NewWriterLevel(&b, zlib.BestSpeed) // a valid level: no error
	spaces := bytes.Repeat([]byte(" "), 1<<20)
	for range 256 {
		_, _ = w.Write(spaces) // a bytes.Buffer does not fail
	}
	_ = w.Close()
	return b.Bytes()
})

// Hostile returns the hostile files: a lying /Count, page trees that point
// back at themselves, a deflate bomb, and HTML and JSON nested 100,000
// deep.
func Hostile(tb testing.TB) []File {
	tb.Helper()
	text := []byte("BT /F1 18 Tf 72 720 Td (hi) Tj ET")
	const pdf = "application/pdf"
	return []File{
		{"count.pdf", pdf, PDF(Catalog, "<< /Type /Pages /Kids [3 0 R] /Count 2000000000 >>", Page, Stream("", text), Font)},
		{"loop.pdf", pdf, PDF(Catalog, "<< /Type /Pages /Kids [2 0 R] /Count 1 >>", Page, Stream("", text), Font)},
		{"fan-out-loop.pdf", pdf, PDF(Catalog, "<< /Type /Pages /Kids [2 0 R 2 0 R 2 0 R] /Count 1 >>", Page, Stream("", text), Font)},
		{"bomb.pdf", pdf, PDF(Catalog, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>", Page, Stream("/Filter /FlateDecode", bomb()), Font)},
		{"deep.html", "text/html", []byte("<!DOCTYPE html><html><body>" + strings.Repeat("<div>", 100000) + "deep" +
			strings.Repeat("</div>", 100000) + "</body></html>")},
		{"deep.json", "application/json", []byte(strings.Repeat("[", 100000) + strings.Repeat("]", 100000))},
	}
}

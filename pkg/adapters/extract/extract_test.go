package extract_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/extract"
	"github.com/lattice-platform/lattice/pkg/adapters/extract/extracttest"
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

// Markdown is parsed, not pattern-matched: the words stay, in paragraphs,
// and the markup goes, link targets, inline tags, scripts in HTML blocks,
// escapes and entity references included.
func TestMarkdownKeepsTheWordsAndDropsTheMarkup(t *testing.T) {
	t.Parallel()
	in := "# Title\n\nSome **bold** and a [link](http://x.example/secret-path) and ![alt text](img.png).\n" +
		"Second line with `code`, <span>inline</span> html &amp; an escaped \\* star.\n\n" +
		"- item one\n- item two\n\n> quoted words\n\n```go\ncode()\n```\n\n" +
		"<div>\n<p>Block html words</p><script>bad()</script>\n</div>\n\nSetext\n======\n\n<https://auto.example>\n"
	got, err := extractText(t, "text/markdown", in)
	require.NoError(t, err)
	require.Equal(t, "Title\n\nSome bold and a link and alt text.\nSecond line with code, inline html & an escaped * star.\n\n"+
		"item one\n\nitem two\n\nquoted words\n\ncode()\n\nBlock html words\n\nSetext\n\nhttps://auto.example", got)
	_, err = extractText(t, "text/markdown", "caf\xe9")
	require.True(t, fault.Of(err, fault.Invalid), "not UTF-8: %v", err)
}

func TestHTMLBlocksBecomeParagraphs(t *testing.T) {
	t.Parallel()
	got, err := extractText(t, "text/html", "<div>one</div><div>two</div>")
	require.NoError(t, err)
	require.Equal(t, "one\n\ntwo", got)
}

func TestExtractPDF(t *testing.T) {
	t.Parallel()
	got, err := extractText(t, "application/pdf", string(extracttest.TextPDF("Hello from a PDF")))
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

// The page tree is walked without trusting /Count or /Kids: a lying count
// or a tree that points back at itself is rejected at once, in-process.
func TestPDFPageTreeIsNotTrusted(t *testing.T) {
	t.Parallel()
	for _, f := range extracttest.Hostile(t) {
		if f.ContentType != "application/pdf" || f.Name == "bomb.pdf" {
			continue
		}
		start := time.Now()
		got, err := extractText(t, f.ContentType, string(f.Content))
		require.Empty(t, got)
		require.True(t, fault.Of(err, fault.Invalid) || fault.Of(err, fault.TooLarge), "%s: got %v", f.Name, err)
		require.Less(t, time.Since(start), 2*time.Second, f.Name)
	}
}

// A deflate bomb is refused by its decompressed size, in-process, however
// fast the machine parses it.
func TestPDFDeflateBombIsRefusedBySize(t *testing.T) {
	t.Parallel()
	for _, f := range extracttest.Hostile(t) {
		if f.Name != "bomb.pdf" {
			continue
		}
		_, err := extractText(t, f.ContentType, string(f.Content))
		require.True(t, fault.Of(err, fault.TooLarge), "got %v", err)
		require.ErrorContains(t, err, "expands beyond")
	}
}

// BenchmarkExtractMarkdown extracts a 100 KiB markdown file, the journeys'
// upload (bench/journeys): a heading and one long paragraph.
func BenchmarkExtractMarkdown(b *testing.B) {
	var doc strings.Builder
	doc.WriteString("# Field notes\n\n")
	for i := 0; doc.Len() < 100<<10; i++ {
		fmt.Fprintf(&doc, "The word%d was seen near the river bend at dusk. ", i%50)
	}
	in := doc.String()[:100<<10]
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (extract.Extractor{}).Extract(context.Background(), "text/markdown", strings.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}

package asciiwords_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/registry"
	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/bleveindex/asciiwords"
	"github.com/lattice-platform/lattice/pkg/testinfra/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// render lists a stream's tokens with everything a filter or an index
// reads of them.
func render(ts analysis.TokenStream) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = fmt.Sprintf("%q %d-%d @%d type %d keyword %v", t.Term, t.Start, t.End, t.Position, t.Type, t.KeyWord)
	}
	return out
}

func requireSameTokens(t *testing.T, input string) {
	t.Helper()
	want := render(unicode.NewUnicodeTokenizer().Tokenize([]byte(input)))
	got := render(asciiwords.New().Tokenize([]byte(input)))
	require.Equal(t, want, got, "tokens of %q", input)
}

func TestTokensOfExamples(t *testing.T) {
	for input, want := range map[string][]string{
		"":                   {},
		"The cat's 3.14 a:b": {`"The" 0-3 @1 type 0 keyword false`, `"cat's" 4-9 @2 type 0 keyword false`, `"3.14" 10-14 @3 type 2 keyword false`, `"a:b" 15-18 @4 type 0 keyword false`},
		"1,000;5 x1 1x _ a_": {`"1,000;5" 0-7 @1 type 2 keyword false`, `"x1" 8-10 @2 type 0 keyword false`, `"1x" 11-13 @3 type 0 keyword false`, `"_" 14-15 @4 type 0 keyword false`, `"a_" 16-18 @5 type 0 keyword false`},
		"a..b 1.a a.1 end.":  {`"a" 0-1 @1 type 0 keyword false`, `"b" 3-4 @2 type 0 keyword false`, `"1" 5-6 @3 type 2 keyword false`, `"a" 7-8 @4 type 0 keyword false`, `"a" 9-10 @5 type 0 keyword false`, `"1" 11-12 @6 type 2 keyword false`, `"end" 13-16 @7 type 0 keyword false`},
		"café au lait, 日本":   {`"café" 0-5 @1 type 0 keyword false`, `"au" 6-8 @2 type 0 keyword false`, `"lait" 9-13 @3 type 0 keyword false`, `"日" 15-18 @4 type 1 keyword false`, `"本" 18-21 @5 type 1 keyword false`},
	} {
		got := render(asciiwords.New().Tokenize([]byte(input)))
		require.Equal(t, want, got, "tokens of %q", input)
		requireSameTokens(t, input)
	}
}

// TestTokensAsUnicodeOnEveryShortString compares the two tokenizers on
// every short string of two alphabets: one with a member of every ASCII
// class the word rules tell apart, up to five characters, and one that
// adds characters that are not ASCII, up to four: a letter with an accent,
// a combining accent (which joins the character before it), a CJK
// ideograph and a curly apostrophe (which joins letters as the ASCII one does).
// The word rules look at most one character either side of the one they
// place; FuzzTokensAsUnicode tries longer strings.
func TestTokensAsUnicodeOnEveryShortString(t *testing.T) {
	ascii := []string{"a", "Z", "1", ".", "'", ":", ",", "_", " ", "\"", "\r", "\n", "\v", "-"}
	for _, alphabet := range []struct {
		letters []string
		length  int
	}{
		{ascii, 5},
		{append(ascii[:len(ascii):len(ascii)], "é", "\u0301", "日", "’"), 4},
	} {
		checked := 0
		var build func(prefix string, left int)
		build = func(prefix string, left int) {
			requireSameTokens(t, prefix)
			checked++
			if left == 0 {
				return
			}
			for _, c := range alphabet.letters {
				build(prefix+c, left-1)
			}
		}
		build("", alphabet.length)
		t.Logf("%d strings of up to %d characters", checked, alphabet.length)
	}
}

// TestTokensAsUnicodeOnText compares them on prose, and on the same prose
// with characters that are not ASCII in it, and on bytes that are not
// UTF-8.
func TestTokensAsUnicodeOnText(t *testing.T) {
	prose := "It's 3:30 p.m.; the U.S. report (v2.1_final) lists 1,024 items at $3.50 each — e.g. \"A.B.C\" and x_y_z.\r\nNext line:\tdone."
	for _, input := range []string{
		prose,
		strings.ReplaceAll(prose, "'", "’"),
		strings.ReplaceAll(prose, " the ", " the naïve "),
		"Ünïcödé at the start, then ASCII words, then 東京 and more ASCII after it.",
		prose + "\xff\xfe" + prose,
		"\u0301leading accent and a trailing one\u0301",
		// More words than words' array on the stack holds (128).
		strings.Repeat(strings.ReplaceAll(prose, "—", "-"), 8),
	} {
		requireSameTokens(t, input)
	}
}

func FuzzTokensAsUnicode(f *testing.F) {
	for _, seed := range []string{"The cat's 3.14", "a_b:c 1,000.5", "café, 日本語 ok", "\xffbad", "x\u0301y z"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		requireSameTokens(t, input)
	})
}

func TestRegistered(t *testing.T) {
	tok, err := registry.NewCache().TokenizerNamed(asciiwords.Name)
	require.NoError(t, err)
	require.Equal(t, []string{`"ok" 0-2 @1 type 0 keyword false`}, render(tok.Tokenize([]byte("ok"))))
}

// BenchmarkTokenize compares the two tokenizers on a chunk of an upload
// (about 300 bytes of English text):
//
//	go test -run '^$' -bench Tokenize -benchmem ./pkg/adapters/bleveindex/asciiwords/
func BenchmarkTokenize(b *testing.B) {
	chunk := []byte("Observations of the pangolin at dusk, recorded on 12.03.2024 by the field team; " +
		"each note lists the animal's weight (3.2 kg), the site_id and what it ate. The team's " +
		"lead wrote: \"no sign of distress\". Tomorrow's survey covers sites 14 to 27, weather permitting.")
	for _, tc := range []struct {
		name string
		tok  analysis.Tokenizer
	}{{"unicode", unicode.NewUnicodeTokenizer()}, {"asciiwords", asciiwords.New()}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(chunk)))
			b.ReportAllocs()
			for b.Loop() {
				tc.tok.Tokenize(chunk)
			}
		})
	}
}

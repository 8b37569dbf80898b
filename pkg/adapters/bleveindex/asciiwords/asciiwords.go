// Package asciiwords is a bleve tokenizer that gives exactly the tokens of
// bleve's unicode tokenizer (Unicode word boundaries, UAX #29, as
// github.com/blevesearch/segment implements them), and finds the words of
// ASCII text itself, about five times faster. The unicode tokenizer runs a
// generated state machine over every byte, and was a tenth of the CPU
// search spends indexing an upload.
//
// Text that is not valid UTF-8 goes to the unicode tokenizer whole. In
// other text, each stretch around a non-ASCII character, from the start of
// the word before it to the start of a word after it, goes to the unicode
// tokenizer, and the rest is read here. A word that starts after an ASCII
// separator starts a token whatever came before, and the segmenter's
// scanner keeps nothing from one token to the next, so both ways agree;
// the package's tests compare them on every string of a few characters
// and under the fuzzer.
package asciiwords

import (
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/registry"
)

// Name is the tokenizer's name in bleve's registry.
const Name = "lattice_ascii_words"

func init() {
	if err := registry.RegisterTokenizer(Name, func(map[string]any, *registry.Cache) (analysis.Tokenizer, error) {
		return New(), nil
	}); err != nil {
		panic(err)
	}
}

// Tokenizer splits text into words as the unicode tokenizer does.
type Tokenizer struct {
	unicode *unicode.UnicodeTokenizer
}

var _ analysis.Tokenizer = (*Tokenizer)(nil)

// New returns a tokenizer.
func New() *Tokenizer { return &Tokenizer{unicode: unicode.NewUnicodeTokenizer()} }

// The Word_Break classes of the ASCII bytes (UAX #29), as the segmenter's
// tables give them. Double_Quote joins only Hebrew letters and newlines
// only break, so for ASCII both count as separators.
const (
	separator    byte = iota
	letter            // ALetter: A–Z, a–z
	digit             // Numeric: 0–9
	extendNumLet      // '_': joins whatever word it touches
	midLetter         // ':': joins two letters
	midNumLet         // '.' and the Single_Quote '\'': join two letters or two digits
	midNum            // ',' and ';': join two digits
	nonASCII
)

var class = func() (c [256]byte) {
	for b := 0x80; b < 0x100; b++ {
		c[b] = nonASCII
	}
	for b := 'a'; b <= 'z'; b++ {
		c[b], c[b-'a'+'A'] = letter, letter
	}
	for b := '0'; b <= '9'; b++ {
		c[b] = digit
	}
	c['_'], c[':'], c['.'], c['\''], c[','], c[';'] = extendNumLet, midLetter, midNumLet, midNumLet, midNum, midNum
	return c
}()

// startsWord reports whether b begins a token.
func startsWord(b byte) bool { k := class[b]; return k == letter || k == digit || k == extendNumLet }

// Tokenize returns input's words, each with its byte offsets, its
// position (from 1) and its type: Numeric for digits joined only by '_'
// and number punctuation, AlphaNumeric for any other word. Terms are
// slices of input, as the unicode tokenizer's are.
func (t *Tokenizer) Tokenize(input []byte) analysis.TokenStream {
	q := firstNonASCII(input, 0)
	if q == len(input) {
		return words(input, 0, len(input), 1, nil)
	}
	if !utf8.Valid(input) {
		return t.unicode.Tokenize(input)
	}
	var out analysis.TokenStream
	from := 0
	for q < len(input) {
		// [start, end) holds the character at q and is read by the unicode
		// tokenizer; both ends are starts of words after separators (or an
		// end of the input), so neither way sees the other's part.
		start, end := cutBefore(input, from, q), cutAfter(input, q+1)
		out = words(input, from, start, len(out)+1, out)
		pos := len(out)
		for _, tok := range t.unicode.Tokenize(input[start:end]) {
			tok.Start += start
			tok.End += start
			tok.Position += pos
			out = append(out, tok)
		}
		from, q = end, firstNonASCII(input, end)
	}
	return words(input, from, len(input), len(out)+1, out)
}

// firstNonASCII returns the index of the first byte of input from i on
// that is not ASCII, or len(input).
func firstNonASCII(input []byte, i int) int {
	for ; i < len(input); i++ {
		if input[i] >= utf8.RuneSelf {
			return i
		}
	}
	return i
}

// isCut reports whether a word starts at p right after a separator: a
// boundary that no rule of UAX #29 joins across, in any context.
func isCut(input []byte, p int) bool {
	return class[input[p-1]] == separator && startsWord(input[p])
}

// cutBefore returns the last cut in (from, q], or from.
func cutBefore(input []byte, from, q int) int {
	for p := q; p > from; p-- {
		if isCut(input, p) {
			return p
		}
	}
	return from
}

// cutAfter returns the first cut at p or after it, or len(input).
func cutAfter(input []byte, p int) int {
	for ; p < len(input); p++ {
		if isCut(input, p) {
			return p
		}
	}
	return len(input)
}

// wordEnd returns the end of the word that starts at i, in ASCII text,
// and whether it holds a letter or a digit. A letter, a digit or '_'
// always joins the word; a middle character joins it only between two
// letters or two digits it may join.
func wordEnd(input []byte, i int) (end int, letters, digits bool) {
	for ; i < len(input); i++ {
		switch class[input[i]] {
		case letter:
			letters = true
			continue
		case digit:
			digits = true
			continue
		case extendNumLet:
			continue
		case midLetter:
			if i+1 < len(input) && class[input[i-1]] == letter && class[input[i+1]] == letter {
				continue
			}
		case midNumLet:
			if i+1 < len(input) && class[input[i-1]] == class[input[i+1]] && (class[input[i+1]] == letter || class[input[i+1]] == digit) {
				continue
			}
		case midNum:
			if i+1 < len(input) && class[input[i-1]] == digit && class[input[i+1]] == digit {
				continue
			}
		}
		break
	}
	return i, letters, digits
}

// span is a word found in ASCII text.
type span struct {
	start, end int
	typ        analysis.TokenType
}

// words appends the tokens of input[from:to], ASCII text that starts at a
// boundary, numbering them from pos.
func words(input []byte, from, to, pos int, out analysis.TokenStream) analysis.TokenStream {
	var spanBuf [128]span // a chunk of search's (about 300 bytes) has fewer
	spans := spanBuf[:0]
	for i := from; i < to; {
		if !startsWord(input[i]) {
			i++
			continue
		}
		end, letters, digits := wordEnd(input[:to], i)
		typ := analysis.AlphaNumeric
		if digits && !letters {
			typ = analysis.Numeric
		}
		spans = append(spans, span{i, end, typ})
		i = end
	}
	if len(spans) == 0 {
		return out
	}
	// One array for the part's tokens, as the unicode tokenizer allocates
	// them in blocks rather than one by one.
	toks := make([]analysis.Token, len(spans))
	if out == nil {
		out = make(analysis.TokenStream, 0, len(spans))
	}
	for n, w := range spans {
		tok := &toks[n]
		// The term keeps the capacity to the input's end, as the unicode
		// tokenizer's terms do.
		*tok = analysis.Token{Term: input[w.start:w.end], Start: w.start, End: w.end, Position: pos + n, Type: w.typ}
		out = append(out, tok)
	}
	return out
}

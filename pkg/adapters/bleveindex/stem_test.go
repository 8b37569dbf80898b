package bleveindex

import (
	"bytes"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/token/porter"
	"github.com/stretchr/testify/require"
)

// stemBoth runs bleve's porter filter and porterInPlace over the words of
// text, each filter over terms that are slices of one buffer of its own,
// as a tokenizer's are, and returns the terms each gave.
func stemBoth(text string) (want, got []string) {
	run := func(f analysis.TokenFilter) []string {
		buf := []byte(text)
		var ts analysis.TokenStream
		for start := 0; start < len(buf); {
			end := bytes.IndexByte(buf[start:], ' ')
			if end < 0 {
				end = len(buf) - start
			}
			ts = append(ts, &analysis.Token{Term: buf[start : start+end], Start: start, End: start + end, Position: len(ts) + 1})
			start += end + 1
		}
		var terms []string
		for _, tok := range f.Filter(ts) {
			terms = append(terms, string(tok.Term))
		}
		return terms
	}
	return run(porter.NewPorterStemmer()), run(porterInPlace{})
}

func TestStemsAsBlevesPorterFilter(t *testing.T) {
	stems := []string{"relat", "condition", "hop", "fil", "plaster", "sens", "digit", "caress", "pony", "formal", "electric", "adopt", "generaliz", "y", "sky", "conflat", "troubl", "siz", "fail", "happ", "cry"}
	suffixes := []string{"", "s", "es", "ies", "ss", "ed", "ing", "eed", "ational", "tional", "enci", "anci", "izer", "abli", "alli", "entli", "eli", "ousli", "ization", "ation", "ator", "alism", "iveness", "fulness", "ousness", "aliti", "iviti", "biliti", "icate", "ative", "alize", "iciti", "ical", "ful", "ness", "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "ou", "ism", "ate", "iti", "ous", "ive", "ize", "e", "ll", "y", "ly"}
	var words []string
	for _, s := range stems {
		for _, x := range suffixes {
			words = append(words, s+x)
		}
	}
	// Short words, a term longer than the stack's array, letters that are
	// not ASCII, and capitals (en lower-cases before stemming, but the
	// filter stems whatever it is given).
	words = append(words, "a", "is", "as", strings.Repeat("generalization", 6), "naïveties", "größeren", "Running", "HOPPING", "1,024", "x_y_z")
	want, got := stemBoth(strings.Join(words, " "))
	require.Len(t, got, len(words))
	require.Equal(t, want, got)
	require.Contains(t, got, "relat", "relational is stemmed")
}

func FuzzStemsAsBlevesPorterFilter(f *testing.F) {
	for _, seed := range []string{"hopping relational", "caresses ponies", "naïveties größeren", strings.Repeat("x", 70)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		want, got := stemBoth(text)
		require.Equal(t, want, got, "stems of %q", text)
	})
}

// TestStemmingKeepsKeywords checks that a keyword is left as it is, as
// bleve's filter leaves it.
func TestStemmingKeepsKeywords(t *testing.T) {
	tok := &analysis.Token{Term: []byte("running"), KeyWord: true}
	porterInPlace{}.Filter(analysis.TokenStream{tok})
	require.Equal(t, "running", string(tok.Term))
}

package bleveindex

import (
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/go-porterstemmer"
)

// porterInPlace is bleve's porter filter (stemmer_porter, the last of
// en's) without its two allocations a token, which were most of the
// analyser's 37,000 an upload. A term of up to maxStackTerm ASCII bytes
// is stemmed in a rune array on the stack, and its stem written over it
// (in a new array only if it were longer): a filter may, since bleve
// analyses a copy of a stored field's text, and en's lower-casing filter
// writes over terms too. Other terms are stemmed as bleve's filter does.
type porterInPlace struct{}

// maxStackTerm bounds the terms stemmed on the stack.
const maxStackTerm = 64

func (porterInPlace) Filter(input analysis.TokenStream) analysis.TokenStream {
	var buf [maxStackTerm]rune
	for _, token := range input {
		if token.KeyWord {
			continue
		}
		term := token.Term
		if !shortASCII(term) {
			token.Term = analysis.BuildTermFromRunes(porterstemmer.StemWithoutLowerCasing([]rune(string(term))))
			continue
		}
		runes := buf[:len(term)]
		for i, b := range term {
			runes[i] = rune(b)
		}
		// Optimistic: it writes over term, and allocates only if the
		// stem needs more room.
		token.Term = analysis.BuildTermFromRunesOptimistic(term, porterstemmer.StemWithoutLowerCasing(runes))
	}
	return input
}

// shortASCII reports whether term is ASCII of at most maxStackTerm bytes.
func shortASCII(term []byte) bool {
	if len(term) > maxStackTerm {
		return false
	}
	for _, b := range term {
		if b >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

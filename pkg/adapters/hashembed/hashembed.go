// Package hashembed is Lattice's built-in, offline embedder: signed feature
// hashing of words, word bigrams and character 3- to 5-grams into 1024
// dimensions, two hash positions per feature, then L2 normalisation.
//
// It measures lexical similarity — shared words, phrases and word pieces —
// not meaning: "car" and "automobile" are unrelated to it. It needs no model
// weights (none can be downloaded on these machines) and is always
// available; an OpenAI-compatible embedding API gives semantic vectors.
package hashembed

import (
	"context"
	"math"
	"unicode"
	"unicode/utf8"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// Dimensions of every vector.
const Dimensions = 1024

// Model is the id recorded with every vector this embedder makes.
const Model = "lattice-hash-v1-1024"

// Embedder implements ports.Embedder.
type Embedder struct{}

var _ ports.Embedder = Embedder{}

// Model names the embedding scheme.
func (Embedder) Model() string { return Model }

// Dimensions is 1024.
func (Embedder) Dimensions() int { return Dimensions }

// Embed embeds each text.
func (e Embedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = Vector(t)
	}
	return out, nil
}

// Feature weights: whole words and bigrams say more than word pieces.
const (
	wordWeight   = 1.0
	bigramWeight = 0.7
	gramWeight   = 0.35
)

// Vector embeds one text.
func Vector(text string) []float32 {
	var v [Dimensions]float64
	var lowBuf [1536]byte
	var spanBuf [256]span
	low, words := lowerWords(lowBuf[:0], spanBuf[:0], text)
	var paddedBuf [64]byte
	var startsBuf [64]int
	var gramsBuf [64]uint64
	padded := paddedBuf[:0]
	starts := startsBuf[:0] // byte offset of each rune of padded, then its length
	grams := gramsBuf[:0]
	gram, bigram := hashOf(fnvOffset, "c:", ""), hashOf(fnvOffset, "b:", "")
	word := hashOf(fnvOffset, "w:", "")
	// The additions keep the order in which the stored vectors were summed
	// (a word, its bigram, its 3-, then 4-, then 5-grams), as a
	// floating-point sum depends on it.
	for i, ws := range words {
		w := low[ws.from:ws.to]
		add(&v, hashBytes(word, w), wordWeight)
		if i > 0 {
			prev := low[words[i-1].from:words[i-1].to]
			add(&v, hashBytes((hashBytes(bigram, prev)^' ')*fnvPrime, w), bigramWeight)
		}
		// The character n-grams of "^"+w+"$", hashed in place: a word is
		// valid UTF-8, so the n runes from the j-th are the bytes from
		// starts[j] to starts[j+n]. FNV hashes a byte at a time, so each
		// n-gram's hash goes on from its (n-1)-gram's.
		padded = append(append(append(padded[:0], '^'), w...), '$')
		starts = starts[:0]
		for at := range string(padded) {
			starts = append(starts, at)
		}
		starts = append(starts, len(padded))
		runes := len(starts) - 1
		grams = grams[:0]
		for j := 0; j+3 <= runes; j++ {
			h := hashBytes(gram, padded[starts[j]:starts[j+3]])
			grams = append(grams, h)
			add(&v, h, gramWeight)
		}
		for n := 4; n <= 5; n++ {
			for j := 0; j+n <= runes; j++ {
				grams[j] = hashBytes(grams[j], padded[starts[j+n-1]:starts[j+n]])
				add(&v, grams[j], gramWeight)
			}
		}
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	out := make([]float32, Dimensions)
	if norm == 0 {
		return out
	}
	inv := 1 / math.Sqrt(norm)
	for i, x := range v {
		out[i] = float32(x * inv)
	}
	return out
}

// span is where a word is in the lower-cased text.
type span struct{ from, to int }

// lowerWords appends text's words, lower-cased, to low, and where each is
// to words: what strings.FieldsFunc(strings.ToLower(text), …) gave, in one
// pass and without a string per word. Every letter or digit (once
// lower-cased) belongs to a word; anything else, including a byte that is
// not UTF-8, ends one.
func lowerWords(low []byte, words []span, text string) ([]byte, []span) {
	from := len(low)
	end := func() {
		if len(low) > from {
			words = append(words, span{from, len(low)})
		}
		from = len(low)
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
				low = append(low, c)
			} else {
				end()
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		if r = unicode.ToLower(r); unicode.IsLetter(r) || unicode.IsNumber(r) {
			low = utf8.AppendRune(low, r)
		} else {
			end()
		}
	}
	end()
	return low, words
}

// FNV-1a, 64 bits (hash/fnv's New64a), computed over a feature's parts in
// place: building each feature as a string was most of the embedder's
// allocations and a fifth of an upload's processing.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashOf(h uint64, a, b string) uint64 {
	for i := 0; i < len(a); i++ {
		h = (h ^ uint64(a[i])) * fnvPrime
	}
	for i := 0; i < len(b); i++ {
		h = (h ^ uint64(b[i])) * fnvPrime
	}
	return h
}

func hashBytes(h uint64, p []byte) uint64 {
	for _, c := range p {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}

// add puts a feature, by its hash, in two positions, each with a sign from
// the hash, so collisions cancel out on average instead of piling up. The
// sign flips the weight's sign bit rather than branching: it is a coin
// toss, which a branch predictor cannot learn.
func add(v *[Dimensions]float64, sum uint64, weight float64) {
	w := math.Float64bits(weight)
	lo, hi := sum&math.MaxUint32, sum>>32
	v[lo%Dimensions] += math.Float64frombits(w ^ (lo>>20&1)<<63)
	v[hi%Dimensions] += math.Float64frombits(w ^ (hi>>20&1)<<63)
}

// Cosine is the cosine similarity of two normalised vectors.
func Cosine(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

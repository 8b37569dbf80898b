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
	"strings"
	"unicode"

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
	v := make([]float64, Dimensions)
	words := tokenize(text)
	var paddedBuf [64]byte
	var startsBuf [64]int
	padded := paddedBuf[:0]
	starts := startsBuf[:0] // byte offset of each rune of padded, then its length
	gram := hashOf(fnvOffset, "c:", "")
	for i, w := range words {
		add(v, hashOf(fnvOffset, "w:", w), wordWeight)
		if i > 0 {
			add(v, hashOf(hashOf(fnvOffset, "b:", words[i-1]), " ", w), bigramWeight)
		}
		// The character n-grams of "^"+w+"$", hashed in place: a word is
		// valid UTF-8 (tokenize splits on anything else), so the n runes
		// from the j-th are the bytes from starts[j] to starts[j+n].
		padded = append(append(append(padded[:0], '^'), w...), '$')
		starts = starts[:0]
		for at := range string(padded) {
			starts = append(starts, at)
		}
		starts = append(starts, len(padded))
		runes := len(starts) - 1
		for n := 3; n <= 5; n++ {
			for j := 0; j+n <= runes; j++ {
				add(v, hashBytes(gram, padded[starts[j]:starts[j+n]]), gramWeight)
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
// the hash, so collisions cancel out on average instead of piling up.
func add(v []float64, sum uint64, weight float64) {
	for k := 0; k < 2; k++ {
		bits := sum >> (32 * k)
		idx := int(bits % Dimensions)
		sign := 1.0
		if bits>>20&1 == 1 {
			sign = -1
		}
		v[idx] += sign * weight
	}
}

// tokenize lower-cases and splits on anything that is not a letter or digit.
func tokenize(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

// Cosine is the cosine similarity of two normalised vectors.
func Cosine(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

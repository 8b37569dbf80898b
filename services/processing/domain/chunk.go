// Package domain holds the processing service's rules: how extracted text
// is cut into chunks for indexing. It imports only the standard library.
package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Chunk is a piece of a document's text. Its id derives from the resource
// and the chunk's content, so processing the same content again yields the
// same ids and changes nothing downstream.
type Chunk struct {
	ID    string
	Index int
	Text  string
}

// ChunkOptions size the chunks, in bytes of text.
type ChunkOptions struct {
	Target  int // aim for chunks about this long (default 1000)
	Overlap int // carry about this much text from one chunk into the next (default 150)
}

// Split cuts text into chunks on paragraph boundaries, then sentence
// boundaries, then word boundaries, packing whole units up to the target
// size; each chunk after the first starts with the last sentences (up to
// Overlap bytes) of the one before, so a phrase split across chunks is
// still found whole in one of them.
func Split(resourceID, text string, opts ChunkOptions) []Chunk {
	if opts.Target <= 0 {
		opts.Target = 1000
	}
	if opts.Overlap < 0 || opts.Overlap >= opts.Target {
		opts.Overlap = 0
	} else if opts.Overlap == 0 {
		opts.Overlap = min(150, opts.Target/4)
	}
	units := unitsOf(text, opts.Target)
	var chunks []Chunk
	var cur []string
	size := 0
	carried := 0 // how many units at the start of cur are overlap from the previous chunk
	flush := func() {
		if len(cur) == 0 {
			return
		}
		body := strings.TrimSpace(strings.Join(cur, " "))
		if body != "" {
			chunks = append(chunks, Chunk{Index: len(chunks), Text: body})
		}
		// Start the next chunk with the tail of this one.
		var carry []string
		carrySize := 0
		for i := len(cur) - 1; i >= 0 && carrySize+len(cur[i]) <= opts.Overlap; i-- {
			carry = append([]string{cur[i]}, carry...)
			carrySize += len(cur[i]) + 1
		}
		cur, size, carried = carry, carrySize, len(carry)
	}
	for _, u := range units {
		if u == paragraphBreak {
			if size >= opts.Target/2 && len(cur) > carried { // a paragraph end is a good place to cut
				flush()
			}
			continue
		}
		if size > 0 && size+len(u)+1 > opts.Target {
			if len(cur) > carried {
				flush()
			}
			if size+len(u)+1 > opts.Target {
				cur, size, carried = nil, 0, 0 // the carried text and u do not fit together
			}
		}
		cur = append(cur, u)
		size += len(u) + 1
	}
	if len(cur) > carried { // not just the overlap of the last chunk
		flush()
	}
	seen := map[string]int{}
	for i := range chunks {
		id := chunkID(resourceID, chunks[i].Text)
		if n := seen[id]; n > 0 {
			// A repeated passage: number the repeats so ids stay unique
			// within the text and still depend only on its content.
			seen[id]++
			id = chunkID(resourceID, chunks[i].Text+"\x00"+strconv.Itoa(n))
		} else {
			seen[id] = 1
		}
		chunks[i].ID = id
	}
	return chunks
}

const paragraphBreak = "\x00"

// unitsOf splits text into sentences (and words, for sentences longer than
// max), with paragraph breaks as markers.
func unitsOf(text string, max int) []string {
	var out []string
	for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		para = strings.Join(strings.Fields(para), " ")
		if para == "" {
			continue
		}
		for _, s := range sentences(para) {
			if len(s) <= max {
				out = append(out, s)
				continue
			}
			out = append(out, wordsUpTo(s, max)...)
		}
		out = append(out, paragraphBreak)
	}
	return out
}

// sentences splits after ., ! or ? followed by a space and an upper-case
// letter, digit or quote — good enough for prose, and never mid-word.
func sentences(p string) []string {
	var out []string
	start := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if (c == '.' || c == '!' || c == '?') && i+2 < len(p) && p[i+1] == ' ' {
			r, _ := utf8.DecodeRuneInString(p[i+2:])
			if unicode.IsUpper(r) || unicode.IsDigit(r) || r == '"' || r == '\'' {
				out = append(out, p[start:i+1])
				start = i + 2
			}
		}
	}
	return append(out, p[start:])
}

// wordsUpTo cuts an over-long sentence into pieces of whole words.
func wordsUpTo(s string, max int) []string {
	var out []string
	var b strings.Builder
	for _, w := range strings.Fields(s) {
		for len(w) > max { // a "word" longer than a chunk: cut on a rune boundary
			cut := max
			for cut > 0 && !utf8.RuneStart(w[cut]) {
				cut--
			}
			out = append(out, w[:cut])
			w = w[cut:]
		}
		if b.Len() > 0 && b.Len()+1+len(w) > max {
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

func chunkID(resourceID, text string) string {
	sum := sha256.Sum256([]byte(resourceID + "\x00" + text))
	return hex.EncodeToString(sum[:16])
}

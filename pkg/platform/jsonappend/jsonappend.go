// Package jsonappend appends JSON values to a byte slice exactly as the
// standard library writes them, for the hot paths that cannot afford
// encoding/json's reflection: the access-log line (as log/slog's JSON
// handler writes it) and the gateway's usage batches (as encoding/json
// does). Tests elsewhere pin each use byte for byte against the library
// it stands in for.
//
// The string escaping follows Go's encoding/json and log/slog
// (BSD-style licence, Copyright 2010 and 2022 The Go Authors).
package jsonappend

import (
	"math"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Style is whose string escaping String follows.
type Style int

const (
	// Slog is log/slog's JSON handler: no HTML escaping, and control
	// characters other than \n, \r and \t as \u00XX.
	Slog Style = iota
	// Std is encoding/json's default: <, > and & escaped too, and \b and
	// \f in their short forms.
	Std
)

const hexDigits = "0123456789abcdef"

// String appends s quoted: ", \ and control characters escaped, invalid
// UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped, as style's library
// does.
func String(b []byte, s string, style Style) []byte {
	b = append(b, '"')
	plain := &plainSlog
	if style == Std {
		plain = &plainStd
	}
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs a look of its own: the
		// byte-at-a-time test was 8 % of the gateway's instructions
		// (bench/gateway -callgrind), its strings being mostly plain.
		if len(s)-i >= 8 {
			if i += plainWords(s[i:], style); i == len(s) {
				break
			}
		}
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch {
			case c == '\\' || c == '"':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b' && style == Std:
				b = append(b, '\\', 'b')
			case c == '\f' && style == Std:
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 is LINE SEPARATOR and U+2029 is PARAGRAPH SEPARATOR:
		// valid in JSON, not in JavaScript strings.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const (
	ones  = 0x0101010101010101 // 0x01 in every byte
	highs = 0x8080808080808080 // each byte's high bit
)

// plainWords is the length of s's longest prefix of whole eight-byte
// words that style writes as they are: no byte of them is other than
// ASCII, a control character, " or \\, or for Std <, > or &. Each test
// sets a byte's high bit when the byte is one it looks for, or may set it
// in a byte above one that is (a borrow), so a clear word is exact and a
// set one ends the prefix. For Std, " and & (0x22, 0x26) are tested as
// one, bit 2 aside, and < and > (0x3c, 0x3e) so, bit 1 aside.
func plainWords(s string, style Style) int {
	var quoteFold uint64
	if style == Std {
		quoteFold = ones * 0x04
	}
	n := 0
	for len(s) >= 8 {
		w := s[:8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		m := x | below(x, 0x20) | zeroIn((x^(ones*'"'))&^quoteFold) | zeroIn(x^(ones*'\\'))
		if style == Std {
			m |= zeroIn((x ^ (ones * '<')) &^ (ones * 0x02))
		}
		if m&highs != 0 {
			break
		}
		s, n = s[8:], n+8
	}
	return n
}

// plainSlog and plainStd hold true for the bytes each style writes as
// they are.
var plainSlog, plainStd = plainBytes(Slog), plainBytes(Std)

func plainBytes(style Style) (set [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		set[c] = c != '"' && c != '\\' && (style != Std || c != '<' && c != '>' && c != '&')
	}
	return set
}

// below sets the high bit of x's bytes under n (n <= 0x80), given they
// are ASCII: a byte with its own high bit set is caught by x itself.
func below(x uint64, n byte) uint64 { return (x - ones*uint64(n)) &^ x }

// zeroIn sets the high bit of x's zero bytes.
func zeroIn(x uint64) uint64 { return (x - ones) &^ x }

// Float appends a finite f as encoding/json does (and log/slog, which
// calls it): the shortest decimal, in exponent form below 1e-6 and from
// 1e21 on, its exponent without a leading zero. NaN and infinities have
// no JSON form; the caller keeps them away.
func Float(b []byte, f float64) []byte {
	if f >= 0.001 && f < 1e12 {
		// Durations in milliseconds made from microseconds (the access
		// line's and the usage record's) are whole thousandths: their
		// shortest decimal is the thousandths themselves, zeros trimmed,
		// since below 2^53 thousandths no two of them share a float. The
		// general path cost about 600 instructions (bench/gateway
		// -callgrind).
		if n := int64(math.Round(f * 1000)); float64(n)/1000 == f {
			return appendThousandths(b, n)
		}
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendThousandths appends n/1000 in decimal, without trailing zeros
// in its fraction (n > 0).
func appendThousandths(b []byte, n int64) []byte {
	b = strconv.AppendInt(b, n/1000, 10)
	return appendFraction(b, int(n%1000), 3)
}

// appendFraction appends frac, a fraction of 10^digits (digits <= 9), as
// '.' and its digits without trailing zeros; nothing when frac is 0.
func appendFraction(b []byte, frac, digits int) []byte {
	if frac == 0 {
		return b
	}
	var d [10]byte
	d[0] = '.'
	for i := digits; i >= 1; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
	}
	end := digits + 1
	for d[end-1] == '0' {
		end--
	}
	return append(b, d[:end]...)
}

// Finite reports whether Float can append f.
func Finite(f float64) bool { return !math.IsInf(f, 0) && !math.IsNaN(f) }

// Time appends t quoted in RFC 3339 with nanoseconds, as time.Time's
// MarshalJSON and log/slog do, for years 0 to 9999 (the caller's times are
// the clock's).
//
// The text up to the seconds, and the zone, change once a second for a
// clock's times: they are formatted once and kept, where formatting the
// whole cost about 800 instructions for each of the gateway's access line
// and usage record (bench/gateway -callgrind).
func Time(b []byte, t time.Time) []byte {
	sec, loc := t.Unix(), t.Location()
	// One second kept for UTC (usage records) and one for other zones
	// (log lines, in the local one), so that the two do not evict each
	// other on every request.
	last := &lastLocal
	if loc == time.UTC {
		last = &lastUTC
	}
	s := last.Load()
	if s == nil || s.unix != sec || s.loc != loc {
		var buf [40]byte
		whole := t.Truncate(time.Second).AppendFormat(buf[:0], time.RFC3339Nano)
		if len(whole) < 20 || len(whole) > len(second{}.text) || whole[10] != 'T' {
			// A year outside 0 to 9999: no shortcut.
			b = append(b, '"')
			b = t.AppendFormat(b, time.RFC3339Nano)
			return append(b, '"')
		}
		s = &second{unix: sec, loc: loc}
		s.n = copy(s.text[:], whole)
		last.Store(s)
	}
	b = append(b, '"')
	b = append(b, s.text[:19]...)
	b = appendFraction(b, t.Nanosecond(), 9)
	b = append(b, s.text[19:s.n]...)
	return append(b, '"')
}

// second is the text of one second in one location, for Time: the date
// and time ("2006-01-02T15:04:05", 19 bytes), then the zone ("Z" or
// "-07:00").
type second struct {
	unix int64
	loc  *time.Location
	text [32]byte
	n    int
}

// lastUTC and lastLocal are the seconds Time formatted last.
var lastUTC, lastLocal atomic.Pointer[second]

// Hex appends p in lower-case hexadecimal.
func Hex(b []byte, p []byte) []byte {
	for _, c := range p {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

package logwriter

import (
	"io"
	"time"
)

// NewPaced is New with writes at least every apart, for tests that must
// tell a write made early from one made at the interval's end.
func NewPaced(out io.Writer, maxPending int, every time.Duration) *Writer {
	return newWriter(out, maxPending, every)
}

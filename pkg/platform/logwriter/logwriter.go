// Package logwriter is the writer a serving process's log goes through.
// Every request writes an access-log line, and a write system call per line
// was about 3.5 % of the gateway's CPU under load (docs/benchmarks.md).
// Here a line is copied into memory and the caller goes on; one goroutine
// writes what has gathered, so the lines logged while one write is under
// way leave together in the next. When nothing else is waiting a line
// still leaves at once: there is no timer and no delay to tune.
package logwriter

import (
	"io"
	"sync"
)

// DefaultMaxPending is how many bytes may wait to be written before
// writers wait too (a stalled log pipe): memory stays bounded and no line
// is dropped.
const DefaultMaxPending = 1 << 20

// Writer batches the lines written to it into fewer writes to its
// destination, in the order they were written. Each Write must be one
// whole line (slog's handlers write a record in one call), so that a
// batch never splits a line. Close writes what is left; a process that
// dies without it (an unrecovered panic) loses the lines still waiting,
// at most those of one write's duration.
type Writer struct {
	out io.Writer
	max int

	mu      sync.Mutex
	room    *sync.Cond // broadcast when the waiting lines have been taken
	waiting []byte     // lines written and not yet taken
	woken   bool       // the writer goroutine has been woken for waiting
	closed  bool
	err     error // the destination's last write error

	wake chan struct{} // capacity 1: sent only when woken was false
	done chan struct{} // closed when the writer goroutine has returned
}

// New starts a Writer over out. maxPending bounds the bytes waiting
// (DefaultMaxPending when ≤ 0).
func New(out io.Writer, maxPending int) *Writer {
	if maxPending <= 0 {
		maxPending = DefaultMaxPending
	}
	w := &Writer{out: out, max: maxPending, wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.room = sync.NewCond(&w.mu)
	go w.run()
	return w
}

// Write queues p, one line, and returns at once unless maxPending bytes
// are already waiting. It reports the destination's last write error
// (the line is queued all the same), so a broken log shows. After Close
// it writes p itself.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	for !w.closed && len(w.waiting) > 0 && len(w.waiting)+len(p) > w.max {
		w.room.Wait()
	}
	if w.closed {
		// The writer goroutine may still be writing the last batch.
		w.mu.Unlock()
		<-w.done
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.out.Write(p)
	}
	w.waiting = append(w.waiting, p...)
	if !w.woken {
		// Never blocks: woken is false only once the last token was taken.
		w.woken = true
		w.wake <- struct{}{}
	}
	err := w.err
	w.err = nil
	w.mu.Unlock()
	return len(p), err
}

// Close writes the lines still waiting, stops the writer goroutine and
// returns the destination's last write error. Writes after Close go
// straight to the destination.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.room.Broadcast()
	close(w.wake)
	w.mu.Unlock()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// run writes each gathered batch until Close, then what is left.
func (w *Writer) run() {
	defer close(w.done)
	var spare []byte // the previous batch's buffer, reused
	for range w.wake {
		spare = w.flush(spare)
	}
	w.flush(spare)
}

// flush takes the waiting lines, leaving spare in their place, writes them
// in one call, and returns their buffer for the next time.
func (w *Writer) flush(spare []byte) []byte {
	w.mu.Lock()
	batch := w.waiting
	w.waiting = spare[:0]
	w.woken = false
	w.room.Broadcast()
	w.mu.Unlock()
	if len(batch) > 0 {
		if _, err := w.out.Write(batch); err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
		}
	}
	// A batch that grew past the bound (a stall) is not kept: the next
	// ones are small again.
	if cap(batch) > w.max {
		return nil
	}
	return batch[:0]
}

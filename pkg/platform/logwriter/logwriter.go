// Package logwriter is the writer a serving process's log goes through.
// Every request writes an access-log line, and a write system call per line
// was about 3.5 % of the gateway's CPU under load (docs/benchmarks.md).
// Here a line is copied into memory and the caller goes on; one goroutine
// writes what has gathered. A line written after a quiet spell leaves at
// once; under load, writes are at least MinInterval apart, so one carries
// every line of its interval (ADR 0036, ADR 0046).
package logwriter

import (
	"io"
	"sync"
	"time"
)

// DefaultMaxPending is how many bytes may wait to be written before
// writers wait too (a stalled log pipe): memory stays bounded and no line
// is dropped.
const DefaultMaxPending = 1 << 20

// MinInterval is the least time between two writes to the destination.
// Lines written while the writer goroutine waits join the next write: at
// 20,000 requests a second a write carries about 40 lines, where without
// the wait the goroutine woke and wrote for nearly every line.
const MinInterval = 2 * time.Millisecond

// Writer batches the lines written to it into fewer writes to its
// destination, in the order they were written. Each Write must be one
// whole line (slog's handlers write a record in one call), so that a
// batch never splits a line. Close writes what is left at once; a process
// that dies without it (an unrecovered panic) loses the lines still
// waiting, at most those of one MinInterval and one write's duration.
type Writer struct {
	out   io.Writer
	max   int
	every time.Duration // MinInterval but in tests

	mu      sync.Mutex
	room    *sync.Cond // broadcast when the waiting lines have been taken
	waiting []byte     // lines written and not yet taken
	woken   bool       // the writer goroutine has been woken for waiting
	hurried bool       // it has been told half the bound is waiting
	closed  bool
	err     error // the destination's last write error

	wake    chan struct{} // capacity 1: sent only when woken was false
	hurry   chan struct{} // capacity 1: sent only when hurried was false
	closing chan struct{} // closed by Close: the writer goroutine stops waiting
	done    chan struct{} // closed when the writer goroutine has returned
}

// New starts a Writer over out. maxPending bounds the bytes waiting
// (DefaultMaxPending when ≤ 0).
func New(out io.Writer, maxPending int) *Writer { return newWriter(out, maxPending, MinInterval) }

// newWriter is New with writes at least every apart.
func newWriter(out io.Writer, maxPending int, every time.Duration) *Writer {
	if maxPending <= 0 {
		maxPending = DefaultMaxPending
	}
	w := &Writer{out: out, max: maxPending, every: every, wake: make(chan struct{}, 1), hurry: make(chan struct{}, 1), closing: make(chan struct{}), done: make(chan struct{})}
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
	switch {
	case !w.woken:
		// Never blocks: woken is false only once the last token was taken.
		w.woken = true
		w.wake <- struct{}{}
	case !w.hurried && len(w.waiting) >= w.max/2:
		// A flood: the goroutine writes now rather than at the end of
		// its interval, before writers have to wait for room.
		w.hurried = true
		w.hurry <- struct{}{}
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
	close(w.closing)
	w.room.Broadcast()
	close(w.wake)
	w.mu.Unlock()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// run writes each gathered batch until Close, then what is left. A batch
// that comes within MinInterval of the last write waits out the rest of
// it, gathering more lines, unless half the bound is waiting; one after a
// quiet spell leaves at once.
func (w *Writer) run() {
	defer close(w.done)
	var spare []byte // the previous batch's buffer, reused
	var last time.Time
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	for range w.wake {
		if d := w.every - time.Since(last); d > 0 {
			wait.Reset(d)
			select {
			case <-wait.C:
			case <-w.hurry:
				wait.Stop()
			case <-w.closing:
				wait.Stop()
			}
		}
		spare = w.flush(spare)
		last = time.Now()
	}
	w.flush(spare)
}

// flush takes the waiting lines, leaving spare in their place, writes them
// in one call, and returns their buffer for the next time.
func (w *Writer) flush(spare []byte) []byte {
	w.mu.Lock()
	batch := w.waiting
	w.waiting = spare[:0]
	w.woken, w.hurried = false, false
	select {
	case <-w.hurry: // about the batch taken now
	default:
	}
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

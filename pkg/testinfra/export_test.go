package testinfra

import "time"

// SetDropWait shortens dropWait for a test that crosses it; the returned
// func restores it. Not for parallel tests: MySQL's cleanups read it.
func SetDropWait(d time.Duration) (restore func()) {
	was := dropWait
	dropWait = d
	return func() { dropWait = was }
}

//go:build !linux

package vecindex

// newBlock returns a zeroed block of n values.
func newBlock(n int) []float32 { return make([]float32, n) }

package vecindex

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// newBlock returns a zeroed block of n values, which the kernel is asked
// to back with huge pages (ADR 0062). An upload's 340 rows of 1,024
// values touch 2.8 MB of new memory, rows and columns: in 4 KiB pages, a
// column write misses the TLB nearly every time, and the whole add took
// 1.7–4 times the user CPU (BenchmarkAddUploads). A 2 MiB page needs one
// entry for 512 of them. The advice is only that: with transparent huge
// pages off (never), or none free, the block is made of small pages, and
// works the same.
func newBlock(n int) []float32 {
	b := make([]float32, n)
	if n > 0 {
		_ = unix.Madvise(unsafe.Slice((*byte)(unsafe.Pointer(&b[0])), n*4), unix.MADV_HUGEPAGE)
	}
	return b
}

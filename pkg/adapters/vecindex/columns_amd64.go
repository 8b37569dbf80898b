package vecindex

import "golang.org/x/sys/cpu"

// fusedColumns says whether addColumns4 may run: it needs AVX2's 256-bit
// registers and FMA.
var fusedColumns = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// addColumns4 is in columns_amd64.s.
//
//go:noescape
func addColumns4(sc *float32, n int, cols *[4]*float32, w *[4]float32)

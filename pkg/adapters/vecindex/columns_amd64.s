#include "textflag.h"

// func addColumns4(sc *float32, n int, cols *[4]*float32, w *[4]float32)
//
// sc[i] += w[0]*cols[0][i] + w[1]*cols[1][i] + w[2]*cols[2][i] +
// w[3]*cols[3][i] for i < n, n a multiple of 8: eight rows a step, the
// four products fused into one accumulator, which is loaded and stored
// once for four columns.
TEXT ·addColumns4(SB), NOSPLIT, $0-32
	MOVQ sc+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ cols+16(FP), SI
	MOVQ w+24(FP), DX
	MOVQ 0(SI), R8
	MOVQ 8(SI), R9
	MOVQ 16(SI), R10
	MOVQ 24(SI), R11
	VBROADCASTSS 0(DX), Y4
	VBROADCASTSS 4(DX), Y5
	VBROADCASTSS 8(DX), Y6
	VBROADCASTSS 12(DX), Y7
	XORQ AX, AX

loop:
	CMPQ AX, CX
	JGE  done
	VMOVUPS     (DI)(AX*4), Y0
	VFMADD231PS (R8)(AX*4), Y4, Y0
	VFMADD231PS (R9)(AX*4), Y5, Y0
	VFMADD231PS (R10)(AX*4), Y6, Y0
	VFMADD231PS (R11)(AX*4), Y7, Y0
	VMOVUPS     Y0, (DI)(AX*4)
	ADDQ        $8, AX
	JMP         loop

done:
	VZEROUPPER
	RET

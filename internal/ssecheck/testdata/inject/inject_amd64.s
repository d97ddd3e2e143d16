#include "textflag.h"

// All three: p[0:8] += n * p[0:8] (in a loop of n iterations, n >= 1), with
// the loop counter also copied into X5 on each iteration. The accumulator Y1
// starts as VXORPS X1, X1, X1 (VEX on xmm: upper halves stay clean), so the
// upper halves are clean on loop entry and dirty only from the second
// iteration on, i.e. the first instruction of the loop body is executed dirty
// only through the loop's back edge.

// func sseLeak(p *[8]float32, n int)
TEXT ·sseLeak(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), AX
	MOVQ n+8(FP), CX
	VXORPS X1, X1, X1
leakloop:
	MOVQ CX, X5 // legacy SSE (66 REX.W 0F 6E): the injected site
	VMOVUPS (AX), Y0
	VADDPS Y0, Y1, Y1
	DECQ CX
	JNZ leakloop
	VMOVUPS Y1, (AX)
	VZEROUPPER
	RET

// func vexClean(p *[8]float32, n int)
TEXT ·vexClean(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), AX
	MOVQ n+8(FP), CX
	VXORPS X1, X1, X1
cleanloop:
	VMOVQ CX, X5 // VEX form: no penalty
	VMOVUPS (AX), Y0
	VADDPS Y0, Y1, Y1
	DECQ CX
	JNZ cleanloop
	VMOVUPS Y1, (AX)
	VZEROUPPER
	RET

// func noVzeroupper(p *[8]float32, n int)
TEXT ·noVzeroupper(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), AX
	MOVQ n+8(FP), CX
	VXORPS X1, X1, X1
dirtyloop:
	VMOVQ CX, X5
	VMOVUPS (AX), Y0
	VADDPS Y0, Y1, Y1
	DECQ CX
	JNZ dirtyloop
	VMOVUPS Y1, (AX)
	RET // upper halves still dirty: the ret site

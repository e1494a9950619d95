//go:build amd64 && !purego

#include "textflag.h"

// func max2x2Row8(dst, r0, r1 *float32, n, c, sstep int)
//
// For n output pixels of a 2×2 max pool, eight channels at a time (c must be
// a multiple of 8, n ≥ 1):
//	dst[i*c + ch] = max(max(r0[j], r0[j+c]), max(r1[j], r1[j+c])), j = i*sstep + ch
// with exactly the semantics of Go's builtin max (NaN wins, -0 < +0), which
// the compiler implements as -(min(-x, -y) | min(-y, -x)) over MINSS: the
// same instructions, eight lanes wide.
TEXT ·max2x2Row8(SB), NOSPLIT, $0-48
	MOVL         $0x80000000, R8
	MOVQ         R8, X15
	VPBROADCASTD X15, Y15     // sign bit in every lane
	MOVQ         c+32(FP), R12
	SHLQ         $2, R12      // R12 = 4c
	MOVQ         sstep+40(FP), R11
	SHLQ         $2, R11
	SUBQ         R12, R11     // step from the end of a pixel's channels to the next pixel
	MOVQ         r0+8(FP), AX
	MOVQ         r1+16(FP), BX
	MOVQ         dst+0(FP), DX
	MOVQ         n+24(FP), R10

mxpixel:
	MOVQ R12, R13

mxblock:
	VXORPS  (AX), Y15, Y0
	VXORPS  (AX)(R12*1), Y15, Y1
	VXORPS  (BX), Y15, Y2
	VXORPS  (BX)(R12*1), Y15, Y3
	VMINPS  Y1, Y0, Y4
	VMINPS  Y0, Y1, Y5
	VORPS   Y5, Y4, Y4        // min(-a, -b)
	VMINPS  Y3, Y2, Y5
	VMINPS  Y2, Y3, Y6
	VORPS   Y6, Y5, Y5        // min(-c, -d)
	VMINPS  Y5, Y4, Y6
	VMINPS  Y4, Y5, Y7
	VORPS   Y7, Y6, Y6
	VXORPS  Y15, Y6, Y6       // max of the four
	VMOVUPS Y6, (DX)
	ADDQ    $32, AX
	ADDQ    $32, BX
	ADDQ    $32, DX
	SUBQ    $32, R13
	JNZ     mxblock
	ADDQ    R11, AX
	ADDQ    R11, BX
	DECQ    R10
	JNZ     mxpixel
	VZEROUPPER
	RET

//go:build amd64 && !purego

#include "textflag.h"

// MAXZERO sets dst = max(src, 0) with the semantics of Go's builtin max
// (NaN wins, max(-0, 0) = +0), the way the compiler does it:
// -(min(-x, -0) | min(-0, -x)). Y15 holds -0 (the sign bit) in every lane.
#define MAXZERO(src, t1, t2, dst) \
	VXORPS Y15, src, t1 \
	VMINPS Y15, t1, t2  \
	VMINPS t1, Y15, dst \
	VORPS  t2, dst, dst \
	VXORPS Y15, dst, dst

// func affineAct8(x, bias, scale, shift *float32, n, c, parts, act int)
//
// For n rows of c values (c a multiple of 8):
//	x = act(((x + bias) · scale) + shift)
// per channel, each of the three steps done only when its bit is set in
// parts (1 bias, 2 scale, 4 shift), act an Activation (0 Linear, 1 ReLU,
// 2 ReLU6, 3 Leaky). The results are bit-identical to nn's Go code:
// ReLU keeps -0 and NaN (v < 0 ? 0 : v), ReLU6 and Leaky use Go's min/max.
TEXT ·affineAct8(SB), NOSPLIT, $0-64
	MOVL         $0x80000000, AX
	MOVQ         AX, X15
	VPBROADCASTD X15, Y15            // -0
	MOVL         $0x3dcccccd, AX     // float32(0.1)
	MOVQ         AX, X14
	VPBROADCASTD X14, Y14
	MOVL         $0x40c00000, AX     // 6
	MOVQ         AX, X13
	VPBROADCASTD X13, Y13
	VXORPS       Y12, Y12, Y12       // +0
	MOVQ         x+0(FP), DI
	MOVQ         n+32(FP), R10
	MOVQ         c+40(FP), R12
	SHLQ         $2, R12             // bytes per row
	MOVQ         parts+48(FP), R9
	MOVQ         act+56(FP), R8
	TESTQ        R10, R10
	JZ           done

row:
	MOVQ bias+8(FP), SI
	MOVQ scale+16(FP), DX
	MOVQ shift+24(FP), CX
	MOVQ R12, R13

block:
	VMOVUPS (DI), Y0
	TESTQ   $1, R9
	JZ      noBias
	VADDPS  (SI), Y0, Y0

noBias:
	TESTQ  $2, R9
	JZ     noScale
	VMULPS (DX), Y0, Y0

noScale:
	TESTQ  $4, R9
	JZ     act
	VADDPS (CX), Y0, Y0

act:
	CMPQ R8, $1
	JEQ  relu
	CMPQ R8, $2
	JEQ  relu6
	CMPQ R8, $3
	JEQ  leaky
	JMP  store

relu:
	VCMPPS  $1, Y12, Y0, Y1          // lanes with x < 0
	VANDNPS Y0, Y1, Y0               // x where not x < 0, else +0
	JMP     store

relu6:
	MAXZERO(Y0, Y1, Y2, Y3)
	VMINPS Y13, Y3, Y4               // min(v, 6) | min(6, v): Go's min
	VMINPS Y3, Y13, Y0
	VORPS  Y4, Y0, Y0
	JMP    store

leaky:
	VMULPS Y14, Y0, Y4               // m = 0.1·t
	VSUBPS Y4, Y0, Y5                // t - m
	MAXZERO(Y5, Y1, Y2, Y3)
	VADDPS Y4, Y3, Y0                // max(t - m, 0) + m

store:
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, CX
	SUBQ    $32, R13
	JNZ     block
	DECQ    R10
	JNZ     row

done:
	VZEROUPPER
	RET

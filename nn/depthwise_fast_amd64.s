//go:build amd64 && !purego

#include "textflag.h"

// func dw3x3Row8(dst, r0, r1, r2, w *float32, n, c, sstep int)
//
// For n output pixels of one row of a 3×3 depthwise convolution:
//	dst[i*c + ch] = Σ_{ky,kx} r_ky[i*sstep + kx*c + ch] · w[(ky*3 + kx)*c + ch]
// eight channels at a time (c must be a multiple of 8, n ≥ 1), the nine
// products summed in (ky, kx) order with fused multiply-adds. The nine
// weight vectors of a channel block stay in Y0-Y8 for the whole row.
TEXT ·dw3x3Row8(SB), NOSPLIT, $0-64
	MOVQ c+48(FP), R12
	SHLQ $2, R12           // R12 = 4c: bytes between taps, and between output pixels
	MOVQ sstep+56(FP), R11
	SHLQ $2, R11           // bytes between the inputs of consecutive output pixels
	XORQ R13, R13          // byte offset of the channel block

block:
	CMPQ R13, R12
	JGE  done
	MOVQ    w+32(FP), R8
	ADDQ    R13, R8
	VMOVUPS (R8), Y0
	VMOVUPS (R8)(R12*1), Y1
	VMOVUPS (R8)(R12*2), Y2
	LEAQ    (R8)(R12*2), R8
	ADDQ    R12, R8
	VMOVUPS (R8), Y3
	VMOVUPS (R8)(R12*1), Y4
	VMOVUPS (R8)(R12*2), Y5
	LEAQ    (R8)(R12*2), R8
	ADDQ    R12, R8
	VMOVUPS (R8), Y6
	VMOVUPS (R8)(R12*1), Y7
	VMOVUPS (R8)(R12*2), Y8
	MOVQ    r0+8(FP), AX
	ADDQ    R13, AX
	MOVQ    r1+16(FP), BX
	ADDQ    R13, BX
	MOVQ    r2+24(FP), CX
	ADDQ    R13, CX
	MOVQ    dst+0(FP), DX
	ADDQ    R13, DX
	MOVQ    n+40(FP), R10

pixel:
	VMULPS      (AX), Y0, Y9
	VFMADD231PS (AX)(R12*1), Y1, Y9
	VFMADD231PS (AX)(R12*2), Y2, Y9
	VFMADD231PS (BX), Y3, Y9
	VFMADD231PS (BX)(R12*1), Y4, Y9
	VFMADD231PS (BX)(R12*2), Y5, Y9
	VFMADD231PS (CX), Y6, Y9
	VFMADD231PS (CX)(R12*1), Y7, Y9
	VFMADD231PS (CX)(R12*2), Y8, Y9
	VMOVUPS     Y9, (DX)
	ADDQ        R11, AX
	ADDQ        R11, BX
	ADDQ        R11, CX
	ADDQ        R12, DX
	DECQ        R10
	JNZ         pixel
	ADDQ        $32, R13
	JMP         block

done:
	VZEROUPPER
	RET

// func dw3x3Px8(dst, r0, r1, r2, w *float32, n, c, sstep int)
//
// The same computation as dw3x3Row8 in the other loop order: pixel by pixel,
// all channel blocks of a pixel in turn, the weights read from memory. With
// hundreds of channels the row order would stride through memory by whole
// pixels (kilobytes) and miss the TLB and the prefetchers on every load;
// this order reads all three rows sequentially.
TEXT ·dw3x3Px8(SB), NOSPLIT, $0-64
	MOVQ c+48(FP), R12
	SHLQ $2, R12           // R12 = 4c
	MOVQ sstep+56(FP), R11
	SHLQ $2, R11
	SUBQ R12, R11          // input step from the end of a pixel's channels to the next pixel
	MOVQ r0+8(FP), AX
	MOVQ r1+16(FP), BX
	MOVQ r2+24(FP), CX
	MOVQ dst+0(FP), DX
	MOVQ w+32(FP), R8
	LEAQ (R8)(R12*2), SI
	ADDQ R12, SI           // SI = weights of kernel row 1
	LEAQ (SI)(R12*2), DI
	ADDQ R12, DI           // DI = weights of kernel row 2
	MOVQ n+40(FP), R10

pxpixel:
	MOVQ R12, R13

pxblock:
	VMOVUPS     (AX), Y1
	VMULPS      (R8), Y1, Y0
	VMOVUPS     (AX)(R12*1), Y2
	VFMADD231PS (R8)(R12*1), Y2, Y0
	VMOVUPS     (AX)(R12*2), Y3
	VFMADD231PS (R8)(R12*2), Y3, Y0
	VMOVUPS     (BX), Y4
	VFMADD231PS (SI), Y4, Y0
	VMOVUPS     (BX)(R12*1), Y5
	VFMADD231PS (SI)(R12*1), Y5, Y0
	VMOVUPS     (BX)(R12*2), Y6
	VFMADD231PS (SI)(R12*2), Y6, Y0
	VMOVUPS     (CX), Y7
	VFMADD231PS (DI), Y7, Y0
	VMOVUPS     (CX)(R12*1), Y8
	VFMADD231PS (DI)(R12*1), Y8, Y0
	VMOVUPS     (CX)(R12*2), Y9
	VFMADD231PS (DI)(R12*2), Y9, Y0
	VMOVUPS     Y0, (DX)
	ADDQ        $32, AX
	ADDQ        $32, BX
	ADDQ        $32, CX
	ADDQ        $32, DX
	ADDQ        $32, R8
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $32, R13
	JNZ         pxblock
	SUBQ        R12, R8
	SUBQ        R12, SI
	SUBQ        R12, DI
	ADDQ        R11, AX
	ADDQ        R11, BX
	ADDQ        R11, CX
	DECQ        R10
	JNZ         pxpixel
	VZEROUPPER
	RET

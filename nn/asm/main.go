// Command asm generates the AVX2+FMA kernels of package nn with avo. It
// lives in its own module so that the facerec module does not depend on
// avo. Package nn runs it through `go generate`, once per group of kernels,
// each group into the files of the op it serves:
//
//	go run -C asm . -kernels conv -out ../conv_direct_amd64.s -stubs ../conv_direct_amd64.go -pkg nn
//	go run -C asm . -kernels depthwise -out ../depthwise_amd64.s -stubs ../depthwise_amd64.go -pkg nn
//	go run -C asm . -kernels pool -out ../pool_amd64.s -stubs ../pool_amd64.go -pkg nn
//	go run -C asm . -kernels epilogue -out ../epilogue_amd64.s -stubs ../epilogue_amd64.go -pkg nn
//	go run -C asm . -kernels elementwise -out ../elementwise_amd64.s -stubs ../elementwise_amd64.go -pkg nn
//
// The kernels work on eight float32 lanes (ymm registers). They keep the
// float32 semantics of the Go code they replace, which the tests in package
// nn check: the elementwise kernels bit for bit (including NaN and signed
// zeros), the convolutions to within the rounding that fused multiply-adds
// save; except that all but the pooling kernel flush subnormal operands and
// results to zero (see flushSubnormals).
package main

import (
	"flag"
	"fmt"
	"log"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

var group = flag.String("kernels", "", "the group of kernels to generate: conv, depthwise, pool, epilogue or elementwise")

func main() {
	flag.Parse()
	ConstraintExpr("amd64,!purego")
	switch *group {
	case "conv":
		genConv3x3C3(16, 4)
		genConv3x3C3(32, 2)
	case "depthwise":
		genDWRow()
		genDWPixel()
	case "pool":
		genMax2x2()
	case "epilogue":
		genAffineAct()
	case "elementwise":
		genAdd(false)
		genAdd(true)
		genPReLU()
	default:
		log.Fatalf("unknown -kernels %q: want conv, depthwise, pool, epilogue or elementwise", *group)
	}
	Generate()
}

// ymm is the register Yi.
// flushSubnormals sets the DAZ and FTZ bits of MXCSR, so that the kernel
// reads subnormal operands as zero and writes zero for subnormal results,
// and returns the slot holding the caller's MXCSR, which every return must
// restore. It must come first: it uses AX before any argument is loaded.
// Networks with dead channels (MobileFaceNet's has weights near 1e-30)
// make subnormal activations, and on Intel cores every arithmetic
// instruction that meets one takes a microcode assist, which made the
// network several times slower there. Changing MXCSR inside the kernel is
// safe because Go never preempts an assembly function asynchronously.
func flushSubnormals() Mem {
	saved := AllocLocal(8)
	STMXCSR(saved)
	MOVL(saved, EAX)
	ORL(U32(0x8040), EAX) // DAZ (bit 6) | FTZ (bit 15)
	MOVL(EAX, saved.Offset(4))
	LDMXCSR(saved.Offset(4))
	return saved
}

func ymm(i int) VecPhysical {
	return []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}[i]
}

// at is the address base + index*scale + disp.
func at(base, index Register, scale uint8, disp int) Mem {
	return Mem{Base: base, Index: index, Scale: scale, Disp: disp}
}

// broadcast32 sets every lane of v to the float32 with the given bits.
func broadcast32(bits uint32, v VecPhysical) {
	r := GP32()
	MOVL(U32(bits), r)
	x := XMM()
	MOVD(r, x)
	VPBROADCASTD(x, v)
}

// genConv3x3C3 emits conv3x3c3x<cout>, the direct 3×3 convolution of a
// 3-channel image into cout channels, p pixels at a time: p·cout/8
// accumulators, so that the 27-long chains of dependent FMAs of different
// pixels overlap and each weight vector loaded serves all of them. The rest
// of the pixels are done one by one.
func genConv3x3C3(cout, p int) {
	name := fmt.Sprintf("conv3x3c3x%d", cout)
	TEXT(name, NOSPLIT, "func(dst, src, w *float32, n, sstep, rowStride int)")
	mxcsr := flushSubnormals()
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s computes n ≥ 1 output pixels of a 3×3 convolution of a 3-channel", name),
		fmt.Sprintf("image into %d channels:", cout),
		"",
		fmt.Sprintf("\tdst[i*%d + co] = Σ src[ky*rowStride + i*sstep + kx*3 + ci]·w[((3ky+kx)*3+ci)*%d + co]", cout, cout),
		"",
		"with rowStride and sstep in floats, each sum in (ky, kx, ci) order with",
		"fused multiply-adds.",
	)
	nacc := cout / 8
	acc := func(px, j int) VecPhysical { return ymm(px*nacc + j) }
	wreg := func(j int) VecPhysical { return ymm(14 - nacc + j) } // Y12-Y13 or Y10-Y13
	bcast := func(px int) VecPhysical { return ymm(14 + px%2) }
	rows := []Register{RBX, RCX, RSI, RDI}[:p]

	Load(Param("dst"), RDX)
	Load(Param("src"), RAX)
	Load(Param("w"), R8)
	Load(Param("n"), R10)
	Comment("R11: bytes between the windows of consecutive output pixels")
	Load(Param("sstep"), R11)
	SHLQ(Imm(2), R11)
	Comment("R12: bytes between input rows")
	Load(Param("rowStride"), R12)
	SHLQ(Imm(2), R12)

	Label("block")
	CMPQ(R10, Imm(uint64(p)))
	JLT(LabelRef("tail"))
	for px := 0; px < p; px++ {
		for j := 0; j < nacc; j++ {
			VXORPS(acc(px, j), acc(px, j), acc(px, j))
		}
	}
	for ky := 0; ky < 3; ky++ {
		if ky == 0 {
			MOVQ(RAX, RBX)
		} else {
			LEAQ(at(RAX, R12, uint8(ky), 0), RBX)
		}
		for px := 1; px < p; px++ {
			LEAQ(at(rows[px-1], R11, 1, 0), rows[px])
		}
		for t := 0; t < 9; t++ {
			tap := ky*9 + t
			for j := 0; j < nacc; j++ {
				VMOVUPS(Mem{Base: R8, Disp: (tap*cout + 8*j) * 4}, wreg(j))
			}
			for px := 0; px < p; px++ {
				VBROADCASTSS(Mem{Base: rows[px], Disp: 4 * t}, bcast(px))
				for j := 0; j < nacc; j++ {
					VFMADD231PS(wreg(j), bcast(px), acc(px, j))
				}
			}
		}
	}
	for px := 0; px < p; px++ {
		for j := 0; j < nacc; j++ {
			VMOVUPS(acc(px, j), Mem{Base: RDX, Disp: (px*cout + 8*j) * 4})
		}
	}
	LEAQ(at(RAX, R11, uint8(p), 0), RAX)
	ADDQ(U32(p*cout*4), RDX)
	SUBQ(Imm(uint64(p)), R10)
	JMP(LabelRef("block"))

	Label("tail")
	TESTQ(R10, R10)
	JZ(LabelRef("done"))
	for j := 0; j < nacc; j++ {
		VXORPS(acc(0, j), acc(0, j), acc(0, j))
	}
	MOVQ(RAX, RBX)
	LEAQ(at(RAX, R12, 1, 0), RCX)
	LEAQ(at(RAX, R12, 2, 0), RSI)
	for ky, row := range []Register{RBX, RCX, RSI} {
		for t := 0; t < 9; t++ {
			tap := ky*9 + t
			VBROADCASTSS(Mem{Base: row, Disp: 4 * t}, Y14)
			for j := 0; j < nacc; j++ {
				VFMADD231PS(Mem{Base: R8, Disp: (tap*cout + 8*j) * 4}, Y14, acc(0, j))
			}
		}
	}
	for j := 0; j < nacc; j++ {
		VMOVUPS(acc(0, j), Mem{Base: RDX, Disp: 32 * j})
	}
	ADDQ(R11, RAX)
	ADDQ(U32(cout*4), RDX)
	DECQ(R10)
	JMP(LabelRef("tail"))

	Label("done")
	LDMXCSR(mxcsr)
	VZEROUPPER()
	RET()
}

// genDWRow emits dw3x3Row8, the depthwise 3×3 kernel that walks a channel
// block of eight along the whole output row with its nine weight vectors
// in Y0-Y8.
func genDWRow() {
	TEXT("dw3x3Row8", NOSPLIT, "func(dst, r0, r1, r2, w *float32, n, c, sstep int)")
	mxcsr := flushSubnormals()
	Pragma("noescape")
	Doc(
		"dw3x3Row8 computes n ≥ 1 output pixels of one row of a 3×3 depthwise",
		"convolution from three input rows, eight channels at a time (c must be a",
		"multiple of 8):",
		"",
		"\tdst[i*c + ch] = Σ r_ky[i*sstep + kx*c + ch]·w[(3ky+kx)*c + ch]",
		"",
		"the nine products summed in (ky, kx) order with fused multiply-adds. The",
		"weights of a channel block stay in registers for the whole row.",
	)
	Comment("R12 = 4c: bytes between taps, and between output pixels")
	Load(Param("c"), R12)
	SHLQ(Imm(2), R12)
	Comment("R11: bytes between the inputs of consecutive output pixels")
	Load(Param("sstep"), R11)
	SHLQ(Imm(2), R11)
	Comment("R13: byte offset of the channel block")
	XORQ(R13, R13)

	Label("block")
	CMPQ(R13, R12)
	JGE(LabelRef("done"))
	Load(Param("w"), R8)
	ADDQ(R13, R8)
	for ky := 0; ky < 3; ky++ {
		if ky > 0 {
			LEAQ(at(R8, R12, 2, 0), R8)
			ADDQ(R12, R8)
		}
		VMOVUPS(Mem{Base: R8}, ymm(3*ky))
		VMOVUPS(at(R8, R12, 1, 0), ymm(3*ky+1))
		VMOVUPS(at(R8, R12, 2, 0), ymm(3*ky+2))
	}
	for _, r := range []struct {
		param string
		reg   Register
	}{{"r0", RAX}, {"r1", RBX}, {"r2", RCX}, {"dst", RDX}} {
		Load(Param(r.param), r.reg)
		ADDQ(R13, r.reg)
	}
	Load(Param("n"), R10)

	Label("pixel")
	VMULPS(Mem{Base: RAX}, Y0, Y9)
	for ky, row := range []Register{RAX, RBX, RCX} {
		for kx := 0; kx < 3; kx++ {
			if ky == 0 && kx == 0 {
				continue
			}
			m := Mem{Base: row}
			if kx > 0 {
				m = at(row, R12, uint8(kx), 0)
			}
			VFMADD231PS(m, ymm(3*ky+kx), Y9)
		}
	}
	VMOVUPS(Y9, Mem{Base: RDX})
	ADDQ(R11, RAX)
	ADDQ(R11, RBX)
	ADDQ(R11, RCX)
	ADDQ(R12, RDX)
	DECQ(R10)
	JNZ(LabelRef("pixel"))
	ADDQ(Imm(32), R13)
	JMP(LabelRef("block"))

	Label("done")
	LDMXCSR(mxcsr)
	VZEROUPPER()
	RET()
}

// genDWPixel emits dw3x3Px8: dw3x3Row8's computation in the other loop
// order, pixel by pixel and all channel blocks of a pixel in turn, with the
// weights read from memory. With hundreds of channels the row order would
// stride through memory by whole pixels (kilobytes) and miss the TLB and the
// prefetchers on every load; this order reads all three rows sequentially.
func genDWPixel() {
	TEXT("dw3x3Px8", NOSPLIT, "func(dst, r0, r1, r2, w *float32, n, c, sstep int)")
	mxcsr := flushSubnormals()
	Pragma("noescape")
	Doc(
		"dw3x3Px8 is dw3x3Row8 computed pixel by pixel (all channels of a pixel,",
		"then the next), which reads memory sequentially when c is large.",
	)
	Comment("R12 = 4c")
	Load(Param("c"), R12)
	SHLQ(Imm(2), R12)
	Comment("R11: step from the end of a pixel's channels to the next pixel")
	Load(Param("sstep"), R11)
	SHLQ(Imm(2), R11)
	SUBQ(R12, R11)
	Load(Param("r0"), RAX)
	Load(Param("r1"), RBX)
	Load(Param("r2"), RCX)
	Load(Param("dst"), RDX)
	Load(Param("w"), R8)
	Comment("SI: weights of kernel row 1")
	LEAQ(at(R8, R12, 2, 0), RSI)
	ADDQ(R12, RSI)
	Comment("DI: weights of kernel row 2")
	LEAQ(at(RSI, R12, 2, 0), RDI)
	ADDQ(R12, RDI)
	Load(Param("n"), R10)

	Label("pixel")
	MOVQ(R12, R13)

	Label("block")
	rows := []Register{RAX, RBX, RCX}
	wts := []Register{R8, RSI, RDI}
	for ky := 0; ky < 3; ky++ {
		for kx := 0; kx < 3; kx++ {
			in, wm := Mem{Base: rows[ky]}, Mem{Base: wts[ky]}
			if kx > 0 {
				in, wm = at(rows[ky], R12, uint8(kx), 0), at(wts[ky], R12, uint8(kx), 0)
			}
			v := ymm(1 + 3*ky + kx)
			VMOVUPS(in, v)
			if ky == 0 && kx == 0 {
				VMULPS(wm, v, Y0)
			} else {
				VFMADD231PS(wm, v, Y0)
			}
		}
	}
	VMOVUPS(Y0, Mem{Base: RDX})
	for _, r := range []Register{RAX, RBX, RCX, RDX, R8, RSI, RDI} {
		ADDQ(Imm(32), r)
	}
	SUBQ(Imm(32), R13)
	JNZ(LabelRef("block"))
	for _, r := range wts {
		SUBQ(R12, r)
	}
	for _, r := range rows {
		ADDQ(R11, r)
	}
	DECQ(R10)
	JNZ(LabelRef("pixel"))
	LDMXCSR(mxcsr)
	VZEROUPPER()
	RET()
}

// goMin sets dst to Go's builtin min(x, y) in every lane (NaN wins,
// -0 < +0): min(x, y) | min(y, x), the compiler's own MINSS sequence eight
// lanes wide. VMINPS returns its second source when either value is NaN or
// both are zeros, so the two orders catch a NaN in either, and OR gives the
// sign of a -0 in either.
func goMin(x, y, tmp, dst VecPhysical) {
	VMINPS(y, x, tmp)
	VMINPS(x, y, dst)
	VORPS(tmp, dst, dst)
}

// genMax2x2 emits max2x2Row8, the 2×2 max pool of the columns whose window
// lies inside the image.
func genMax2x2() {
	TEXT("max2x2Row8", NOSPLIT, "func(dst, r0, r1 *float32, n, c, sstep int)")
	Pragma("noescape")
	Doc(
		"max2x2Row8 computes n ≥ 1 output pixels of a 2×2 max pool from two input",
		"rows, eight channels at a time (c must be a multiple of 8):",
		"",
		"\tdst[i*c + ch] = max(max(r0[j], r0[j+c]), max(r1[j], r1[j+c])), j = i*sstep + ch",
		"",
		"bit for bit as Go's builtin max computes it (NaN wins, -0 < +0).",
	)
	Comment("Y15: the sign bit in every lane")
	broadcast32(0x80000000, Y15)
	Comment("R12 = 4c")
	Load(Param("c"), R12)
	SHLQ(Imm(2), R12)
	Comment("R11: step from the end of a pixel's channels to the next pixel")
	Load(Param("sstep"), R11)
	SHLQ(Imm(2), R11)
	SUBQ(R12, R11)
	Load(Param("r0"), RAX)
	Load(Param("r1"), RBX)
	Load(Param("dst"), RDX)
	Load(Param("n"), R10)

	Label("pixel")
	MOVQ(R12, R13)

	Label("block")
	VXORPS(Mem{Base: RAX}, Y15, Y0)
	VXORPS(at(RAX, R12, 1, 0), Y15, Y1)
	VXORPS(Mem{Base: RBX}, Y15, Y2)
	VXORPS(at(RBX, R12, 1, 0), Y15, Y3)
	// max(a, b) = -min(-a, -b): work on negated values and flip the sign
	// once at the end.
	goMin(Y0, Y1, Y5, Y4) // -max(a, b)
	goMin(Y2, Y3, Y6, Y5) // -max(c, d)
	goMin(Y4, Y5, Y7, Y6) // -max of the four
	VXORPS(Y15, Y6, Y6)
	VMOVUPS(Y6, Mem{Base: RDX})
	ADDQ(Imm(32), RAX)
	ADDQ(Imm(32), RBX)
	ADDQ(Imm(32), RDX)
	SUBQ(Imm(32), R13)
	JNZ(LabelRef("block"))
	ADDQ(R11, RAX)
	ADDQ(R11, RBX)
	DECQ(R10)
	JNZ(LabelRef("pixel"))
	VZEROUPPER()
	RET()
}

// The activations, numbered as nn.Activation numbers them, and the bits of
// the steps of the affine part.
const (
	actLinear = iota
	actReLU
	actReLU6
	actLeaky
	numActs

	hasBias  = 1
	hasScale = 2
	hasShift = 4
)

var actNames = [numActs]string{"linear", "relu", "relu6", "leaky"}

// Registers of affineAct8.
var (
	zero  = Y15 // +0
	six   = Y14 // 6
	slope = Y13 // float32(0.1)
)

// genAffineAct emits affineAct8, the epilogue of the convolutions: one
// specialised loop per combination of affine steps and activation, chosen
// once per call, so that the loop does only the arithmetic it needs.
func genAffineAct() {
	TEXT("affineAct8", NOSPLIT, "func(y, bias, scale, shift *float32, rows, c, n8, kind int)")
	mxcsr := flushSubnormals()
	Pragma("noescape")
	Doc(
		"affineAct8 sets y = act(((y + bias)·scale) + shift) on the first n8",
		"columns (a positive multiple of 8) of rows ≥ 1 rows of c values, per",
		"column. kind is parts | act<<3: the steps to do (bit 0 bias, bit 1 scale,",
		"bit 2 shift; pointers of the others are not read) and the nn.Activation.",
		"Each step is rounded to float32 and the activations are Go's max(v, 0),",
		"min(max(v, 0), 6) and leaky, so the result is bit for bit the Go code's",
		"(subnormals flushed to zero).",
	)
	kind := Load(Param("kind"), GP64())
	for k := 1; k < 8*numActs; k++ {
		CMPQ(kind, Imm(uint64(k)))
		JEQ(LabelRef(affineLabel(k)))
	}
	LDMXCSR(mxcsr)
	RET() // kind 0 (nothing to do) or out of range
	for k := 1; k < 8*numActs; k++ {
		genAffineLoop(k)
	}
	Label("done")
	LDMXCSR(mxcsr)
	VZEROUPPER()
	RET()
}

// affineLabel names the loop of a kind after its steps (b bias, s scale, h
// shift) and activation, e.g. bsh_relu6.
func affineLabel(kind int) string {
	parts, act := kind&7, kind>>3
	s := ""
	for i, name := range []string{"b", "s", "h"} {
		if parts&(1<<i) != 0 {
			s += name
		}
	}
	if s == "" {
		s = "none"
	}
	return s + "_" + actNames[act]
}

// genAffineLoop emits the loop of one kind: two blocks of eight columns at
// a time, then a last block when n8/8 is odd.
func genAffineLoop(kind int) {
	parts, act := kind&7, kind>>3
	l := affineLabel(kind)
	Label(l)
	Load(Param("y"), RDI)
	if parts&hasBias != 0 {
		Load(Param("bias"), RSI)
	}
	if parts&hasScale != 0 {
		Load(Param("scale"), RDX)
	}
	if parts&hasShift != 0 {
		Load(Param("shift"), RCX)
	}
	Load(Param("rows"), R10)
	Comment("R12: bytes per row")
	Load(Param("c"), R12)
	SHLQ(Imm(2), R12)
	Comment("R13: bytes of the columns to do")
	Load(Param("n8"), R13)
	SHLQ(Imm(2), R13)
	Comment("R9: the last offset where two blocks fit")
	LEAQ(Mem{Base: R13, Disp: -32}, R9)
	if act != actLinear {
		VXORPS(zero, zero, zero)
	}
	switch act {
	case actReLU6:
		broadcast32(0x40c00000, six)
	case actLeaky:
		broadcast32(0x3dcccccd, slope)
	}

	Label(l + "_row")
	Comment("R8: byte offset of the block in the row")
	XORQ(R8, R8)
	Label(l + "_pair")
	CMPQ(R8, R9)
	JGE(LabelRef(l + "_last"))
	affineBlock(parts, act, 0, Y0, Y1)
	affineBlock(parts, act, 32, Y2, Y3)
	ADDQ(Imm(64), R8)
	JMP(LabelRef(l + "_pair"))
	Label(l + "_last")
	CMPQ(R8, R13)
	JGE(LabelRef(l + "_next"))
	affineBlock(parts, act, 0, Y0, Y1)
	Label(l + "_next")
	ADDQ(R12, RDI)
	DECQ(R10)
	JNZ(LabelRef(l + "_row"))
	JMP(LabelRef("done"))
}

// affineBlock transforms the eight values at y + R8 + disp in v (t is
// scratch).
func affineBlock(parts, act, disp int, v, t VecPhysical) {
	VMOVUPS(at(RDI, R8, 1, disp), v)
	if parts&hasBias != 0 {
		VADDPS(at(RSI, R8, 1, disp), v, v)
	}
	if parts&hasScale != 0 {
		VMULPS(at(RDX, R8, 1, disp), v, v)
	}
	if parts&hasShift != 0 {
		VADDPS(at(RCX, R8, 1, disp), v, v)
	}
	switch act {
	case actReLU:
		reluLanes(v)
	case actReLU6:
		reluLanes(v)
		// min(v, 6): VMINPS returns its second source, v, when v is NaN.
		VMINPS(v, six, v)
	case actLeaky:
		// face-api's relu(t - m) + m with m = 0.1t. t - m is never -0, so
		// the max needs no sign fix-up.
		VMULPS(slope, v, t)
		VSUBPS(t, v, v)
		VMAXPS(v, zero, v)
		VADDPS(t, v, v)
	}
	VMOVUPS(v, at(RDI, R8, 1, disp))
}

// reluLanes sets v to Go's max(v, 0) in every lane: VMAXPS(v, 0) returns its
// second source, v, when v is NaN or a zero, and adding +0 then turns -0
// into +0 and leaves every other value as it is.
func reluLanes(v VecPhysical) {
	VMAXPS(v, zero, v)
	VADDPS(zero, v, v)
}

// genAdd emits add8 or addReLU8: dst = a + b, or max(a + b, 0), over n
// values, four blocks of eight at a time, then block by block.
func genAdd(relu bool) {
	name, what := "add8", "a[i] + b[i]"
	if relu {
		name, what = "addReLU8", "max(a[i] + b[i], 0)"
	}
	TEXT(name, NOSPLIT, "func(dst, a, b *float32, n int)")
	mxcsr := flushSubnormals()
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s sets dst[i] = %s for i < n, n a multiple of 8,", name, what),
		"bit for bit as Go computes it (subnormals flushed to zero). dst may be a or b.",
	)
	Load(Param("dst"), RDI)
	Load(Param("a"), RSI)
	Load(Param("b"), RDX)
	Comment("R13: bytes to do")
	Load(Param("n"), R13)
	SHLQ(Imm(2), R13)
	Comment("R9: the last offset where four blocks fit")
	LEAQ(Mem{Base: R13, Disp: -96}, R9)
	XORQ(R8, R8)
	if relu {
		VXORPS(zero, zero, zero)
	}
	block := func(disp int, v VecPhysical) {
		VMOVUPS(at(RSI, R8, 1, disp), v)
		VADDPS(at(RDX, R8, 1, disp), v, v)
		if relu {
			reluLanes(v)
		}
		VMOVUPS(v, at(RDI, R8, 1, disp))
	}
	Label("four")
	CMPQ(R8, R9)
	JGE(LabelRef("one"))
	for i := 0; i < 4; i++ {
		block(32*i, ymm(i))
	}
	ADDQ(Imm(128), R8)
	JMP(LabelRef("four"))
	Label("one")
	CMPQ(R8, R13)
	JGE(LabelRef("done"))
	block(0, Y0)
	ADDQ(Imm(32), R8)
	JMP(LabelRef("one"))
	Label("done")
	LDMXCSR(mxcsr)
	VZEROUPPER()
	RET()
}

// genPReLU emits prelu8, PReLU in place over rows of c values with one
// slope per column: the slope's product where the value's sign bit is set
// or the value is +0, the value itself elsewhere, which is the Go loop's
// choice (v ≤ 0, and NaN by its sign) bit for bit.
func genPReLU() {
	TEXT("prelu8", NOSPLIT, "func(y, a *float32, rows, c int)")
	mxcsr := flushSubnormals()
	Pragma("noescape")
	Doc(
		"prelu8 sets y[r*c + j] to a[j]·y[r*c + j] where that value is ≤ 0",
		"(sign bit set, or +0) for r < rows, j < c, c a positive multiple of 8,",
		"bit for bit as preluRows computes it (subnormals flushed to zero).",
	)
	Load(Param("y"), RDI)
	Load(Param("a"), RSI)
	Load(Param("rows"), R10)
	Comment("R13: bytes per row")
	Load(Param("c"), R13)
	SHLQ(Imm(2), R13)
	VXORPS(zero, zero, zero)
	Label("row")
	TESTQ(R10, R10)
	JZ(LabelRef("done"))
	XORQ(R8, R8)
	Label("col")
	VMOVUPS(at(RDI, R8, 1, 0), Y0)
	VMULPS(at(RSI, R8, 1, 0), Y0, Y1)
	Comment("Y2: all ones where the value is a zero, or'd with its sign bit")
	VCMPPS(Imm(0), zero, Y0, Y2)
	VORPS(Y0, Y2, Y2)
	VBLENDVPS(Y2, Y1, Y0, Y0)
	VMOVUPS(Y0, at(RDI, R8, 1, 0))
	ADDQ(Imm(32), R8)
	CMPQ(R8, R13)
	JLT(LabelRef("col"))
	ADDQ(R13, RDI)
	DECQ(R10)
	JMP(LabelRef("row"))
	Label("done")
	LDMXCSR(mxcsr)
	VZEROUPPER()
	RET()
}

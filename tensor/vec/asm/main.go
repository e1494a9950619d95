// Command asm generates the AVX-512 and AVX2+FMA kernels of package vec with
// avo. It lives in its own module so that the facerec module does not depend
// on avo; run it through `go generate` in the vec package:
//
//	go run -C asm . -out ../kernels_amd64.s -stubs ../kernels_amd64.go -pkg vec
//
// The vectors are cut into chunks of one register (16 float32 for zmm, 8 for
// ymm); the last, partial chunk is read with a masked load, which yields
// zeros in the masked-off lanes and never touches memory past the end of the
// slice, so every dimension is handled without a scalar remainder loop.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,!purego")
	genSquaredL2(avx512)
	genSquaredL2(avx2)
	genDot(avx512)
	genDot(avx2)
	genDotI8()
	Generate()
}

// isa describes one instruction set: its register width and how it loads
// the partial last chunk.
type isa struct {
	name  string // "avx512" or "avx2"
	width int    // bytes per vector register
	// maskSig is the type of the tail-mask parameter: a k-register bit mask
	// for AVX-512, a pointer to a lane mask (sign bits) for VMASKMOVPS.
	maskSig string
	vec     func(i int) VecPhysical
}

var (
	avx512 = isa{name: "avx512", width: 64, maskSig: "mask uint16", vec: zmm}
	avx2   = isa{name: "avx2", width: 32, maskSig: "mask *int32", vec: ymm}
)

// tail is how a kernel reads the partial last chunk.
type tail struct {
	isa  isa
	k    Register    // AVX-512: the lane mask in K1
	lane VecPhysical // AVX2: the lane mask for VMASKMOVPS
	skip Register    // a GP register that is zero when there is no tail
}

// loadTail loads the "mask" parameter and returns what the masked loads need.
func loadTail(s isa) *tail {
	t := &tail{isa: s}
	if s.name == "avx512" {
		m := GP64()
		Load(Param("mask"), m)
		KMOVW(m.As32(), K1)
		t.k, t.skip = K1, m
		return t
	}
	p := Load(Param("mask"), GP64())
	t.skip = p
	// The lane mask is loaded only when there is a tail: p may be nil.
	return t
}

// load emits a masked, zeroing load of the partial chunk at m into dst.
func (t *tail) load(m Mem, dst VecPhysical) {
	if t.isa.name == "avx512" {
		VMOVUPS_Z(m, t.k, dst)
		return
	}
	VMASKMOVPS(m, t.lane, dst)
}

// genSquaredL2 emits sqL2<isa>(q, rows, n, stride, chunks, mask, out) which
// writes out[i] = ‖q − row_i‖² for the n rows that start stride bytes apart.
// Rows are summed four at a time, so that one reduction serves four rows,
// with two accumulators per row (even and odd chunks) to halve the FMA
// dependency chains; a leftover row or three are done one at a time.
func genSquaredL2(s isa) {
	name := "sqL2" + s.name
	TEXT(name, NOSPLIT, fmt.Sprintf("func(q *float32, rows *float32, n int, stride int, chunks int, %s, out *float32)", s.maskSig))
	Doc(fmt.Sprintf("%s writes out[i] = ‖q − row_i‖² for n rows stride bytes apart with %s;", name, s.name),
		"each row has chunks full registers of float32 and then the lanes of mask.")
	Pragma("noescape")
	v := s.vec
	qp := Load(Param("q"), GP64())
	r0 := Load(Param("rows"), GP64())
	n := Load(Param("n"), GP64())
	st := Load(Param("stride"), GP64())
	out := Load(Param("out"), GP64())
	t := loadTail(s)
	if s.name == "avx2" {
		// Y15 holds the AVX2 lane mask for the whole call.
		t.lane = Y15
		TESTQ(t.skip, t.skip)
		JE(LabelRef(name + "_nomask"))
		VMOVUPS(Mem{Base: t.skip}, Y15)
		Label(name + "_nomask")
	}
	r1, r2, r3 := GP64(), GP64(), GP64()
	j, c := GP64(), GP64()

	// Registers: acc(row, parity) = v(2*row + parity), q chunk in v(8),
	// differences in v(9)..v(12).
	acc := func(row, p int) VecPhysical { return v(2*row + p) }
	qv := v(8)
	diff := func(row int) VecPhysical { return v(9 + row) }

	// body accumulates one chunk of row i at byte offset j (plus disp) into
	// its accumulator of parity p; masked selects the tail load.
	rowBase := []Register{r0, r1, r2, r3}
	body := func(i, p, disp int, masked bool) {
		at := func(base Register) Mem { return Mem{Base: base, Index: j, Scale: 1, Disp: disp} }
		if masked {
			t.load(at(qp), qv)
			t.load(at(rowBase[i]), diff(i))
			VSUBPS(diff(i), qv, diff(i))
		} else {
			VMOVUPS(at(qp), qv)
			VSUBPS(at(rowBase[i]), qv, diff(i))
		}
		VFMADD231PS(diff(i), diff(i), acc(i, p))
	}

	// rowLoop emits the chunk loop of row i, leaving its sum of squares
	// spread over the lanes of acc(i, 0). Rows are read one after the
	// other, not interleaved: memory then sees one sequential stream, which
	// the hardware prefetchers follow at full bandwidth (reading four rows
	// side by side streamed at less than half of it). q stays in L1, so
	// reloading it for every row costs little.
	rowLoop := func(label string, i int) {
		for p := 0; p < 2; p++ {
			zero(s, acc(i, p))
		}
		XORQ(j, j)
		Load(Param("chunks"), c)
		Label(label + "_pair")
		CMPQ(c, Imm(2))
		JL(LabelRef(label + "_one"))
		body(i, 0, 0, false)
		body(i, 1, s.width, false)
		ADDQ(U32(2*s.width), j)
		SUBQ(Imm(2), c)
		JMP(LabelRef(label + "_pair"))
		Label(label + "_one")
		TESTQ(c, c)
		JE(LabelRef(label + "_tail"))
		body(i, 1, 0, false)
		ADDQ(U32(s.width), j)
		Label(label + "_tail")
		TESTQ(t.skip, t.skip)
		JE(LabelRef(label + "_sum"))
		body(i, 0, 0, true)
		Label(label + "_sum")
		VADDPS(acc(i, 1), acc(i, 0), acc(i, 0))
	}

	Label(name + "_quad")
	CMPQ(n, Imm(4))
	JL(LabelRef(name + "_single"))
	LEAQ(Mem{Base: r0, Index: st, Scale: 1}, r1)
	LEAQ(Mem{Base: r0, Index: st, Scale: 2}, r2)
	LEAQ(Mem{Base: r1, Index: st, Scale: 2}, r3)
	for i := 0; i < 4; i++ {
		rowLoop(fmt.Sprintf("%s_q%d", name, i), i)
	}
	// Fold the four accumulators into one xmm holding the four sums.
	ys := make([]VecPhysical, 4)
	for i := range ys {
		ys[i] = fold256(s, acc(i, 0))
	}
	VHADDPS(ys[1], ys[0], ys[0]) // a01 a23 b01 b23 | a45 a67 b45 b67
	VHADDPS(ys[3], ys[2], ys[2])
	VHADDPS(ys[2], ys[0], ys[0]) // a b c d | a b c d (other halves)
	VEXTRACTF128(Imm(1), ys[0], ys[1].AsX())
	VADDPS(ys[1].AsX(), ys[0].AsX(), ys[0].AsX())
	VMOVUPS(ys[0].AsX(), Mem{Base: out})
	ADDQ(Imm(16), out)
	LEAQ(Mem{Base: r0, Index: st, Scale: 4}, r0)
	SUBQ(Imm(4), n)
	JMP(LabelRef(name + "_quad"))

	Label(name + "_single")
	TESTQ(n, n)
	JE(LabelRef(name + "_done"))
	rowLoop(name+"_s", 0)
	x := horizontalSum(s, acc(0, 0))
	VMOVSS(x, Mem{Base: out})
	ADDQ(Imm(4), out)
	ADDQ(st, r0)
	DECQ(n)
	JMP(LabelRef(name + "_single"))

	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// genDot emits dot<isa>(a, b, chunks, mask) float32 = Σ a[i]·b[i] with four
// accumulators to hide the FMA latency.
func genDot(s isa) {
	name := "dot" + s.name
	TEXT(name, NOSPLIT, fmt.Sprintf("func(a *float32, b *float32, chunks int, %s) float32", s.maskSig))
	Doc(fmt.Sprintf("%s returns Σ a[i]·b[i] with %s over chunks full registers and then the lanes of mask.", name, s.name))
	Pragma("noescape")
	v := s.vec
	ap := Load(Param("a"), GP64())
	bp := Load(Param("b"), GP64())
	c := Load(Param("chunks"), GP64())
	t := loadTail(s)
	if s.name == "avx2" {
		t.lane = Y15
	}
	for i := 0; i < 4; i++ {
		zero(s, v(i))
	}
	Label(name + "_four")
	CMPQ(c, Imm(4))
	JL(LabelRef(name + "_one"))
	for i := 0; i < 4; i++ {
		VMOVUPS(Mem{Base: ap, Disp: i * s.width}, v(4+i))
		VFMADD231PS(Mem{Base: bp, Disp: i * s.width}, v(4+i), v(i))
	}
	ADDQ(U32(4*s.width), ap)
	ADDQ(U32(4*s.width), bp)
	SUBQ(Imm(4), c)
	JMP(LabelRef(name + "_four"))
	Label(name + "_one")
	TESTQ(c, c)
	JE(LabelRef(name + "_tail"))
	VMOVUPS(Mem{Base: ap}, v(4))
	VFMADD231PS(Mem{Base: bp}, v(4), v(0))
	ADDQ(U32(s.width), ap)
	ADDQ(U32(s.width), bp)
	DECQ(c)
	JMP(LabelRef(name + "_one"))
	Label(name + "_tail")
	TESTQ(t.skip, t.skip)
	JE(LabelRef(name + "_sum"))
	if s.name == "avx2" {
		VMOVUPS(Mem{Base: t.skip}, Y15)
	}
	t.load(Mem{Base: ap}, v(4))
	t.load(Mem{Base: bp}, v(5))
	VFMADD231PS(v(5), v(4), v(1))
	Label(name + "_sum")
	VADDPS(v(2), v(0), v(0))
	VADDPS(v(3), v(1), v(1))
	VADDPS(v(1), v(0), v(0))
	x := horizontalSum(s, v(0))
	VZEROUPPER()
	Store(x, ReturnIndex(0))
	RET()
}

// zero clears r, with VPXORD for a zmm: VXORPS on zmm needs AVX512DQ, and
// the kernels need no more than AVX512F.
func zero(s isa, r VecPhysical) {
	if s.name == "avx512" {
		VPXORD(r, r, r)
		return
	}
	VXORPS(r, r, r)
}

// fold256 adds the upper half of a zmm into its lower half and returns that
// ymm; a ymm is returned as it is.
func fold256(s isa, r VecPhysical) VecPhysical {
	if s.name != "avx512" {
		return r
	}
	y := r.AsY().(VecPhysical)
	VEXTRACTF64X4(Imm(1), r, Y14)
	VADDPS(Y14, y, y)
	return y
}

// horizontalSum returns an xmm whose lane 0 is the sum of every lane of a;
// it clobbers a and X14. It adds in the same order as the four-row
// reduction of genSquaredL2 — pairs, then pairs of pairs within each
// 128-bit half, then the halves — so a row's distance is bit for bit the
// same whether it was computed in a block of four or on its own.
func horizontalSum(s isa, a VecPhysical) VecPhysical {
	y := fold256(s, a)
	x := y.AsX().(VecPhysical)
	VHADDPS(y, y, y)
	VHADDPS(y, y, y)
	VEXTRACTF128(Imm(1), y, X14)
	VADDPS(X14, x, x)
	return x
}

func zmm(i int) VecPhysical {
	return []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15}[i]
}

func ymm(i int) VecPhysical {
	return []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}[i]
}

// genDotI8 emits dotI8avx2(q, rows, n, dim, out), which writes out[i] =
// Σ_j q[j]·rows[i·dim + j] for n rows of dim int8 values, dim a positive
// multiple of 8: the scan of a compact (int8) index, which reads a quarter
// of the bytes of float32 rows. Each group of 8 values is sign-extended to
// int32, converted to float32 (exact) and multiplied into one of four
// accumulators, 32 values a step, then 8 at a time for the rest.
func genDotI8() {
	name := "dotI8avx2"
	TEXT(name, NOSPLIT, "func(q *float32, rows *int8, n int, dim int, out *float32)")
	Doc(name + " writes out[i] = Σ_j q[j]·rows[i*dim+j] for n ≥ 1 rows, dim a positive multiple of 8.")
	Pragma("noescape")
	qp := Load(Param("q"), GP64())
	rp := Load(Param("rows"), GP64())
	n := Load(Param("n"), GP64())
	dim := Load(Param("dim"), GP64())
	op := Load(Param("out"), GP64())
	dim32 := GP64()
	MOVQ(dim, dim32)
	ANDQ(I32(-32), dim32)
	j := GP64()
	Label(name + "_row")
	for i := 0; i < 4; i++ {
		VXORPS(ymm(i), ymm(i), ymm(i))
	}
	XORQ(j, j)
	Label(name + "_four")
	CMPQ(j, dim32)
	JGE(LabelRef(name + "_one"))
	for u := 0; u < 4; u++ {
		VPMOVSXBD(Mem{Base: rp, Index: j, Scale: 1, Disp: 8 * u}, ymm(4+u))
		VCVTDQ2PS(ymm(4+u), ymm(4+u))
		VFMADD231PS(Mem{Base: qp, Index: j, Scale: 4, Disp: 32 * u}, ymm(4+u), ymm(u))
	}
	ADDQ(Imm(32), j)
	JMP(LabelRef(name + "_four"))
	Label(name + "_one")
	CMPQ(j, dim)
	JGE(LabelRef(name + "_sum"))
	VPMOVSXBD(Mem{Base: rp, Index: j, Scale: 1}, Y4)
	VCVTDQ2PS(Y4, Y4)
	VFMADD231PS(Mem{Base: qp, Index: j, Scale: 4}, Y4, Y0)
	ADDQ(Imm(8), j)
	JMP(LabelRef(name + "_one"))
	Label(name + "_sum")
	VADDPS(Y1, Y0, Y0)
	VADDPS(Y3, Y2, Y2)
	VADDPS(Y2, Y0, Y0)
	VEXTRACTF128(Imm(1), Y0, X1)
	VADDPS(X1, X0, X0)
	VHADDPS(X0, X0, X0)
	VHADDPS(X0, X0, X0)
	VMOVSS(X0, Mem{Base: op})
	ADDQ(dim, rp)
	ADDQ(Imm(4), op)
	DECQ(n)
	JNZ(LabelRef(name + "_row"))
	VZEROUPPER()
	RET()
}

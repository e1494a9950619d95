// Command asm generates the AVX-512 and AVX2+FMA micro-kernels of package
// gemm with avo. It lives in its own module so that the facerec module does
// not depend on avo; run it through `go generate` in the gemm package:
//
//	go run -C asm . -out ../kernels_amd64.s -stubs ../kernels_amd64.go -pkg gemm
//
// Every kernel computes one register tile C[0:mr, 0:NR] (+)= A[0:mr, 0:k]·B[0:k, 0:NR]
// where
//
//   - A[i,p] is the float32 at a + i*rsa + p*csa (strides in bytes), so the same
//     code reads a row-major A in place (rsa = 4*lda, csa = 4), a transposed A in
//     place (rsa = 4, csa = 4*lda) or a packed panel;
//   - B[p,j] is the float32 at b + p*bs + 4*j: a packed, zero-padded panel of NR
//     columns (bs = 4*NR) or a row-major B read in place (bs = 4*ldb);
//   - C[i,j] is the float32 at c + i*ldc + 4*j.
//
// One kernel is generated per row count mr = 1..MR, so edge rows need no
// scratch tile; edge columns are handled by the store mask.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

const (
	// mr512 and mr256 are the register-tile heights: 12×32 uses 24 of the 32
	// zmm registers for accumulators, 6×16 uses 12 of the 16 ymm registers.
	mr512 = 12
	mr256 = 6
	// unroll is how many k steps one loop iteration does.
	unroll = 8
	// prefetch is how far ahead (in bytes along a row of A) the kernels
	// prefetch A. Row-major A is read as mr separate streams, more than the
	// hardware prefetcher follows well, and for the tall, thin convolution
	// GEMMs A comes from L3 or memory. With A transposed the hint is of no
	// use but harmless.
	prefetch = 512
)

func main() {
	ConstraintExpr("amd64,!purego")
	for mr := 1; mr <= mr512; mr++ {
		genAVX512(mr)
	}
	for mr := 1; mr <= mr256; mr++ {
		genAVX2(mr)
	}
	Generate()
}

// rows holds the registers that address the mr rows of A: rows 6g..6g+5 are
// reached from base[g] with the index registers rs, rs3 = 3*rs and rs5 = 5*rs
// (scales 1, 2 and 4 give rs, 2*rs and 4*rs), so no register is spent per row.
type rows struct {
	base         []Register
	rs, rs3, rs5 Register
	csa          Register
}

func loadRows(mr int) *rows {
	r := &rows{}
	a := Load(Param("a"), GP64())
	r.base = append(r.base, a)
	r.rs = Load(Param("rsa"), GP64())
	r.csa = Load(Param("csa"), GP64())
	if mr > 3 {
		r.rs3 = GP64()
		LEAQ(Mem{Base: r.rs, Index: r.rs, Scale: 2}, r.rs3)
	}
	if mr > 5 {
		r.rs5 = GP64()
		LEAQ(Mem{Base: r.rs, Index: r.rs, Scale: 4}, r.rs5)
	}
	for g := 1; g*6 < mr; g++ {
		// base[g] = base[g-1] + 6*rs = base[g-1] + 2*rs + 4*rs.
		b := GP64()
		LEAQ(Mem{Base: r.base[g-1], Index: r.rs, Scale: 2}, b)
		LEAQ(Mem{Base: b, Index: r.rs, Scale: 4}, b)
		r.base = append(r.base, b)
	}
	return r
}

// addr is the address of A[i, current p].
func (r *rows) addr(i int) Mem {
	b := r.base[i/6]
	switch i % 6 {
	case 0:
		return Mem{Base: b}
	case 1:
		return Mem{Base: b, Index: r.rs, Scale: 1}
	case 2:
		return Mem{Base: b, Index: r.rs, Scale: 2}
	case 3:
		return Mem{Base: b, Index: r.rs3, Scale: 1}
	case 4:
		return Mem{Base: b, Index: r.rs, Scale: 4}
	default:
		return Mem{Base: b, Index: r.rs5, Scale: 1}
	}
}

// prefetchRows prefetches the rows i ≡ u (mod unroll) of A, so that one
// pass of the unrolled loop prefetches every row once.
func (r *rows) prefetchRows(mr, u int) {
	if u < 0 {
		return
	}
	for i := u; i < mr; i += unroll {
		m := r.addr(i)
		m.Disp += prefetch
		PREFETCHT0(m)
	}
}

// advance moves every row base to the next k.
func (r *rows) advance() {
	for _, b := range r.base {
		ADDQ(r.csa, b)
	}
}

// kloop emits the k loop, unrolled, around step; step(u) is called with the
// position u in the unrolled body, or -1 in the remainder loop.
func kloop(name string, step func(u int)) {
	k := Load(Param("k"), GP64())
	Label(name + "_loop")
	CMPQ(k, Imm(unroll))
	JL(LabelRef(name + "_tail"))
	for u := 0; u < unroll; u++ {
		step(u)
	}
	SUBQ(Imm(unroll), k)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_tail")
	TESTQ(k, k)
	JE(LabelRef(name + "_store"))
	step(-1)
	DECQ(k)
	JMP(LabelRef(name + "_tail"))
	Label(name + "_store")
}

// genAVX512 emits the mr×32 zmm kernel. Accumulators are Z0..Z23 (row i in
// Z(2i), Z(2i+1)), the B row is in Z30, Z31, and A is broadcast straight from
// memory by the FMA ({1to16} embedded broadcast), which saves registers and
// instructions. mask holds the column mask of the store: bits 0-15 for the
// first 16 columns, bits 16-31 for the next 16.
func genAVX512(mr int) {
	name := fmt.Sprintf("kern512x%d", mr)
	TEXT(name, NOSPLIT, "func(k int, a *float32, rsa, csa int, b *float32, bs int, c *float32, ldc int, mask uint32, acc bool)")
	Doc(fmt.Sprintf("%s computes a %d×32 tile of C (+)= A·B with AVX-512.", name, mr))
	mxcsr := flushSubnormals()
	acc := func(i, v int) VecPhysical { return zmm(2*i + v) }
	for i := 0; i < mr; i++ {
		for v := 0; v < 2; v++ {
			VPXORD(acc(i, v), acc(i, v), acc(i, v))
		}
	}
	r := loadRows(mr)
	bp := Load(Param("b"), GP64())
	bs := Load(Param("bs"), GP64())
	kloop(name, func(u int) {
		r.prefetchRows(mr, u)
		VMOVUPS(Mem{Base: bp}, Z30)
		VMOVUPS(Mem{Base: bp, Disp: 64}, Z31)
		for i := 0; i < mr; i++ {
			VFMADD231PS_BCST(r.addr(i), Z30, acc(i, 0))
			VFMADD231PS_BCST(r.addr(i), Z31, acc(i, 1))
		}
		ADDQ(bs, bp)
		r.advance()
	})

	cp := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	m := GP32()
	Load(Param("mask"), m)
	KMOVW(m, K1)
	SHRL(Imm(16), m)
	KMOVW(m, K2)
	flag := Load(Param("acc"), GP8())
	CMPB(flag, Imm(0))
	JE(LabelRef(name + "_set"))
	for i := 0; i < mr; i++ {
		for v, k := range []Register{K1, K2} {
			at := Mem{Base: cp, Disp: 64 * v}
			VMOVUPS_Z(at, k, Z30)
			VADDPS(Z30, acc(i, v), acc(i, v))
			VMOVUPS(acc(i, v), k, at)
		}
		if i < mr-1 {
			ADDQ(ldc, cp)
		}
	}
	LDMXCSR(mxcsr)
	VZEROUPPER()
	RET()
	Label(name + "_set")
	for i := 0; i < mr; i++ {
		for v, k := range []Register{K1, K2} {
			VMOVUPS(acc(i, v), k, Mem{Base: cp, Disp: 64 * v})
		}
		if i < mr-1 {
			ADDQ(ldc, cp)
		}
	}
	LDMXCSR(mxcsr)
	VZEROUPPER()
	RET()
}

// genAVX2 emits the mr×16 ymm kernel. Accumulators are Y0..Y11, the B row is
// in Y12, Y13 and A values are broadcast into Y14/Y15 in turn. mask is nil
// for a full tile, else it points at two ymm-sized lane masks (sign bit set
// for the columns to store) used by VMASKMOVPS.
func genAVX2(mr int) {
	name := fmt.Sprintf("kern256x%d", mr)
	TEXT(name, NOSPLIT, "func(k int, a *float32, rsa, csa int, b *float32, bs int, c *float32, ldc int, mask *int32, acc bool)")
	Doc(fmt.Sprintf("%s computes a %d×16 tile of C (+)= A·B with AVX2 and FMA.", name, mr))
	mxcsr := flushSubnormals()
	acc := func(i, v int) VecPhysical { return ymm(2*i + v) }
	for i := 0; i < mr; i++ {
		for v := 0; v < 2; v++ {
			VXORPS(acc(i, v), acc(i, v), acc(i, v))
		}
	}
	r := loadRows(mr)
	bp := Load(Param("b"), GP64())
	bs := Load(Param("bs"), GP64())
	kloop(name, func(u int) {
		r.prefetchRows(mr, u)
		VMOVUPS(Mem{Base: bp}, Y12)
		VMOVUPS(Mem{Base: bp, Disp: 32}, Y13)
		for i := 0; i < mr; i++ {
			t := []VecPhysical{Y14, Y15}[i%2]
			VBROADCASTSS(r.addr(i), t)
			VFMADD231PS(Y12, t, acc(i, 0))
			VFMADD231PS(Y13, t, acc(i, 1))
		}
		ADDQ(bs, bp)
		r.advance()
	})

	cp := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	mp := Load(Param("mask"), GP64())
	flag := Load(Param("acc"), GP8())
	TESTQ(mp, mp)
	JNE(LabelRef(name + "_masked"))
	CMPB(flag, Imm(0))
	JE(LabelRef(name + "_set"))
	store := func(masked, add bool) {
		for i := 0; i < mr; i++ {
			for v := 0; v < 2; v++ {
				at := Mem{Base: cp, Disp: 32 * v}
				mask := []VecPhysical{Y14, Y15}[v]
				switch {
				case masked && add:
					VMASKMOVPS(at, mask, Y12)
					VADDPS(Y12, acc(i, v), acc(i, v))
					VMASKMOVPS(acc(i, v), mask, at)
				case masked:
					VMASKMOVPS(acc(i, v), mask, at)
				case add:
					VADDPS(at, acc(i, v), acc(i, v))
					VMOVUPS(acc(i, v), at)
				default:
					VMOVUPS(acc(i, v), at)
				}
			}
			if i < mr-1 {
				ADDQ(ldc, cp)
			}
		}
		LDMXCSR(mxcsr)
		VZEROUPPER()
		RET()
	}
	store(false, true)
	Label(name + "_set")
	store(false, false)
	Label(name + "_masked")
	VMOVUPS(Mem{Base: mp}, Y14)
	VMOVUPS(Mem{Base: mp, Disp: 32}, Y15)
	CMPB(flag, Imm(0))
	JE(LabelRef(name + "_mset"))
	store(true, true)
	Label(name + "_mset")
	store(true, false)
}

// flushSubnormals sets the DAZ and FTZ bits of MXCSR, so that the kernel
// reads subnormal operands as zero and writes zero for subnormal results,
// and returns the slot holding the caller's MXCSR, which every return must
// restore. Networks with dead channels (MobileFaceNet's has weights near
// 1e-30) produce subnormal activations, and on Intel cores every FMA that
// touches one takes a microcode assist: with them the kernel ran 3× slower
// there. Their contribution to any sum is below float32's resolution.
// Changing MXCSR inside the kernel is safe because Go never preempts an
// assembly function asynchronously, so the thread cannot change under it.
func flushSubnormals() Mem {
	saved := AllocLocal(8)
	STMXCSR(saved)
	t := GP32()
	MOVL(saved, t)
	ORL(U32(0x8040), t) // DAZ (bit 6) | FTZ (bit 15)
	MOVL(t, saved.Offset(4))
	LDMXCSR(saved.Offset(4))
	return saved
}

func zmm(i int) VecPhysical {
	return []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}[i]
}

func ymm(i int) VecPhysical {
	return []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}[i]
}

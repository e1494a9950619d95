package gemm

// genericKernel is the portable micro-kernel in plain Go: a 4×4 tile of
// scalar accumulators, small enough for the Go compiler to keep them in
// registers.
var genericKernel = &kernel{
	name:    "generic",
	mr:      4,
	nr:      4,
	kc:      256,
	nc:      512,
	directM: 16,
	tile:    genericTile,
}

// genericTile implements kernel.tile (see there) in Go.
func genericTile(mr, nr, kc int, a []float32, rsa, csa int, b []float32, bs int, c []float32, ldc int, acc bool) {
	if mr < 4 || nr < 4 {
		genericEdge(mr, nr, kc, a, rsa, csa, b, bs, c, ldc, acc)
		return
	}
	var (
		c00, c01, c02, c03 float32
		c10, c11, c12, c13 float32
		c20, c21, c22, c23 float32
		c30, c31, c32, c33 float32
	)
	a0, a1, a2, a3 := a, a[rsa:], a[2*rsa:], a[3*rsa:]
	for p := 0; p < kc; p++ {
		bp := b[p*bs : p*bs+4]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		x := a0[p*csa]
		c00 += x * b0
		c01 += x * b1
		c02 += x * b2
		c03 += x * b3
		x = a1[p*csa]
		c10 += x * b0
		c11 += x * b1
		c12 += x * b2
		c13 += x * b3
		x = a2[p*csa]
		c20 += x * b0
		c21 += x * b1
		c22 += x * b2
		c23 += x * b3
		x = a3[p*csa]
		c30 += x * b0
		c31 += x * b1
		c32 += x * b2
		c33 += x * b3
	}
	t := [4][4]float32{
		{c00, c01, c02, c03},
		{c10, c11, c12, c13},
		{c20, c21, c22, c23},
		{c30, c31, c32, c33},
	}
	for i := range t {
		row := c[i*ldc : i*ldc+4]
		if acc {
			for j := range row {
				row[j] += t[i][j]
			}
		} else {
			copy(row, t[i][:])
		}
	}
}

// genericEdge computes a partial tile, mr ≤ 4 rows by nr ≤ 4 columns.
func genericEdge(mr, nr, kc int, a []float32, rsa, csa int, b []float32, bs int, c []float32, ldc int, acc bool) {
	for i := 0; i < mr; i++ {
		ai := a[i*rsa:]
		row := c[i*ldc : i*ldc+nr]
		for j := range row {
			var s float32
			for p := 0; p < kc; p++ {
				s += ai[p*csa] * b[p*bs+j]
			}
			if acc {
				row[j] += s
			} else {
				row[j] = s
			}
		}
	}
}

package vec

// genericKernel is the portable Go kernel.
var genericKernel = &kernel{
	name:      "generic",
	squaredL2: squaredL2Generic,
	dot:       dotGeneric,
	dotI8:     dotI8Generic,
}

func dotI8Generic(q []float32, rows []int8, dim int, out []float32) {
	for i := range out {
		r := rows[i*dim : (i+1)*dim]
		r = r[:len(q)]
		var s0, s1, s2, s3 float32
		j := 0
		for ; j+4 <= len(q); j += 4 {
			s0 += q[j] * float32(r[j])
			s1 += q[j+1] * float32(r[j+1])
			s2 += q[j+2] * float32(r[j+2])
			s3 += q[j+3] * float32(r[j+3])
		}
		for ; j < len(q); j++ {
			s0 += q[j] * float32(r[j])
		}
		out[i] = (s0 + s1) + (s2 + s3)
	}
}

func squaredL2Generic(q, rows []float32, dim int, out []float32) {
	for i := range out {
		r := rows[i*dim : (i+1)*dim]
		r = r[:len(q)] // one bounds check for the loop below
		// Four partial sums break the dependency chain of the additions.
		var s0, s1, s2, s3 float32
		j := 0
		for ; j+4 <= len(q); j += 4 {
			d0 := q[j] - r[j]
			d1 := q[j+1] - r[j+1]
			d2 := q[j+2] - r[j+2]
			d3 := q[j+3] - r[j+3]
			s0 += d0 * d0
			s1 += d1 * d1
			s2 += d2 * d2
			s3 += d3 * d3
		}
		for ; j < len(q); j++ {
			d := q[j] - r[j]
			s0 += d * d
		}
		out[i] = (s0 + s1) + (s2 + s3)
	}
}

func dotGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	j := 0
	for ; j+4 <= len(a); j += 4 {
		s0 += a[j] * b[j]
		s1 += a[j+1] * b[j+1]
		s2 += a[j+2] * b[j+2]
		s3 += a[j+3] * b[j+3]
	}
	for ; j < len(a); j++ {
		s0 += a[j] * b[j]
	}
	return (s0 + s1) + (s2 + s3)
}

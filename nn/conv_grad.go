package nn

import (
	"sync"

	"github.com/facerec/facerec/tensor"
	"github.com/facerec/facerec/tensor/gemm"
)

// Params returns the layer's trainable parameters, W and (when the layer
// has one) Bias, named prefix+"w" and prefix+"b". They share memory with
// the layer, and every call returns the same Params (renamed), so that
// their gradients accumulate in one place. After an optimizer changes W,
// Param.Updated re-packs the GEMM copy of the weights.
func (c *Conv2D) Params(prefix string) []*Param {
	ps := c.trainParams()
	ps[0].Name = prefix + "w"
	if len(ps) > 1 {
		ps[1].Name = prefix + "b"
	}
	return ps
}

// trainParams makes the layer's Params on first use, without renaming
// them (the graph ops call it on every step).
func (c *Conv2D) trainParams() []*Param {
	if c.params == nil {
		w := NewParam("w", c.W)
		w.updated = c.Repack
		c.params = []*Param{w}
		if c.Bias != nil {
			c.params = append(c.params, NewParam("b", tensor.From(c.Bias, len(c.Bias))))
		}
	}
	return c.params
}

// Params returns the layer's trainable parameters W and (when it has one)
// Bias, named prefix+"w" and prefix+"b"; see Conv2D.Params.
func (d *Dense) Params(prefix string) []*Param {
	ps := d.trainParams()
	ps[0].Name = prefix + "w"
	if len(ps) > 1 {
		ps[1].Name = prefix + "b"
	}
	return ps
}

// trainParams makes the layer's Params on first use, without renaming them.
func (d *Dense) trainParams() []*Param {
	if d.params == nil {
		d.params = []*Param{NewParam("w", d.W)}
		if d.Bias != nil {
			d.params = append(d.params, NewParam("b", tensor.From(d.Bias, len(d.Bias))))
		}
	}
	return d.params
}

// activationGrad sets dz = dy·act'(y)·scale over rows of c values, the
// derivative of the fused epilogue y = act(((z + bias)·scale) + shift)
// with respect to z (and to bias), computed from the output y. At a kink
// it takes the derivative of the flat side.
func activationGrad(dz, y, dy []float32, c int, scale []float32, act Activation) {
	dy = dy[:len(dz)]
	y = y[:len(dz)]
	for i, g := range dy {
		v := y[i]
		switch act {
		case ReLU:
			if v <= 0 {
				g = 0
			}
		case ReLU6:
			if v <= 0 || v >= 6 {
				g = 0
			}
		case Leaky:
			if v <= 0 {
				g *= leakySlope
			}
		}
		dz[i] = g
	}
	if scale != nil {
		for i := 0; i+c <= len(dz); i += c {
			row := dz[i : i+c]
			for j := range row {
				row[j] *= scale[j]
			}
		}
	}
}

// sumRows adds the column sums of rows of c values to dst (a bias gradient).
func sumRows(dst, src []float32, c int) {
	acc := make([]float64, c)
	for i := 0; i+c <= len(src); i += c {
		for j, v := range src[i : i+c] {
			acc[j] += float64(v)
		}
	}
	for j := range acc {
		dst[j] += float32(acc[j])
	}
}

// col2im is the adjoint of im2col: it adds rows [r0, r0+rows) of the lowered
// gradient cols into dx, each value going back to the input cell it was
// copied from (values over the padding are dropped).
func col2im(dx *tensor.Tensor, cols []float32, win Window, pad Padding, oh, ow, r0, rows int) {
	_, h, w, cin := dims4(dx)
	k := win.KH * win.KW * cin
	for r := 0; r < rows; r++ {
		idx := r0 + r
		b := idx / (oh * ow)
		oy := (idx / ow) % oh
		ox := idx % ow
		row := cols[r*k : (r+1)*k]
		iy0 := oy*win.Stride - pad.Top
		ix0 := ox*win.Stride - pad.Left
		img := dx.Data[b*h*w*cin : (b+1)*h*w*cin]
		kx0 := min(max(0, -ix0), win.KW)
		kx1 := min(win.KW, w-ix0)
		for ky := 0; ky < win.KH; ky++ {
			iy := iy0 + ky
			if iy < 0 || iy >= h || kx1 <= kx0 {
				continue
			}
			o := ky * win.KW * cin
			src := row[o+kx0*cin : o+kx1*cin]
			dst := img[(iy*w+ix0+kx0)*cin:][:len(src)]
			addTo(dst, src)
		}
	}
}

// batchSplit runs f over [0, n) cut into up to workers contiguous parts,
// part i on its own goroutine, and waits.
func batchSplit(workers, n int, f func(part, lo, hi int)) {
	workers = max(min(workers, n), 1)
	if workers == 1 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		lo, hi := n*i/workers, n*(i+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, lo, hi)
		}()
	}
	wg.Wait()
}

// batchSlice returns images [lo, hi) of an NHWC tensor, sharing its data.
func batchSlice(x *tensor.Tensor, lo, hi int) *tensor.Tensor {
	per := x.Len() / x.Shape[0]
	shape := append([]int{hi - lo}, x.Shape[1:]...)
	return &tensor.Tensor{Shape: shape, Data: x.Data[lo*per : hi*per]}
}

// Conv2D applies the convolution layer c (with its fused epilogue) to x
// [N, H, W, Cin]. The batch is split over the graph's Workers, each
// running the layer's own forward kernels on its images (with one worker,
// exactly Conv2D.Forward, scratch from the graph's arena). Backward adds
// dL/dW and dL/dBias to c's Params (unless the layer is Frozen or a
// Param's Grad is nil) and computes dL/dx when x needs it.
func (g *Graph) Conv2D(x *Var, c *Conv2D) *Var {
	if !g.ok(x) {
		return &Var{Value: &tensor.Tensor{}}
	}
	if c == nil || c.W == nil || c.packed == nil {
		return g.fail("conv layer not made by NewConv2D")
	}
	if len(x.Value.Shape) != 4 || x.Value.Shape[3] != c.Cin {
		return g.fail("conv expects [N, H, W, %d], got %v", c.Cin, x.Value.Shape)
	}
	if c.KH < 1 || c.KW < 1 || c.Stride < 1 {
		return g.fail("conv window %d×%d stride %d", c.KH, c.KW, c.Stride)
	}
	n, h, w, _ := dims4(x.Value)
	oh, ow, pad := c.OutSize(h, w)
	if n == 0 || oh == 0 || ow == 0 {
		return g.fail("conv of %v gives an empty output", x.Value.Shape)
	}
	out := g.newVar(g.arena.NewUninit(n, oh, ow, c.Cout), x)
	windowField(out, x, c.Window, pad)
	var dw, db *tensor.Tensor // the weight gradients, nil when not trained
	if !c.Frozen && !g.inference {
		dw, db = g.weightGrads(out, c.trainParams())
	}
	if g.Workers <= 1 || n == 1 {
		c.forward(g.arena, out.Value, x.Value, pad)
	} else {
		// The arena is not safe for concurrent use: the parts take their
		// scratch from the heap.
		batchSplit(g.Workers, n, func(_, lo, hi int) {
			c.forward(nil, batchSlice(out.Value, lo, hi), batchSlice(x.Value, lo, hi), pad)
		})
	}
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad == nil {
				return
			}
			dz := g.arena.NewUninit(out.Value.Shape...)
			activationGrad(dz.Data, out.Value.Data, out.Grad.Data, c.Cout, c.Scale, c.Act)
			var dx *tensor.Tensor
			if x.needsGrad {
				dx = g.grad(x)
			}
			conv2DBackward(g.Workers, c, x.Value, dz, dx, dw, db, pad)
		})
	}
	return out
}

// weightGrads returns the gradient buffers of a layer's weights and bias
// (params: W, then Bias when it has one) that this graph trains, nil for
// those it does not, and marks out as needing a gradient when any is
// trained. Only a trained layer is asked: making its Params allocates
// gradient buffers and writes the layer, which a shared network must not.
func (g *Graph) weightGrads(out *Var, params []*Param) (dw, db *tensor.Tensor) {
	if g.trains(params[0]) {
		dw = params[0].Grad
	}
	if len(params) > 1 && g.trains(params[1]) {
		db = params[1].Grad
	}
	out.needsGrad = out.needsGrad || dw != nil || db != nil
	return dw, db
}

// conv2DBackward adds the gradients of a convolution given dz = dL/d(conv
// output before the epilogue): when not nil, dw += im2col(x)ᵀ·dz,
// db += Σ dz and dx += col2im(dz·Wᵀ). The batch is split over workers,
// each with its own dW, summed at the end; their dx images are disjoint.
func conv2DBackward(workers int, c *Conv2D, x, dz, dx, dw, db *tensor.Tensor, pad Padding) {
	n := x.Shape[0]
	_, oh, ow, cout := dims4(dz)
	k := c.KH * c.KW * c.Cin
	if db != nil {
		sumRows(db.Data, dz.Data, cout)
	}
	if dw == nil && dx == nil {
		return
	}
	workers = max(min(workers, n), 1)
	dws := make([][]float32, workers)
	pointwise := c.KH == 1 && c.KW == 1 && c.Stride == 1 && pad == (Padding{})
	batchSplit(workers, n, func(part, lo, hi int) {
		xs, dzs := batchSlice(x, lo, hi), batchSlice(dz, lo, hi)
		var dxs *tensor.Tensor
		if dx != nil {
			dxs = batchSlice(dx, lo, hi)
		}
		var dwp []float32
		if dw != nil {
			dwp = dw.Data
			if part > 0 {
				dwp = make([]float32, k*cout)
				dws[part] = dwp
			}
		}
		m := (hi - lo) * oh * ow
		if pointwise {
			// The lowered input is x itself.
			if dwp != nil {
				gemm.MatMulTA(k, cout, m, xs.Data, k, dzs.Data, cout, dwp, cout, true)
			}
			if dxs != nil {
				gemm.MatMulTB(m, k, cout, dzs.Data, cout, c.W.Data, cout, dxs.Data, k, true)
			}
			return
		}
		rowsPerBlock := min(max(im2colBlockBytes/(4*k), 16), m)
		cols := make([]float32, rowsPerBlock*k)
		for r0 := 0; r0 < m; r0 += rowsPerBlock {
			rows := min(rowsPerBlock, m-r0)
			dzb := dzs.Data[r0*cout : (r0+rows)*cout]
			if dwp != nil {
				im2col(cols[:rows*k], xs, c.Window, pad, oh, ow, r0, rows)
				gemm.MatMulTA(k, cout, rows, cols, k, dzb, cout, dwp, cout, true)
			}
			if dxs != nil {
				gemm.MatMulTB(rows, k, cout, dzb, cout, c.W.Data, cout, cols, k, false)
				col2im(dxs, cols[:rows*k], c.Window, pad, oh, ow, r0, rows)
			}
		}
	})
	for _, p := range dws[1:] {
		if p != nil {
			addTo(dw.Data, p)
		}
	}
}

// Dense applies the fully connected layer d to x [N, In] (any shape whose
// size is a multiple of In), giving [N, Out]. Backward adds dL/dW and
// dL/dBias to d's Params (unless d is Frozen) and computes dL/dx when x
// needs it.
func (g *Graph) Dense(x *Var, d *Dense) *Var {
	if !g.ok(x) {
		return &Var{Value: &tensor.Tensor{}}
	}
	if d == nil || d.W == nil || d.In < 1 {
		return g.fail("dense layer not made by NewDense")
	}
	if x.Value.Len() == 0 || x.Value.Len()%d.In != 0 {
		return g.fail("dense expects rows of %d inputs, got %v", d.In, x.Value.Shape)
	}
	n := x.Value.Len() / d.In
	out := g.newVar(g.arena.NewUninit(n, d.Out), x)
	var dw, db *tensor.Tensor
	if !d.Frozen && !g.inference {
		dw, db = g.weightGrads(out, d.trainParams())
	}
	// With one worker this is Dense.Forward's single GEMM.
	gemm.MatMulParallel(g.Workers, n, d.Out, d.In, x.Value.Data, d.In, d.W.Data, d.Out, out.Value.Data, d.Out, false)
	affineAct(out.Value.Data, d.Out, d.Bias, nil, nil, d.Act)
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad == nil {
				return
			}
			dz := g.arena.NewUninit(n, d.Out)
			activationGrad(dz.Data, out.Value.Data, out.Grad.Data, d.Out, nil, d.Act)
			var dx []float32
			if x.needsGrad {
				dx = g.grad(x).Data
			}
			denseBackward(d, n, x.Value.Data, dz.Data, dx, dw, db)
		})
	}
	return out
}

// denseBackward adds the gradients of y = x·W + b given dz = dL/dy, each
// when its buffer is not nil: dw += xᵀ·dz, db += Σ dz, dx += dz·Wᵀ.
func denseBackward(d *Dense, n int, x, dz, dx []float32, dw, db *tensor.Tensor) {
	if dw != nil {
		gemm.MatMulTA(d.In, d.Out, n, x, d.In, dz, d.Out, dw.Data, d.Out, true)
	}
	if db != nil {
		sumRows(db.Data, dz, d.Out)
	}
	if dx != nil {
		gemm.MatMulTB(n, d.In, d.Out, dz, d.Out, d.W.Data, d.Out, dx, d.In, true)
	}
}

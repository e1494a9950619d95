package onnx

import (
	"errors"
	"fmt"

	"github.com/facerec/facerec/nn"
)

// The operators of the attribute and liveness networks (squeeze-excitation
// blocks, SSR-Net's two streams, DenseNet-like concatenations) and the
// shape arithmetic PyTorch exports around a flatten: Shape, Gather,
// Unsqueeze and Concat of INT64 constants are evaluated while compiling,
// so that a Reshape's target is a constant by the time it is read.

// unary compiles a Relu, Sigmoid or Tanh of any computed value.
func (c *compiler) unary(n *Node) (*step, value, error) {
	var v value
	if err := checkAttrs(n); err != nil {
		return nil, v, err
	}
	if len(n.Inputs) != 1 {
		return nil, v, fmt.Errorf("%d inputs, want 1", len(n.Inputs))
	}
	x, ok := c.vals[n.Inputs[0]]
	if !ok {
		return nil, v, fmt.Errorf("input %q is not computed before this node", n.Inputs[0])
	}
	return &step{in: n.Inputs}, x, nil
}

// mul compiles a Mul of two computed values of one shape, or of a map by
// a 1×1 map of as many channels (a squeeze-excitation gate), in either
// order. A constant operand (broadcasting it) is not supported.
func (c *compiler) mul(n *Node) (*step, value, error) {
	var v value
	if err := checkAttrs(n); err != nil {
		return nil, v, err
	}
	if len(n.Inputs) != 2 {
		return nil, v, fmt.Errorf("%d inputs, want 2", len(n.Inputs))
	}
	a, ok := c.vals[n.Inputs[0]]
	b, ok2 := c.vals[n.Inputs[1]]
	if !ok || !ok2 {
		return nil, v, errors.New("a Mul of a value not computed before it (a constant operand is not supported)")
	}
	if a.image == b.image && a.h == b.h && a.w == b.w && a.c == b.c && fmt.Sprint(a.dims) == fmt.Sprint(b.dims) {
		return &step{in: n.Inputs}, a, nil
	}
	gate := func(x, s value) bool { return x.image && s.image && s.h == 1 && s.w == 1 && s.c == x.c }
	switch {
	case gate(a, b):
		return &step{in: n.Inputs, scale: true}, a, nil
	case gate(b, a):
		return &step{in: []string{n.Inputs[1], n.Inputs[0]}, scale: true}, b, nil
	}
	return nil, v, errors.New("a Mul of two shapes (only equal shapes, or a map by one value per channel)")
}

// pool compiles a GlobalAveragePool, a MaxPool or an AveragePool (equal
// strides, explicit pads smaller than the window, floor rounding; an
// average over padding only where count_include_pad is 0, as nn counts
// the cells inside the image).
func (c *compiler) pool(n *Node) (*step, value, error) {
	var v value
	if len(n.Inputs) != 1 {
		return nil, v, fmt.Errorf("%d inputs, want 1", len(n.Inputs))
	}
	x, err := c.image(n.Inputs[0])
	if err != nil {
		return nil, v, err
	}
	if n.OpType == "GlobalAveragePool" {
		if err := checkAttrs(n); err != nil {
			return nil, v, err
		}
		return &step{in: n.Inputs}, value{image: true, h: 1, w: 1, c: x.c}, nil
	}
	if err := checkAttrs(n, "kernel_shape", "strides", "pads", "ceil_mode", "count_include_pad", "auto_pad", "dilations", "storage_order"); err != nil {
		return nil, v, err
	}
	if a := n.Attr("auto_pad"); a != nil && string(a.S) != "NOTSET" {
		return nil, v, fmt.Errorf("auto_pad %q is not supported", a.S)
	}
	for _, name := range []string{"ceil_mode", "storage_order"} {
		if f, err := intAttr(n, name, 0); err != nil || f != 0 {
			return nil, v, fmt.Errorf("%s other than 0 is not supported", name)
		}
	}
	if d, err := ints(n, "dilations", 1, 1); err != nil || len(d) != 2 || d[0] != 1 || d[1] != 1 {
		return nil, v, fmt.Errorf("dilations %v are not supported (only 1)", d)
	}
	k, err := ints(n, "kernel_shape")
	if err != nil {
		return nil, v, err
	}
	if len(k) != 2 || k[0] < 1 || k[1] < 1 || k[0] > int64(x.h) || k[1] > int64(x.w) {
		return nil, v, fmt.Errorf("kernel_shape %v for a %d×%d map", k, x.h, x.w)
	}
	strides, err := ints(n, "strides", 1, 1)
	if err != nil {
		return nil, v, err
	}
	if len(strides) != 2 || strides[0] != strides[1] || strides[0] < 1 || strides[0] > 64 {
		return nil, v, fmt.Errorf("strides %v are not supported (two equal strides in 1..64)", strides)
	}
	pads, err := ints(n, "pads", 0, 0, 0, 0)
	if err != nil {
		return nil, v, err
	}
	if len(pads) != 4 {
		return nil, v, fmt.Errorf("pads %v: want 4 values", pads)
	}
	padded := false
	for i, p := range pads {
		if p < 0 || p >= k[i%2] {
			return nil, v, fmt.Errorf("pads %v are not supported (each in 0..kernel-1)", pads)
		}
		padded = padded || p > 0
	}
	if n.OpType == "AveragePool" && padded {
		if inc, err := intAttr(n, "count_include_pad", 0); err != nil || inc != 0 {
			return nil, v, errors.New("count_include_pad with padding is not supported")
		}
	}
	win := &nn.Window{KH: int(k[0]), KW: int(k[1]), Stride: int(strides[0]), Mode: nn.Explicit,
		Pad: nn.Padding{Top: int(pads[0]), Left: int(pads[1]), Bottom: int(pads[2]), Right: int(pads[3])}}
	oh, ow, _ := win.OutSize(x.h, x.w)
	if oh < 1 || ow < 1 {
		return nil, v, fmt.Errorf("a %d×%d window does not fit a %d×%d input", k[0], k[1], x.h, x.w)
	}
	return &step{in: n.Inputs, pool: win}, value{image: true, h: oh, w: ow, c: x.c}, nil
}

// padNode compiles a Pad of zeros (mode constant, value 0) around the
// rows and columns of a map; pads from the attribute (opset < 11) or a
// constant input. Pads of nothing, which PyTorch exports before an
// average pool, are a view of the input.
func (c *compiler) padNode(n *Node) (*step, value, error) {
	var v value
	if err := checkAttrs(n, "mode", "pads", "value"); err != nil {
		return nil, v, err
	}
	if a := n.Attr("mode"); a != nil && string(a.S) != "constant" {
		return nil, v, fmt.Errorf("mode %q is not supported (only constant)", a.S)
	}
	if a := n.Attr("value"); a != nil && (a.Type != AttrFloat || a.F != 0) {
		return nil, v, errors.New("a pad value other than 0 is not supported")
	}
	if len(n.Inputs) < 1 {
		return nil, v, errors.New("no input")
	}
	x, err := c.image(n.Inputs[0])
	if err != nil {
		return nil, v, err
	}
	var pads []int64
	switch {
	case len(n.Inputs) == 1:
		if pads, err = ints(n, "pads"); err != nil {
			return nil, v, err
		}
	case n.Attr("pads") == nil && (len(n.Inputs) == 2 || len(n.Inputs) == 3 && n.Inputs[2] == ""):
		t, err := c.tensorInput(n.Inputs[1])
		if err != nil {
			return nil, v, err
		}
		if t.DataType != Int64 {
			return nil, v, fmt.Errorf("pads %q must be INT64", t.Name)
		}
		pads = t.Int64s
	default:
		return nil, v, errors.New("pads must be an attribute or one constant input (a constant value input is not supported)")
	}
	// [N, C, H, W] begins, then ends.
	if len(pads) != 8 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 {
		return nil, v, fmt.Errorf("pads %v are not supported (rows and columns of a map only)", pads)
	}
	p := nn.Padding{Top: int(pads[2]), Left: int(pads[3]), Bottom: int(pads[6]), Right: int(pads[7])}
	// At most the map's own size on each side: enough for any network,
	// and a chain of pads cannot blow a small map up.
	for i, q := range []int64{pads[2], pads[3], pads[6], pads[7]} {
		if q < 0 || q > int64([]int{x.h, x.w}[i%2]) {
			return nil, v, fmt.Errorf("pads %v are not supported (each in 0..the map's size)", pads)
		}
	}
	s := &step{in: n.Inputs[:1]}
	if p == (nn.Padding{}) {
		s.view = true
	} else {
		s.pad = &p
	}
	return s, value{image: true, h: x.h + p.Top + p.Bottom, w: x.w + p.Left + p.Right, c: x.c}, nil
}

// concat compiles a Concat of maps of one size along the channels.
func (c *compiler) concat(n *Node) (*step, value, error) {
	var v value
	if err := checkAttrs(n, "axis"); err != nil {
		return nil, v, err
	}
	axis, err := intAttr(n, "axis", 1)
	if err != nil {
		return nil, v, err
	}
	if axis != 1 && axis != -3 {
		return nil, v, fmt.Errorf("a Concat of maps along axis %d (only the channels, 1)", axis)
	}
	if len(n.Inputs) < 1 {
		return nil, v, errors.New("no input")
	}
	for i, name := range n.Inputs {
		x, err := c.image(name)
		if err != nil {
			return nil, v, err
		}
		if i == 0 {
			v = x
			continue
		}
		if x.h != v.h || x.w != v.w {
			return nil, v, fmt.Errorf("a Concat of a %d×%d map with a %d×%d one", v.h, v.w, x.h, x.w)
		}
		v.c += x.c
	}
	return &step{in: n.Inputs}, v, nil
}

// isConst reports whether name is an initializer or a constant.
func (c *compiler) isConst(name string) bool { return c.inits[name] != nil || c.consts[name] != nil }

// setConst records the constant a folded node computes.
func (c *compiler) setConst(name string, t *Tensor) {
	if c.consts == nil {
		c.consts = map[string]*Tensor{}
	}
	t.Name = name
	c.consts[name] = t
}

// int64Const returns the INT64 constant called name.
func (c *compiler) int64Const(name string) (*Tensor, error) {
	t, err := c.tensorInput(name)
	if err != nil {
		return nil, err
	}
	if t.DataType != Int64 || len(t.Dims) > 1 {
		return nil, fmt.Errorf("input %q must be an INT64 scalar or vector, got %v %v", name, t.DataType, t.Dims)
	}
	return t, nil
}

// fold evaluates a Shape of a computed value, or a Gather or an Unsqueeze
// of an INT64 constant. A Shape's batch dimension is 1: the only reader
// supported is a Reshape, which keeps the batch first whatever it says.
func (c *compiler) fold(n *Node) error {
	if len(n.Inputs) < 1 {
		return errors.New("no input")
	}
	out := n.Outputs[0]
	switch n.OpType {
	case "Shape":
		if err := checkAttrs(n); err != nil {
			return err
		}
		x, ok := c.vals[n.Inputs[0]]
		if !ok || len(n.Inputs) != 1 {
			return fmt.Errorf("the Shape of %q, which is not computed before this node", n.Inputs[0])
		}
		dims := []int64{1}
		if x.image {
			dims = append(dims, int64(x.c), int64(x.h), int64(x.w))
		} else {
			for _, d := range x.dims {
				dims = append(dims, int64(d))
			}
		}
		c.setConst(out, &Tensor{Dims: []int64{int64(len(dims))}, DataType: Int64, Int64s: dims})
	case "Gather":
		if err := checkAttrs(n, "axis"); err != nil {
			return err
		}
		if axis, err := intAttr(n, "axis", 0); err != nil || axis != 0 {
			return errors.New("a Gather along an axis other than 0 is not supported")
		}
		if len(n.Inputs) != 2 {
			return fmt.Errorf("%d inputs, want 2", len(n.Inputs))
		}
		data, err := c.int64Const(n.Inputs[0])
		if err != nil {
			return fmt.Errorf("a Gather of values computed at run time is not supported: %w", err)
		}
		idx, err := c.int64Const(n.Inputs[1])
		if err != nil {
			return err
		}
		if len(data.Dims) != 1 {
			return errors.New("a Gather from a scalar")
		}
		vals := make([]int64, len(idx.Int64s))
		for i, j := range idx.Int64s {
			if j < 0 {
				j += int64(len(data.Int64s))
			}
			if j < 0 || j >= int64(len(data.Int64s)) {
				return fmt.Errorf("index %d out of range for %d values", idx.Int64s[i], len(data.Int64s))
			}
			vals[i] = data.Int64s[j]
		}
		c.setConst(out, &Tensor{Dims: append([]int64(nil), idx.Dims...), DataType: Int64, Int64s: vals})
	case "Unsqueeze":
		if err := checkAttrs(n, "axes"); err != nil {
			return err
		}
		t, err := c.int64Const(n.Inputs[0])
		if err != nil {
			return fmt.Errorf("an Unsqueeze of values computed at run time is not supported: %w", err)
		}
		axes, err := ints(n, "axes")
		if err != nil {
			return err
		}
		if len(n.Inputs) == 2 && axes == nil {
			a, err := c.int64Const(n.Inputs[1])
			if err != nil {
				return err
			}
			axes = a.Int64s
		}
		// Of the scalar and 1-D constants folded here, only a scalar to
		// [1] is an unsqueeze whose result is still a vector.
		if len(t.Dims) != 0 || len(axes) != 1 || axes[0] != 0 && axes[0] != -1 {
			return fmt.Errorf("an Unsqueeze of dims %v along %v (only a scalar to a vector)", t.Dims, axes)
		}
		c.setConst(out, &Tensor{Dims: []int64{1}, DataType: Int64, Int64s: append([]int64(nil), t.Int64s...)})
	}
	return nil
}

// foldConcat evaluates a Concat of INT64 vectors (a Reshape's target).
func (c *compiler) foldConcat(n *Node) error {
	if err := checkAttrs(n, "axis"); err != nil {
		return err
	}
	if axis, err := intAttr(n, "axis", 0); err != nil || axis != 0 && axis != -1 {
		return errors.New("a Concat of constants along an axis other than 0")
	}
	var vals []int64
	for _, name := range n.Inputs {
		t, err := c.int64Const(name)
		if err != nil {
			return err
		}
		if len(t.Dims) != 1 {
			return fmt.Errorf("a Concat of the scalar %q", name)
		}
		vals = append(vals, t.Int64s...)
		if len(vals) > 16 {
			return errors.New("a Concat of more than 16 constants")
		}
	}
	c.setConst(n.Outputs[0], &Tensor{Dims: []int64{int64(len(vals))}, DataType: Int64, Int64s: vals})
	return nil
}

// run records the ops of this file's steps on g.
func (s *step) run(g *nn.Graph, ins []*nn.Var) (*nn.Var, error) {
	switch {
	case s.op == "Relu":
		return g.ReLU(ins[0]), nil
	case s.op == "Sigmoid":
		return g.Sigmoid(ins[0]), nil
	case s.op == "Tanh":
		return g.Tanh(ins[0]), nil
	case s.op == "Mul" && s.scale:
		sh := ins[1].Value.Shape
		return g.ScaleChannels(ins[0], g.Reshape(ins[1], sh[0], sh[3])), nil
	case s.op == "Mul":
		return g.Mul(ins[0], ins[1]), nil
	case s.op == "GlobalAveragePool":
		sh := ins[0].Value.Shape
		return g.Reshape(g.GlobalAvgPool(ins[0]), sh[0], 1, 1, sh[3]), nil
	case s.op == "MaxPool":
		return g.MaxPool(ins[0], *s.pool), nil
	case s.op == "AveragePool":
		return g.AvgPool(ins[0], *s.pool), nil
	case s.op == "Pad" && s.view:
		return ins[0], nil
	case s.op == "Pad":
		return g.PadSpatial(ins[0], *s.pad), nil
	case s.op == "Concat":
		return g.Concat(ins...), nil
	case s.gather != nil:
		return g.GatherChannels(ins[0], s.gather), nil
	case s.view:
		return ins[0], nil // the views of a shuffle
	case s.op == "ReduceMean" && s.keepDims:
		sh := ins[0].Value.Shape
		return g.Reshape(g.GlobalAvgPool(ins[0]), sh[0], 1, 1, sh[3]), nil
	case s.op == "ReduceMean":
		return g.GlobalAvgPool(ins[0]), nil
	}
	return nil, fmt.Errorf("nothing compiled for %s", s.op)
}

// ShuffleNet's channel shuffle is exported as Reshape [N, g, C/g, H, W],
// Transpose [0, 2, 1, 3, 4], Reshape [N, C, H, W]: the two first steps
// are views here, and the last gathers the channels in their new order.
// Split along the channels and ReduceMean over the rows and columns
// complete the operators of a ShuffleNet.

// shuffleReshape reports whether n is a Reshape to or from the 5-D view.
func (c *compiler) shuffleReshape(n *Node) bool {
	if n.OpType != "Reshape" || len(n.Inputs) != 2 {
		return false
	}
	if c.vals[n.Inputs[0]].groups > 0 {
		return true
	}
	t, err := c.int64Const(n.Inputs[1])
	return err == nil && len(t.Int64s) == 5 && c.vals[n.Inputs[0]].image
}

// reshapeGroups compiles the first or the last Reshape of a shuffle.
func (c *compiler) reshapeGroups(n *Node) (*step, value, error) {
	var v value
	if err := checkAttrs(n); err != nil {
		return nil, v, err
	}
	x, ok := c.vals[n.Inputs[0]]
	if !ok {
		return nil, v, fmt.Errorf("input %q is not computed before this node", n.Inputs[0])
	}
	t, err := c.int64Const(n.Inputs[1])
	if err != nil {
		return nil, v, err
	}
	sh := t.Int64s
	keepsBatch := len(sh) > 0 && (sh[0] == 0 || sh[0] == 1 || sh[0] == -1)
	if x.groups == 0 {
		// To [N, g, C/g, H, W].
		g := sh[1]
		if !keepsBatch || g < 1 || int64(x.c)%g != 0 || sh[2] != int64(x.c)/g || sh[3] != int64(x.h) || sh[4] != int64(x.w) {
			return nil, v, fmt.Errorf("target shape %v of a %d×%d×%d map is not a channel grouping [N, g, C/g, H, W]", sh, x.c, x.h, x.w)
		}
		x.groups = int(g)
		return &step{in: n.Inputs[:1], view: true}, x, nil
	}
	// Back to [N, C, H, W].
	if len(sh) != 4 || !keepsBatch || (sh[1] != -1 && sh[1] != int64(x.c)) || sh[2] != int64(x.h) || sh[3] != int64(x.w) {
		return nil, v, fmt.Errorf("target shape %v of a grouped %d×%d×%d map (only back to [N, C, H, W])", sh, x.c, x.h, x.w)
	}
	g, swapped := x.groups, x.swapped
	x.groups, x.swapped = 0, false
	if !swapped {
		return &step{in: n.Inputs[:1], view: true}, x, nil
	}
	// Channel k of the result is (j, i) of the swapped view, k = j·g + i,
	// which was channel i·(C/g) + j.
	per := x.c / g
	idx := make([]int, x.c)
	for k := range idx {
		idx[k] = (k%g)*per + k/g
	}
	return &step{in: n.Inputs[:1], gather: idx}, x, nil
}

// transpose compiles the Transpose of a shuffle (perm [0, 2, 1, 3, 4] of
// the 5-D view); no other Transpose is supported.
func (c *compiler) transpose(n *Node) (*step, value, error) {
	var v value
	if err := checkAttrs(n, "perm"); err != nil {
		return nil, v, err
	}
	if len(n.Inputs) != 1 {
		return nil, v, fmt.Errorf("%d inputs, want 1", len(n.Inputs))
	}
	x, ok := c.vals[n.Inputs[0]]
	perm, err := ints(n, "perm")
	if err != nil {
		return nil, v, err
	}
	if !ok || x.groups == 0 || fmt.Sprint(perm) != "[0 2 1 3 4]" {
		return nil, v, fmt.Errorf("a Transpose %v is supported only as a channel shuffle's (perm [0 2 1 3 4] of a map grouped by a Reshape)", perm)
	}
	x.swapped = !x.swapped
	return &step{in: n.Inputs, view: true}, x, nil
}

// split compiles a Split of a map along the channels (sizes from the
// split attribute, or equal parts): one gather of channels per output.
func (c *compiler) split(n *Node) ([]*step, error) {
	if err := checkAttrs(n, "axis", "split"); err != nil {
		return nil, err
	}
	if len(n.Inputs) != 1 {
		return nil, fmt.Errorf("%d inputs, want 1 (split sizes as an input are not supported)", len(n.Inputs))
	}
	x, err := c.image(n.Inputs[0])
	if err != nil {
		return nil, err
	}
	if axis, err := intAttr(n, "axis", 0); err != nil || (axis != 1 && axis != -3) {
		return nil, errors.New("a Split along an axis other than the channels (1)")
	}
	k := len(n.Outputs)
	sizes, err := ints(n, "split")
	if err != nil {
		return nil, err
	}
	if sizes == nil {
		if k < 1 || x.c%k != 0 {
			return nil, fmt.Errorf("%d channels into %d equal parts", x.c, k)
		}
		for range k {
			sizes = append(sizes, int64(x.c/k))
		}
	}
	total := int64(0)
	for _, s := range sizes {
		if s < 1 {
			return nil, fmt.Errorf("split sizes %v", sizes)
		}
		total += s
	}
	if len(sizes) != k || total != int64(x.c) {
		return nil, fmt.Errorf("split sizes %v for %d channels and %d outputs", sizes, x.c, k)
	}
	var steps []*step
	from := 0
	for i, out := range n.Outputs {
		if out == "" {
			return nil, errors.New("an unnamed Split output")
		}
		if _, dup := c.vals[out]; dup || c.isConst(out) {
			return nil, fmt.Errorf("output %q is computed twice", out)
		}
		idx := make([]int, sizes[i])
		for j := range idx {
			idx[j] = from + j
		}
		from += int(sizes[i])
		v := x
		v.c = len(idx)
		c.vals[out] = v
		steps = append(steps, &step{op: "Split", in: n.Inputs, out: out, gather: idx})
	}
	return steps, nil
}

// reduceMean compiles a ReduceMean of a map over its rows and columns
// (axes [2, 3]): a global average pool, kept 1×1 with keepdims.
func (c *compiler) reduceMean(n *Node) (*step, value, error) {
	var v value
	if err := checkAttrs(n, "axes", "keepdims"); err != nil {
		return nil, v, err
	}
	if len(n.Inputs) != 1 {
		return nil, v, fmt.Errorf("%d inputs, want 1", len(n.Inputs))
	}
	x, err := c.image(n.Inputs[0])
	if err != nil {
		return nil, v, err
	}
	axes, err := ints(n, "axes")
	if err != nil {
		return nil, v, err
	}
	if fmt.Sprint(axes) != "[2 3]" && fmt.Sprint(axes) != "[-2 -1]" {
		return nil, v, fmt.Errorf("a ReduceMean over axes %v (only the rows and columns, [2 3])", axes)
	}
	keep, err := intAttr(n, "keepdims", 1)
	if err != nil || (keep != 0 && keep != 1) {
		return nil, v, errors.New("keepdims must be 0 or 1")
	}
	if keep == 1 {
		return &step{in: n.Inputs, keepDims: true}, value{image: true, h: 1, w: 1, c: x.c}, nil
	}
	return &step{in: n.Inputs}, value{dims: []int{x.c}}, nil
}

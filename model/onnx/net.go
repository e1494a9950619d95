package onnx

import (
	"errors"
	"fmt"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// Net is an ONNX graph compiled onto nn layers: a convolutional network
// with one image input [N, C, H, W] and one output. Its Graph method
// records the network on an nn.Graph, so the same definition runs on a
// recording graph (gradients reach the input; the weights are frozen) and
// on an inference graph.
//
// facerec's tensors are NHWC where ONNX's are NCHW: Compile converts the
// weights (OIHW to HWIO), and Graph takes and keeps images channels-last.
// A map larger than 1×1 is put channels first (nn's ChannelsFirst) before
// it is flattened, and so is a map output, so that flat values are in
// ONNX's order.
//
// The supported operators are Conv (dense, or depthwise when group equals
// the channels; explicit pads, equal strides, no dilation), PRelu (one
// slope per channel, or one for all), Add (equal shapes),
// BatchNormalization (inference: the running statistics), Reshape and
// Flatten (keeping the batch first), Gemm and MatMul (a flat value times
// a constant matrix, plus a bias), and Constant. Any other operator, or
// an attribute or form of these the compiler does not implement, is an
// error naming it.
//
// A Net is read-only after Compile and safe for concurrent use.
type Net struct {
	input   string
	outputs []output
	c, h, w int // the input image's channels and size
	steps   []step
	// fresh marks the values computed into a buffer of their own (not the
	// input, not a view made by a reshape), which their last reader, an
	// Add or a PRelu, may overwrite in an inference graph.
	fresh map[string]bool
	// root maps a view (a Reshape, Flatten or zero Pad) to the value whose
	// buffer it shares, so that the buffer is overwritten only after the
	// last reader of any of its views.
	root map[string]string
	// maxLen is the largest value's elements per image.
	maxLen int
}

// output is one of the graph's outputs.
type output struct {
	name string
	len  int  // elements per image
	chw  bool // a map larger than 1×1: returned channels first
}

// step is one node, bound to its layers.
type step struct {
	op     string
	name   string // the node's name, or its op and index
	in     []string
	out    string
	conv   *nn.Conv2D
	dw     *nn.DepthwiseConv2D
	slope  *nn.Param // PRelu; a buffer, so never trained
	bn     *nn.BatchNorm
	dense  *nn.Dense // Gemm, MatMul
	shape  []int     // Reshape and Flatten: the per-image dims of the output
	chw    bool      // Reshape and Flatten of a map: channels first before
	view   bool      // the output shares the input's buffer (a Pad of zeros)
	pool   *nn.Window
	pad    *nn.Padding
	scale  bool  // Mul of a map by one value per channel (1×1 map), in that order
	gather []int // Split or the end of a channel shuffle: the channels taken
	// keepDims: a ReduceMean that keeps its 1×1 map.
	keepDims bool
}

// value is what Compile knows of a value: an image (NHWC: h, w, c) or a
// flat value with its ONNX dims after the batch (dims).
type value struct {
	image   bool
	h, w, c int
	dims    []int // flat: per-image dims, in ONNX order
	// groups > 0 marks a map viewed as [N, groups, C/groups, H, W] (a
	// channel shuffle's first step), swapped as [N, C/groups, groups, H, W].
	groups  int
	swapped bool
}

func (v value) len() int {
	if v.image {
		return v.h * v.w * v.c
	}
	return tensor.Numel(v.dims)
}

// Load reads and compiles the ONNX file at path.
func Load(path string) (*Net, error) {
	m, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	net, err := Compile(m)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return net, nil
}

// Compile binds m's graph to nn layers, checking every node and inferring
// every shape for the declared input size (the batch may be symbolic).
func Compile(m *Model) (*Net, error) {
	for _, o := range m.Opsets {
		if o.Domain != "" && o.Domain != "ai.onnx" {
			return nil, fmt.Errorf("onnx: opset domain %q is not supported", o.Domain)
		}
	}
	g := &m.Graph
	inits := map[string]*Tensor{}
	for _, t := range g.Initializers {
		if t.Name == "" {
			return nil, errors.New("onnx: an initializer without a name")
		}
		inits[t.Name] = t
	}
	var inputs []ValueInfo
	for _, v := range g.Inputs {
		if inits[v.Name] == nil { // old exporters list the weights as inputs too
			inputs = append(inputs, v)
		}
	}
	if len(inputs) != 1 || len(g.Outputs) < 1 {
		return nil, fmt.Errorf("onnx: a graph with %d inputs and %d outputs; one input and at least one output are supported", len(inputs), len(g.Outputs))
	}
	in := inputs[0]
	if in.ElemType != Float || len(in.Shape) != 4 {
		return nil, fmt.Errorf("onnx: input %q must be a FLOAT [N, C, H, W] image, got %v with shape %v", in.Name, in.ElemType, in.Shape)
	}
	var chw [3]int
	for i, d := range in.Shape[1:] {
		if d.Param != "" || d.Value < 1 || d.Value > 1<<14 {
			return nil, fmt.Errorf("onnx: input %q: dimension %d must be a fixed size in 1..16384, got %+v", in.Name, i+1, d)
		}
		chw[i] = int(d.Value)
	}
	net := &Net{input: in.Name, c: chw[0], h: chw[1], w: chw[2], fresh: map[string]bool{}, root: map[string]string{}}
	c := &compiler{inits: inits, vals: map[string]value{in.Name: {image: true, c: chw[0], h: chw[1], w: chw[2]}}}
	for i := range g.Nodes {
		var err error
		n := &g.Nodes[i]
		name := n.Name
		if name == "" {
			name = fmt.Sprintf("%s #%d", n.OpType, i)
		}
		var ss []*step
		if n.OpType == "Split" {
			ss, err = c.split(n)
		} else {
			var s *step
			s, err = c.node(n)
			if s != nil {
				ss = []*step{s}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("onnx: node %s (%s): %w", name, n.OpType, err)
		}
		for _, s := range ss {
			s.name = name
			net.steps = append(net.steps, *s)
			if s.shape == nil && !s.view {
				net.fresh[s.out] = true
			} else {
				net.root[s.out] = net.rootOf(s.in[0])
			}
		}
	}
	net.maxLen = c.maxLen
	seen := map[string]bool{}
	for _, o := range g.Outputs {
		out, ok := c.vals[o.Name]
		if !ok {
			return nil, fmt.Errorf("onnx: no node computes the output %q", o.Name)
		}
		if seen[o.Name] || o.Name == in.Name {
			return nil, fmt.Errorf("onnx: output %q is listed twice or is the input", o.Name)
		}
		seen[o.Name] = true
		// A map output is returned flat, in ONNX's (channels-first) order.
		net.outputs = append(net.outputs, output{name: o.Name, len: out.len(), chw: out.image && (out.h != 1 || out.w != 1)})
	}
	return net, nil
}

// rootOf returns the value whose buffer name shares.
func (net *Net) rootOf(name string) string {
	for {
		r, ok := net.root[name]
		if !ok {
			return name
		}
		name = r
	}
}

// compiler carries the values known so far while compiling a graph.
type compiler struct {
	maxLen int
	inits  map[string]*Tensor
	vals   map[string]value
	consts map[string]*Tensor // Constant nodes' outputs
}

// tensorInput returns the initializer or constant called name.
func (c *compiler) tensorInput(name string) (*Tensor, error) {
	if t := c.inits[name]; t != nil {
		return t, nil
	}
	if t := c.consts[name]; t != nil {
		return t, nil
	}
	return nil, fmt.Errorf("input %q is not an initializer or constant", name)
}

// image returns the image value called name.
func (c *compiler) image(name string) (value, error) {
	v, ok := c.vals[name]
	if !ok {
		return v, fmt.Errorf("input %q is not computed before this node", name)
	}
	if !v.image {
		return v, fmt.Errorf("input %q is not an image", name)
	}
	if v.groups > 0 {
		return v, fmt.Errorf("input %q is a 5-D view of a map (only a Transpose or a Reshape back may read it)", name)
	}
	return v, nil
}

// checkAttrs refuses attributes the compiler does not implement.
func checkAttrs(n *Node, known ...string) error {
	for _, a := range n.Attrs {
		found := false
		for _, k := range known {
			found = found || a.Name == k
		}
		if !found {
			return fmt.Errorf("attribute %q is not supported", a.Name)
		}
	}
	return nil
}

// ints returns the INTS attribute name, or def when it is absent.
func ints(n *Node, name string, def ...int64) ([]int64, error) {
	a := n.Attr(name)
	if a == nil {
		return def, nil
	}
	if a.Type != AttrInts {
		return nil, fmt.Errorf("attribute %q is not a list of ints", name)
	}
	return a.Ints, nil
}

// intAttr returns the INT attribute name, or def when it is absent.
func intAttr(n *Node, name string, def int64) (int64, error) {
	a := n.Attr(name)
	if a == nil {
		return def, nil
	}
	if a.Type != AttrInt {
		return 0, fmt.Errorf("attribute %q is not an int", name)
	}
	return a.I, nil
}

func (c *compiler) node(n *Node) (*step, error) {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return nil, fmt.Errorf("operator domain %q is not supported", n.Domain)
	}
	if len(n.Outputs) != 1 || n.Outputs[0] == "" {
		return nil, fmt.Errorf("%d outputs; one is supported", len(n.Outputs))
	}
	out := n.Outputs[0]
	if _, dup := c.vals[out]; dup || c.inits[out] != nil || c.consts[out] != nil {
		return nil, fmt.Errorf("output %q is computed twice", out)
	}
	var (
		s   *step
		v   value
		err error
	)
	if n.OpType != "Reshape" && n.OpType != "Transpose" {
		for _, in := range n.Inputs {
			if c.vals[in].groups > 0 {
				return nil, fmt.Errorf("input %q is a 5-D view of a map (only a Transpose or a Reshape back may read it)", in)
			}
		}
	}
	switch n.OpType {
	case "Conv":
		s, v, err = c.conv(n)
	case "PRelu":
		s, v, err = c.prelu(n)
	case "Add":
		s, v, err = c.add(n)
	case "Reshape", "Flatten":
		if c.shuffleReshape(n) {
			s, v, err = c.reshapeGroups(n)
		} else {
			s, v, err = c.reshape(n)
		}
	case "Transpose":
		s, v, err = c.transpose(n)
	case "ReduceMean":
		s, v, err = c.reduceMean(n)
	case "BatchNormalization":
		s, v, err = c.batchNorm(n)
	case "Gemm", "MatMul":
		s, v, err = c.gemm(n)
	case "Relu", "Sigmoid", "Tanh":
		s, v, err = c.unary(n)
	case "Mul":
		s, v, err = c.mul(n)
	case "GlobalAveragePool", "MaxPool", "AveragePool":
		s, v, err = c.pool(n)
	case "Pad":
		s, v, err = c.padNode(n)
	case "Concat":
		if len(n.Inputs) > 0 && c.isConst(n.Inputs[0]) {
			return nil, c.foldConcat(n)
		}
		s, v, err = c.concat(n)
	case "Shape", "Gather", "Unsqueeze":
		return nil, c.fold(n)
	case "Constant":
		if err = checkAttrs(n, "value"); err != nil {
			return nil, err
		}
		a := n.Attr("value")
		if a == nil || a.Type != AttrTensor || len(n.Inputs) != 0 {
			return nil, errors.New("a Constant needs a tensor value and no inputs")
		}
		if c.consts == nil {
			c.consts = map[string]*Tensor{}
		}
		c.consts[out] = a.T
		return nil, nil
	default:
		return nil, fmt.Errorf("operator %s is not supported", n.OpType)
	}
	if err != nil {
		return nil, err
	}
	if v.image && (v.h > 1<<14 || v.w > 1<<14 || v.h*v.w*v.c > 1<<26) {
		return nil, fmt.Errorf("a %d×%d×%d map is too large", v.c, v.h, v.w)
	}
	s.op, s.out = n.OpType, out
	c.vals[out] = v
	c.maxLen = max(c.maxLen, v.len())
	return s, nil
}

// conv compiles a Conv node to an nn.Conv2D or, when group equals the
// channels and each group has one filter, an nn.DepthwiseConv2D.
func (c *compiler) conv(n *Node) (*step, value, error) {
	var v value
	if err := checkAttrs(n, "kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"); err != nil {
		return nil, v, err
	}
	if len(n.Inputs) < 2 || len(n.Inputs) > 3 {
		return nil, v, fmt.Errorf("%d inputs, want 2 or 3", len(n.Inputs))
	}
	x, err := c.image(n.Inputs[0])
	if err != nil {
		return nil, v, err
	}
	w, err := c.tensorInput(n.Inputs[1])
	if err != nil {
		return nil, v, err
	}
	if w.DataType != Float || len(w.Dims) != 4 {
		return nil, v, fmt.Errorf("weights %q must be FLOAT [O, I, KH, KW], got %v %v", w.Name, w.DataType, w.Dims)
	}
	if a := n.Attr("auto_pad"); a != nil && string(a.S) != "NOTSET" {
		return nil, v, fmt.Errorf("auto_pad %q is not supported", a.S)
	}
	group, err := intAttr(n, "group", 1)
	if err != nil {
		return nil, v, err
	}
	o, i, kh, kw := int(w.Dims[0]), int(w.Dims[1]), int(w.Dims[2]), int(w.Dims[3])
	if o < 1 || i < 1 || kh < 1 || kw < 1 {
		return nil, v, fmt.Errorf("weights %q of shape %v", w.Name, w.Dims)
	}
	if k, err := ints(n, "kernel_shape", int64(kh), int64(kw)); err != nil {
		return nil, v, err
	} else if len(k) != 2 || k[0] != int64(kh) || k[1] != int64(kw) {
		return nil, v, fmt.Errorf("kernel_shape %v does not match weights %v", k, w.Dims)
	}
	if d, err := ints(n, "dilations", 1, 1); err != nil {
		return nil, v, err
	} else if len(d) != 2 || d[0] != 1 || d[1] != 1 {
		return nil, v, fmt.Errorf("dilations %v are not supported (only 1)", d)
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
	for _, p := range pads {
		if p < 0 || p >= int64(max(kh, kw)) {
			return nil, v, fmt.Errorf("pads %v are not supported (each in 0..kernel-1)", pads)
		}
	}
	// ONNX orders pads [top, left, bottom, right].
	win := nn.Window{KH: kh, KW: kw, Stride: int(strides[0]), Mode: nn.Explicit,
		Pad: nn.Padding{Top: int(pads[0]), Left: int(pads[1]), Bottom: int(pads[2]), Right: int(pads[3])}}
	oh, ow, _ := win.OutSize(x.h, x.w)
	if oh < 1 || ow < 1 {
		return nil, v, fmt.Errorf("a %d×%d window does not fit a %d×%d input", kh, kw, x.h, x.w)
	}
	var bias []float32
	if len(n.Inputs) == 3 && n.Inputs[2] != "" {
		b, err := c.tensorInput(n.Inputs[2])
		if err != nil {
			return nil, v, err
		}
		if b.DataType != Float || len(b.Floats) != o {
			return nil, v, fmt.Errorf("bias %q must hold %d floats, got %v %v", b.Name, o, b.DataType, b.Dims)
		}
		bias = b.Floats
	}
	v = value{image: true, h: oh, w: ow, c: o}
	s := &step{in: n.Inputs[:1]}
	switch {
	case group == 1:
		if i != x.c {
			return nil, v, fmt.Errorf("weights %v for an input of %d channels", w.Dims, x.c)
		}
		// OIHW → HWIO.
		hwio := tensor.New(kh, kw, i, o)
		for oc := 0; oc < o; oc++ {
			for ic := 0; ic < i; ic++ {
				for y := 0; y < kh; y++ {
					for xx := 0; xx < kw; xx++ {
						hwio.Data[((y*kw+xx)*i+ic)*o+oc] = w.Floats[((oc*i+ic)*kh+y)*kw+xx]
					}
				}
			}
		}
		cv, err := nn.NewConv2D(hwio, win.Stride, nn.Explicit)
		if err != nil {
			return nil, v, err
		}
		cv.Pad, cv.Bias, cv.Frozen = win.Pad, bias, true
		s.conv = cv
	case group == int64(x.c) && i == 1 && o == x.c:
		// [C, 1, KH, KW] → [KH, KW, C, 1].
		hwc := tensor.New(kh, kw, o, 1)
		for ch := 0; ch < o; ch++ {
			for y := 0; y < kh; y++ {
				for xx := 0; xx < kw; xx++ {
					hwc.Data[(y*kw+xx)*o+ch] = w.Floats[(ch*kh+y)*kw+xx]
				}
			}
		}
		d, err := nn.NewDepthwiseConv2D(hwc, win.Stride, nn.Explicit)
		if err != nil {
			return nil, v, err
		}
		d.Pad, d.Bias, d.Frozen = win.Pad, bias, true
		s.dw = d
	default:
		return nil, v, fmt.Errorf("group %d with weights %v on %d channels is not supported (1, or depthwise)", group, w.Dims, x.c)
	}
	return s, v, nil
}

// prelu compiles a PRelu node whose slope is an initializer of one value
// per channel ([C], [C, 1, 1] or [1, C, 1, 1]) or of one value.
func (c *compiler) prelu(n *Node) (*step, value, error) {
	var v value
	if err := checkAttrs(n); err != nil {
		return nil, v, err
	}
	if len(n.Inputs) != 2 {
		return nil, v, fmt.Errorf("%d inputs, want 2", len(n.Inputs))
	}
	x, err := c.image(n.Inputs[0])
	if err != nil {
		return nil, v, err
	}
	t, err := c.tensorInput(n.Inputs[1])
	if err != nil {
		return nil, v, err
	}
	if t.DataType != Float {
		return nil, v, fmt.Errorf("slope %q is %v, want FLOAT", t.Name, t.DataType)
	}
	slope := tensor.New(x.c)
	switch {
	case len(t.Floats) == 1:
		for j := range slope.Data {
			slope.Data[j] = t.Floats[0]
		}
	case len(t.Floats) == x.c && channelDims(t.Dims, x.c):
		copy(slope.Data, t.Floats)
	default:
		return nil, v, fmt.Errorf("slope %q of shape %v for %d channels (one per channel, or one)", t.Name, t.Dims, x.c)
	}
	// A Param without a gradient is a constant to the graph: frozen.
	return &step{in: n.Inputs[:1], slope: &nn.Param{Name: t.Name, Value: slope}}, x, nil
}

// channelDims reports whether dims broadcast one value per channel over an
// NCHW image: [C], [C, 1, 1] or [1, C, 1, 1].
func channelDims(dims []int64, c int) bool {
	switch len(dims) {
	case 1:
		return dims[0] == int64(c)
	case 3:
		return dims[0] == int64(c) && dims[1] == 1 && dims[2] == 1
	case 4:
		return dims[0] == 1 && dims[1] == int64(c) && dims[2] == 1 && dims[3] == 1
	}
	return false
}

// add compiles an Add of two computed values of one shape.
func (c *compiler) add(n *Node) (*step, value, error) {
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
		return nil, v, errors.New("an Add of a value not computed before it (broadcasting a constant is not supported)")
	}
	if a.image != b.image || a.h != b.h || a.w != b.w || a.c != b.c || fmt.Sprint(a.dims) != fmt.Sprint(b.dims) {
		return nil, v, errors.New("an Add of two shapes (broadcasting is not supported)")
	}
	return &step{in: n.Inputs}, a, nil
}

// reshape compiles a Reshape (target shape from an INT64 initializer or
// constant) or a Flatten. The batch dimension must stay first: the target
// starts with the batch (0, or 1 when the graph runs one image, or -1 with
// the rest fixed).
func (c *compiler) reshape(n *Node) (*step, value, error) {
	var v value
	s := &step{in: n.Inputs[:min(len(n.Inputs), 1)]}
	if len(n.Inputs) < 1 {
		return nil, v, errors.New("no input")
	}
	x, ok := c.vals[n.Inputs[0]]
	if !ok {
		return nil, v, fmt.Errorf("input %q is not computed before this node", n.Inputs[0])
	}
	// Only a map larger than 1×1 has its values in another order than
	// ONNX's.
	s.chw = x.image && (x.h != 1 || x.w != 1)
	per := x.len()
	if n.OpType == "Flatten" {
		if err := checkAttrs(n, "axis"); err != nil {
			return nil, v, err
		}
		axis, err := intAttr(n, "axis", 1)
		if err != nil {
			return nil, v, err
		}
		if axis != 1 || len(n.Inputs) != 1 {
			return nil, v, fmt.Errorf("Flatten with axis %d is not supported (only 1)", axis)
		}
		s.shape = []int{per}
		return s, value{dims: s.shape}, nil
	}
	if err := checkAttrs(n); err != nil { // allowzero (opset 14) is refused too
		return nil, v, err
	}
	if len(n.Inputs) != 2 {
		return nil, v, fmt.Errorf("%d inputs, want 2", len(n.Inputs))
	}
	t, err := c.tensorInput(n.Inputs[1])
	if err != nil {
		return nil, v, err
	}
	if t.DataType != Int64 || len(t.Dims) != 1 || len(t.Int64s) < 1 {
		return nil, v, fmt.Errorf("shape %q must be a 1-D INT64 tensor, got %v %v", t.Name, t.DataType, t.Dims)
	}
	shape := t.Int64s
	if b := shape[0]; b != 0 && b != 1 && b != -1 {
		return nil, v, fmt.Errorf("target shape %v does not keep the batch first", shape)
	}
	// The per-image dims: 0 copies the input's dim, -1 takes the rest.
	var xdims []int
	if x.image {
		xdims = []int{x.c, x.h, x.w}
	} else {
		xdims = x.dims
	}
	dims := make([]int, len(shape)-1)
	known, infer := 1, -1
	for j, d := range shape[1:] {
		switch {
		case d == 0 && j < len(xdims):
			dims[j] = xdims[j]
		case d == -1 && infer < 0 && shape[0] != -1:
			infer = j
			continue
		case d >= 1 && d <= int64(per):
			dims[j] = int(d)
		default:
			return nil, v, fmt.Errorf("target shape %v is not supported", shape)
		}
		known *= dims[j]
		if known > per {
			return nil, v, fmt.Errorf("target shape %v for %d values per image", shape, per)
		}
	}
	if infer >= 0 {
		dims[infer] = per / known
	}
	if tensor.Numel(dims) != per {
		return nil, v, fmt.Errorf("target shape %v for %d values per image", shape, per)
	}
	s.shape = dims
	return s, value{dims: dims}, nil
}

// batchNorm compiles a BatchNormalization in inference form (the running
// statistics) over the channels of a map or the features of a flat value.
// Its parameters are constants: they get no gradient.
func (c *compiler) batchNorm(n *Node) (*step, value, error) {
	var v value
	if err := checkAttrs(n, "epsilon", "momentum", "spatial", "training_mode"); err != nil {
		return nil, v, err
	}
	if a := n.Attr("spatial"); a != nil && (a.Type != AttrInt || a.I != 1) {
		return nil, v, errors.New("spatial other than 1 is not supported")
	}
	if a := n.Attr("training_mode"); a != nil && (a.Type != AttrInt || a.I != 0) {
		return nil, v, errors.New("training_mode is not supported")
	}
	if len(n.Inputs) != 5 {
		return nil, v, fmt.Errorf("%d inputs, want 5", len(n.Inputs))
	}
	x, ok := c.vals[n.Inputs[0]]
	if !ok {
		return nil, v, fmt.Errorf("input %q is not computed before this node", n.Inputs[0])
	}
	ch := x.c
	if !x.image {
		if len(x.dims) != 1 {
			return nil, v, fmt.Errorf("a batch norm over dims %v (a map or [N, C] is supported)", x.dims)
		}
		ch = x.dims[0]
	}
	eps := float32(1e-5)
	if a := n.Attr("epsilon"); a != nil {
		if a.Type != AttrFloat || !(a.F > 0) {
			return nil, v, errors.New("epsilon must be a positive float")
		}
		eps = a.F
	}
	bn, err := nn.NewBatchNorm(ch)
	if err != nil {
		return nil, v, err
	}
	bn.Eps = eps
	for i, p := range []*nn.Param{bn.Gamma, bn.Beta, bn.RunningMean, bn.RunningVar} {
		t, err := c.tensorInput(n.Inputs[i+1])
		if err != nil {
			return nil, v, err
		}
		if t.DataType != Float || len(t.Floats) != ch || len(t.Dims) != 1 {
			return nil, v, fmt.Errorf("%q must hold %d floats, got %v %v", t.Name, ch, t.DataType, t.Dims)
		}
		if i == 3 {
			for _, f := range t.Floats {
				if !(f >= 0) {
					return nil, v, fmt.Errorf("variance %q holds %g", t.Name, f)
				}
			}
		}
		copy(p.Value.Data, t.Floats)
		p.Grad = nil // frozen, like every layer of an imported network
	}
	return &step{in: n.Inputs[:1], bn: bn}, x, nil
}

// gemm compiles a Gemm (alpha 1, beta 1, A not transposed) or a MatMul of
// a flat value [N, K] by a constant matrix into an nn.Dense.
func (c *compiler) gemm(n *Node) (*step, value, error) {
	var v value
	transB := int64(0)
	if n.OpType == "Gemm" {
		if err := checkAttrs(n, "alpha", "beta", "transA", "transB"); err != nil {
			return nil, v, err
		}
		for _, name := range []string{"alpha", "beta"} {
			if a := n.Attr(name); a != nil && (a.Type != AttrFloat || a.F != 1) {
				return nil, v, fmt.Errorf("%s other than 1 is not supported", name)
			}
		}
		if a, err := intAttr(n, "transA", 0); err != nil || a != 0 {
			return nil, v, errors.New("transA is not supported")
		}
		var err error
		if transB, err = intAttr(n, "transB", 0); err != nil || (transB != 0 && transB != 1) {
			return nil, v, errors.New("transB must be 0 or 1")
		}
		if len(n.Inputs) < 2 || len(n.Inputs) > 3 {
			return nil, v, fmt.Errorf("%d inputs, want 2 or 3", len(n.Inputs))
		}
	} else {
		if err := checkAttrs(n); err != nil {
			return nil, v, err
		}
		if len(n.Inputs) != 2 {
			return nil, v, fmt.Errorf("%d inputs, want 2", len(n.Inputs))
		}
	}
	x, ok := c.vals[n.Inputs[0]]
	if !ok || x.image || len(x.dims) != 1 {
		return nil, v, fmt.Errorf("input %q must be a flat [N, K] value computed before this node", n.Inputs[0])
	}
	b, err := c.tensorInput(n.Inputs[1])
	if err != nil {
		return nil, v, err
	}
	if b.DataType != Float || len(b.Dims) != 2 {
		return nil, v, fmt.Errorf("weights %q must be a FLOAT matrix, got %v %v", b.Name, b.DataType, b.Dims)
	}
	k, m := int(b.Dims[0]), int(b.Dims[1])
	if transB == 1 {
		k, m = m, k
	}
	if k != x.dims[0] || m < 1 {
		return nil, v, fmt.Errorf("weights %v for %d inputs", b.Dims, x.dims[0])
	}
	w := tensor.New(k, m)
	if transB == 1 {
		for i := 0; i < k; i++ {
			for j := 0; j < m; j++ {
				w.Data[i*m+j] = b.Floats[j*k+i]
			}
		}
	} else {
		copy(w.Data, b.Floats)
	}
	var bias []float32
	if len(n.Inputs) == 3 && n.Inputs[2] != "" {
		t, err := c.tensorInput(n.Inputs[2])
		if err != nil {
			return nil, v, err
		}
		if t.DataType != Float || len(t.Floats) != m || !(len(t.Dims) == 1 || len(t.Dims) == 2 && t.Dims[0] == 1) {
			return nil, v, fmt.Errorf("bias %q must be %d floats ([M] or [1, M]), got %v %v", t.Name, m, t.DataType, t.Dims)
		}
		bias = t.Floats
	}
	d, err := nn.NewDense(w, bias)
	if err != nil {
		return nil, v, err
	}
	d.Frozen = true
	return &step{in: n.Inputs[:1], dense: d}, value{dims: []int{m}}, nil
}

// InputSize is the image the network reads: channels, height, width.
func (net *Net) InputSize() (c, h, w int) { return net.c, net.h, net.w }

// OutputLen is the number of values per image of the first output.
func (net *Net) OutputLen() int { return net.outputs[0].len }

// Outputs returns the names of the graph's outputs, in the file's order
// (the order of GraphOutputs' and ForwardOutputs' results).
func (net *Net) Outputs() []string {
	names := make([]string, len(net.outputs))
	for i, o := range net.outputs {
		names[i] = o.name
	}
	return names
}

// Graph records the network on g for a batch of images x [N, H, W, C]
// (channels last, preprocessed as the model expects) and returns its
// output [N, OutputLen]. An input of another size is an error, as is any
// error g records, and so is a network of several outputs (see
// GraphOutputs).
func (net *Net) Graph(g *nn.Graph, x *nn.Var) (*nn.Var, error) {
	if len(net.outputs) != 1 {
		return nil, fmt.Errorf("onnx: the network has %d outputs (use GraphOutputs)", len(net.outputs))
	}
	ys, err := net.GraphOutputs(g, x)
	if err != nil {
		return nil, err
	}
	return ys[0], nil
}

// GraphOutputs is Graph for a network of one or more outputs: each
// [N, its length], in the order of Outputs.
func (net *Net) GraphOutputs(g *nn.Graph, x *nn.Var) ([]*nn.Var, error) {
	if x == nil || x.Value == nil {
		return nil, errors.New("onnx: nil input")
	}
	sh := x.Value.Shape
	if len(sh) != 4 || sh[0] < 1 || sh[1] != net.h || sh[2] != net.w || sh[3] != net.c {
		return nil, fmt.Errorf("onnx: the network reads [N, %d, %d, %d], got %v", net.h, net.w, net.c, sh)
	}
	vals := map[string]*nn.Var{net.input: x}
	// uses counts the readers of each value, so that an Add may write over
	// an input nothing reads after it.
	uses := map[string]int{}
	for _, s := range net.steps {
		for _, in := range s.in {
			uses[in]++
		}
	}
	for _, o := range net.outputs {
		uses[o.name]++
	}
	// A view's readers read its root's buffer.
	for name, n := range uses {
		if r := net.rootOf(name); r != name {
			uses[r] += n
			delete(uses, name)
		}
	}
	// last reports whether the step being run is the last reader of the
	// buffer of the value name, which is a buffer of its own: it may write
	// over it.
	last := func(name string) bool {
		r := net.rootOf(name)
		return uses[r] == 0 && net.fresh[r]
	}
	for _, s := range net.steps {
		ins := make([]*nn.Var, len(s.in))
		for i, name := range s.in {
			ins[i] = vals[name]
			uses[net.rootOf(name)]--
		}
		var y *nn.Var
		switch {
		case s.conv != nil:
			y = g.Conv2D(ins[0], s.conv)
		case s.dw != nil:
			y = g.DepthwiseConv2D(ins[0], s.dw)
		case s.slope != nil:
			if last(s.in[0]) {
				y = g.PReLUInPlace(ins[0], s.slope)
			} else {
				y = g.PReLU(ins[0], s.slope)
			}
		case s.op == "Add":
			if last(s.in[0]) && net.rootOf(s.in[0]) != net.rootOf(s.in[1]) {
				y = g.AddInPlace(ins[0], ins[1])
			} else {
				y = g.Add(ins[0], ins[1])
			}
		case s.bn != nil:
			y = g.BatchNorm(ins[0], s.bn, false)
		case s.dense != nil:
			y = g.Dense(ins[0], s.dense)
		case s.shape != nil:
			x := ins[0]
			if s.chw {
				x = g.ChannelsFirst(x)
			}
			// The batch stays first whatever the file's target says for
			// it (Compile checked that it keeps it).
			y = g.Reshape(x, append([]int{sh[0]}, s.shape...)...)
		default:
			var err error
			if y, err = s.run(g, ins); err != nil {
				return nil, fmt.Errorf("onnx: node %s (%s): %w", s.name, s.op, err)
			}
		}
		if err := g.Err(); err != nil {
			return nil, fmt.Errorf("onnx: node %s (%s): %w", s.name, s.op, err)
		}
		// Named: the node's output is a layer for nn.Graph.Tap (Grad-CAM
		// reads one); with no Tap or Observe set it costs a nil check.
		vals[s.out] = g.Named(s.name, y)
	}
	outs := make([]*nn.Var, len(net.outputs))
	for i, o := range net.outputs {
		y := vals[o.name]
		if o.chw {
			y = g.ChannelsFirst(y)
		}
		outs[i] = g.Reshape(y, sh[0], o.len)
	}
	return outs, g.Err()
}

// Forward runs the network on x [N, H, W, C] in an inference graph on
// arena and returns its output [N, OutputLen]; a network of several
// outputs is an error (see ForwardOutputs).
func (net *Net) Forward(arena *tensor.Arena, x *tensor.Tensor) (*tensor.Tensor, error) {
	g := nn.NewInferenceGraph(arena)
	y, err := net.Graph(g, g.Input(x, false))
	if err != nil {
		return nil, err
	}
	return y.Value, nil
}

// ForwardOutputs runs the network on x [N, H, W, C] in an inference graph
// on arena and returns every output, [N, its length] each, in the order
// of Outputs.
func (net *Net) ForwardOutputs(arena *tensor.Arena, x *tensor.Tensor) ([]*tensor.Tensor, error) {
	g := nn.NewInferenceGraph(arena)
	ys, err := net.GraphOutputs(g, g.Input(x, false))
	if err != nil {
		return nil, err
	}
	out := make([]*tensor.Tensor, len(ys))
	for i, y := range ys {
		out[i] = y.Value
	}
	return out, nil
}

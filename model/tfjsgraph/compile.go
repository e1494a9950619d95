package tfjsgraph

import (
	"fmt"
	"slices"
	"strings"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

// Net is the part of a graph model that computes a chosen list of nodes
// from one image input, compiled onto nn layers. It is written once: Graph
// runs it on an inference graph or records it on a gradient graph (the
// weights are frozen, so gradients reach the input only). A Net is
// read-only after Compile and may be shared by concurrent graphs.
type Net struct {
	input   string
	outputs []string // node names
	names   []string // what Graph names the outputs (nn.Graph.Named)
	convs   map[string]*nn.Conv2D
	steps   []step
	outStep []int // outputs[i] is the value of steps[outStep[i]]
	inputC  int   // the input's channels (0: not stated by the model)
}

// kind is what the compiler knows of a value statically.
type kind int

const (
	kImage  kind = iota // [N, H, W, C]
	kPooled             // [N, 1, 1, C], a spatial mean
	kScalar             // a float32 constant of rank 0 (or one element)
)

// step is one compiled node: run makes its value from the values of the
// steps it reads.
type step struct {
	node   string
	kind   kind
	c      int     // channels (images and pooled values)
	scalar float32 // kScalar's value
	in     []int   // indices of the steps read
	run    func(g *nn.Graph, in []*nn.Var) *nn.Var
}

// Compile compiles the nodes that outputs depend on, from the Placeholder
// input, onto nn. Nodes the outputs do not need are not looked at, so a
// graph whose later part uses unsupported ops compiles up to a cut. The
// ops compiled are Placeholder, Const (weights, and float scalars), Identity,
// Conv2D, DepthwiseConv2dNative and their fused forms (_FusedConv2D,
// FusedDepthwiseConv2dNative with BiasAdd and optionally Relu or Relu6),
// Relu, Relu6, Add/AddV2 and Mul (of equal shapes, with a scalar constant,
// or a [N, 1, 1, C] value times an image: squeeze-and-excitation), and Mean
// over the spatial axes with keep_dims. Anything else is an error naming
// the node.
func Compile(m *Model, input string, outputs ...string) (*Net, error) {
	if len(outputs) == 0 {
		return nil, fmt.Errorf("tfjsgraph: compile: no outputs named")
	}
	c := &compiler{m: m, net: &Net{input: input, outputs: outputs, names: outputs, convs: map[string]*nn.Conv2D{}},
		byName: map[string]*Node{}, done: map[string]int{}}
	for i := range m.Nodes {
		c.byName[m.Nodes[i].Name] = &m.Nodes[i]
	}
	in := c.byName[input]
	if in == nil || in.Op != "Placeholder" {
		return nil, fmt.Errorf("tfjsgraph: compile: input %q is not a Placeholder of the graph", input)
	}
	for _, o := range outputs {
		i, err := c.visit(o)
		if err != nil {
			return nil, err
		}
		if k := c.net.steps[i].kind; k != kImage && k != kPooled {
			return nil, fmt.Errorf("tfjsgraph: compile: output %q is a constant, not a value computed from the input", o)
		}
		c.net.outStep = append(c.net.outStep, i)
	}
	return c.net, nil
}

type compiler struct {
	m      *Model
	net    *Net
	byName map[string]*Node
	done   map[string]int // node → its step, once compiled
}

// visit compiles name's node after the nodes it reads (depth first, with an
// explicit stack so that a deep graph cannot exhaust the goroutine's), and
// returns its step.
func (c *compiler) visit(name string) (int, error) {
	type frame struct {
		n    *Node
		next int // next input to visit
	}
	onStack := map[string]bool{}
	var stack []frame
	push := func(name string) error {
		if _, ok := c.done[name]; ok {
			return nil
		}
		n := c.byName[name]
		if n == nil {
			return fmt.Errorf("tfjsgraph: compile: no node %q", name)
		}
		if onStack[name] {
			return fmt.Errorf("tfjsgraph: compile: the graph has a cycle through %q", name)
		}
		onStack[name] = true
		stack = append(stack, frame{n: n})
		return nil
	}
	base, err := inputName(name)
	if err != nil {
		return 0, err
	}
	if err := push(base); err != nil {
		return 0, err
	}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.n.Op != "Const" && f.n.Op != "Placeholder" && f.next < len(f.n.Inputs) {
			in := f.n.Inputs[f.next]
			f.next++
			if strings.HasPrefix(in, "^") { // control dependency: no data
				continue
			}
			b, err := inputName(in)
			if err != nil {
				return 0, fmt.Errorf("tfjsgraph: compile: node %q: %w", f.n.Name, err)
			}
			if err := push(b); err != nil {
				return 0, err
			}
			continue
		}
		s, err := c.node(f.n)
		if err != nil {
			return 0, fmt.Errorf("tfjsgraph: compile: node %q (%s): %w", f.n.Name, f.n.Op, err)
		}
		s.node = f.n.Name
		c.done[f.n.Name] = len(c.net.steps)
		c.net.steps = append(c.net.steps, s)
		delete(onStack, f.n.Name)
		stack = stack[:len(stack)-1]
	}
	return c.done[base], nil
}

// inputName strips an output index ":0"; other outputs are not supported
// (every op compiled has one output).
func inputName(in string) (string, error) {
	if i := strings.LastIndexByte(in, ':'); i >= 0 {
		if in[i+1:] != "0" {
			return "", fmt.Errorf("input %q: only output 0 of a node is supported", in)
		}
		in = in[:i]
	}
	if in == "" {
		return "", fmt.Errorf("empty input name")
	}
	return in, nil
}

// dataInputs returns the steps of n's data inputs (control inputs dropped).
func (c *compiler) dataInputs(n *Node) []int {
	var ins []int
	for _, in := range n.Inputs {
		if strings.HasPrefix(in, "^") {
			continue
		}
		b, _ := inputName(in) // checked by visit
		ins = append(ins, c.done[b])
	}
	return ins
}

// weight returns the manifest tensor of the Const node input i of n reads.
func (c *compiler) weight(n *Node, i int) (*Tensor, error) {
	var data []string
	for _, in := range n.Inputs {
		if !strings.HasPrefix(in, "^") {
			data = append(data, in)
		}
	}
	if i >= len(data) {
		return nil, fmt.Errorf("input %d missing", i)
	}
	name, _ := inputName(data[i])
	src := c.byName[name]
	if src == nil || src.Op != "Const" {
		return nil, fmt.Errorf("input %d (%q) is not a constant", i, data[i])
	}
	t := c.m.Weights[name]
	if t == nil {
		return nil, fmt.Errorf("constant %q has no value in the weights manifest", name)
	}
	return t, nil
}

func (c *compiler) node(n *Node) (step, error) {
	ins := c.dataInputs(n)
	st := func(i int) *step { return &c.net.steps[ins[i]] }
	need := func(k int) error {
		if len(ins) != k {
			return fmt.Errorf("%d inputs, want %d", len(ins), k)
		}
		return nil
	}
	switch n.Op {
	case "Placeholder":
		if n.Name != c.net.input {
			return step{}, fmt.Errorf("a second input; only %q is fed", c.net.input)
		}
		ch := 0
		if a, ok := n.Attrs["shape"]; ok && !a.Unknown {
			if len(a.Shape) != 4 {
				return step{}, fmt.Errorf("input of rank %d, want an NHWC image", len(a.Shape))
			}
			if a.Shape[3] > 0 {
				ch = int(a.Shape[3])
			}
		}
		c.net.inputC = ch
		return step{kind: kImage, c: ch, run: nil}, nil
	case "Const":
		// A weight is read by the op that uses it; as a value, only a
		// float scalar is meaningful.
		t := c.m.Weights[n.Name]
		s := step{kind: -1}
		if t != nil && t.DType == "float32" && len(t.Float) == 1 && len(t.Shape) <= 1 {
			s = step{kind: kScalar, scalar: t.Float[0]}
		}
		return s, nil
	case "Identity":
		if err := need(1); err != nil {
			return step{}, err
		}
		s := *st(0)
		s.in = ins
		if s.kind == kImage || s.kind == kPooled {
			s.run = func(g *nn.Graph, in []*nn.Var) *nn.Var { return in[0] }
		}
		return s, nil
	case "Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative":
		return c.conv(n, ins)
	case "Relu", "Relu6":
		if err := need(1); err != nil {
			return step{}, err
		}
		x := st(0)
		if x.kind != kImage && x.kind != kPooled {
			return step{}, fmt.Errorf("input is not an image")
		}
		s := step{kind: x.kind, c: x.c, in: ins}
		if n.Op == "Relu" {
			s.run = func(g *nn.Graph, in []*nn.Var) *nn.Var { return g.ReLU(in[0]) }
		} else {
			s.run = func(g *nn.Graph, in []*nn.Var) *nn.Var { return g.ReLU6(in[0]) }
		}
		return s, nil
	case "Add", "AddV2", "Mul":
		if err := need(2); err != nil {
			return step{}, err
		}
		return c.binary(n, ins)
	case "Mean":
		if err := need(2); err != nil {
			return step{}, err
		}
		x := st(0)
		if x.kind != kImage {
			return step{}, fmt.Errorf("mean of a value that is not an image")
		}
		ax, err := c.weight(n, 1)
		if err != nil {
			return step{}, err
		}
		axes := slices.Clone(ax.Int)
		slices.Sort(axes)
		if ax.DType != "int32" || !slices.Equal(axes, []int32{1, 2}) {
			return step{}, fmt.Errorf("mean over axes %v; only the spatial mean (axes 1, 2) is supported", ax.Int)
		}
		if a := n.Attrs["keep_dims"]; !a.B {
			return step{}, fmt.Errorf("mean without keep_dims is not supported")
		}
		return step{kind: kPooled, c: x.c, in: ins[:1], run: func(g *nn.Graph, in []*nn.Var) *nn.Var {
			p := g.GlobalAvgPool(in[0])
			return g.Reshape(p, p.Value.Shape[0], 1, 1, p.Value.Shape[1])
		}}, nil
	}
	return step{}, fmt.Errorf("op %s is not supported", n.Op)
}

// binary compiles Add, AddV2 and Mul.
func (c *compiler) binary(n *Node, ins []int) (step, error) {
	a, b := &c.net.steps[ins[0]], &c.net.steps[ins[1]]
	isVal := func(s *step) bool { return s.kind == kImage || s.kind == kPooled }
	mul := n.Op == "Mul"
	switch {
	case isVal(a) && b.kind == kScalar, a.kind == kScalar && isVal(b):
		x, k, xi := a, b.scalar, ins[0]
		if a.kind == kScalar {
			x, k, xi = b, a.scalar, ins[1]
		}
		s := step{kind: x.kind, c: x.c, in: []int{xi}}
		if mul {
			s.run = func(g *nn.Graph, in []*nn.Var) *nn.Var { return g.MulScalar(in[0], k) }
		} else {
			s.run = func(g *nn.Graph, in []*nn.Var) *nn.Var { return g.AddScalar(in[0], k) }
		}
		return s, nil
	case isVal(a) && isVal(b):
		if a.c > 0 && b.c > 0 && a.c != b.c {
			return step{}, fmt.Errorf("%d and %d channels", a.c, b.c)
		}
		ch := max(a.c, b.c)
		if a.kind == b.kind {
			s := step{kind: a.kind, c: ch, in: ins}
			if mul {
				s.run = func(g *nn.Graph, in []*nn.Var) *nn.Var { return g.Mul(in[0], in[1]) }
			} else {
				s.run = func(g *nn.Graph, in []*nn.Var) *nn.Var { return g.Add(in[0], in[1]) }
			}
			return s, nil
		}
		if !mul {
			return step{}, fmt.Errorf("adding a [N, 1, 1, C] value to an image is not supported")
		}
		// Squeeze-and-excitation: the image's channels scaled by the gate.
		img, gate := ins[0], ins[1]
		if a.kind == kPooled {
			img, gate = gate, img
		}
		return step{kind: kImage, c: ch, in: []int{img, gate}, run: func(g *nn.Graph, in []*nn.Var) *nn.Var {
			s := in[1].Value.Shape
			return g.ScaleChannels(in[0], g.Reshape(in[1], s[0], s[3]))
		}}, nil
	}
	return step{}, fmt.Errorf("operands that are not an image, a [N, 1, 1, C] value or a float scalar constant")
}

// conv compiles the dense and depthwise convolutions, fused or not.
func (c *compiler) conv(n *Node, ins []int) (step, error) {
	depthwise := strings.Contains(n.Op, "Depthwise")
	fused := strings.HasPrefix(n.Op, "_Fused") || strings.HasPrefix(n.Op, "Fused")
	if len(ins) < 2 {
		return step{}, fmt.Errorf("%d inputs, want the image and the filter", len(ins))
	}
	x := &c.net.steps[ins[0]]
	if x.kind != kImage && x.kind != kPooled {
		return step{}, fmt.Errorf("input is not an image")
	}
	w, err := c.weight(n, 1)
	if err != nil {
		return step{}, err
	}
	if w.DType != "float32" || len(w.Shape) != 4 || w.Len() == 0 {
		return step{}, fmt.Errorf("filter %q has shape %v, want [KH, KW, Cin, Cout] float32", w.Name, w.Shape)
	}
	if df, ok := n.Attrs["data_format"]; ok && df.S != "NHWC" {
		return step{}, fmt.Errorf("data format %q; only NHWC is supported", df.S)
	}
	if d, ok := n.Attrs["dilations"]; ok && len(d.Ints) > 0 {
		for _, v := range d.Ints {
			if v != 1 {
				return step{}, fmt.Errorf("dilations %v; only 1 is supported", d.Ints)
			}
		}
	}
	strides := n.Attrs["strides"].Ints
	if len(strides) != 4 || strides[0] != 1 || strides[3] != 1 || strides[1] != strides[2] || strides[1] < 1 || strides[1] > 64 {
		return step{}, fmt.Errorf("strides %v; want [1, s, s, 1]", strides)
	}
	stride := int(strides[1])
	var mode nn.PadMode
	var pad nn.Padding
	switch p := n.Attrs["padding"].S; p {
	case "SAME":
		mode = nn.Same
	case "VALID":
		mode = nn.Valid
	case "EXPLICIT":
		e := n.Attrs["explicit_paddings"].Ints
		if len(e) != 8 || e[0] != 0 || e[1] != 0 || e[6] != 0 || e[7] != 0 {
			return step{}, fmt.Errorf("explicit paddings %v", e)
		}
		for _, v := range e {
			if v < 0 || v > 1024 { // beyond any real network; bounds the padded image
				return step{}, fmt.Errorf("explicit paddings %v", e)
			}
		}
		mode, pad = nn.Explicit, nn.Padding{Top: int(e[2]), Bottom: int(e[3]), Left: int(e[4]), Right: int(e[5])}
	default:
		return step{}, fmt.Errorf("padding %q", p)
	}
	cin, cout := w.Shape[2], w.Shape[3]
	if depthwise {
		if cout != 1 {
			return step{}, fmt.Errorf("depthwise channel multiplier %d; only 1 is supported", cout)
		}
		cout = cin
	}
	if x.c > 0 && x.c != cin {
		return step{}, fmt.Errorf("filter %q wants %d input channels, the input has %d", w.Name, cin, x.c)
	}
	// A 1×1 value stays 1×1 under SAME padding, or a 1×1 VALID filter.
	if x.kind == kPooled && mode != nn.Same && !(mode == nn.Valid && w.Shape[0] == 1 && w.Shape[1] == 1) {
		return step{}, fmt.Errorf("a %d×%d filter on a [N, 1, 1, C] value", w.Shape[0], w.Shape[1])
	}
	var bias []float32
	act := nn.Linear
	if fused {
		var ops []string
		if a, ok := n.Attrs["fused_ops"]; ok {
			ops = a.Strings
		}
		if na, ok := n.Attrs["num_args"]; ok && na.I != 1 {
			return step{}, fmt.Errorf("num_args %d (fused ops %v); only BiasAdd's one is supported", na.I, ops)
		}
		if len(ops) == 0 || ops[0] != "BiasAdd" || len(ops) > 2 {
			return step{}, fmt.Errorf("fused ops %v; supported: BiasAdd, then optionally Relu or Relu6", ops)
		}
		if len(ops) == 2 {
			switch ops[1] {
			case "Relu":
				act = nn.ReLU
			case "Relu6":
				act = nn.ReLU6
			default:
				return step{}, fmt.Errorf("fused activation %q; supported: Relu, Relu6", ops[1])
			}
		}
		b, err := c.weight(n, 2)
		if err != nil {
			return step{}, err
		}
		if b.DType != "float32" || len(b.Shape) != 1 || b.Shape[0] != cout {
			return step{}, fmt.Errorf("bias %q has shape %v, want [%d]", b.Name, b.Shape, cout)
		}
		bias = slices.Clone(b.Float)
	} else if len(ins) != 2 {
		return step{}, fmt.Errorf("%d inputs, want 2", len(ins))
	}
	wt := tensor.From(slices.Clone(w.Float), w.Shape...)
	s := step{kind: x.kind, c: cout, in: ins[:1]}
	if depthwise {
		d, err := nn.NewDepthwiseConv2D(wt, stride, mode)
		if err != nil {
			return step{}, err
		}
		d.Pad, d.Bias, d.Act, d.Frozen = pad, bias, act, true
		s.run = func(g *nn.Graph, in []*nn.Var) *nn.Var { return g.DepthwiseConv2D(in[0], d) }
	} else {
		cv, err := nn.NewConv2D(wt, stride, mode)
		if err != nil {
			return step{}, err
		}
		cv.Pad, cv.Bias, cv.Act, cv.Frozen = pad, bias, act, true
		c.net.convs[n.Name] = cv
		s.run = func(g *nn.Graph, in []*nn.Var) *nn.Var { return g.Conv2D(in[0], cv) }
	}
	return s, nil
}

// Outputs returns the output node names, in the order Graph returns them.
func (net *Net) Outputs() []string { return slices.Clone(net.outputs) }

// WithNames returns a copy of net that names its outputs (nn.Graph.Named)
// with names, one per output, instead of the node names.
func (net *Net) WithNames(names ...string) (*Net, error) {
	if len(names) != len(net.outputs) {
		return nil, fmt.Errorf("tfjsgraph: %d names for %d outputs", len(names), len(net.outputs))
	}
	cp := *net
	cp.names = slices.Clone(names)
	return &cp, nil
}

// Conv returns the dense convolution compiled for node name (shared with
// the Net: do not modify it), or nil when the node is not one.
func (net *Net) Conv(name string) *nn.Conv2D { return net.convs[name] }

// InputChannels returns the input's channels as the model states them (0
// when it does not).
func (net *Net) InputChannels() int { return net.inputC }

// Graph runs the network on x [N, H, W, C] and returns the outputs in
// Compile's order, each named (nn.Graph.Named) with its node's name (or
// the names of WithNames).
func (net *Net) Graph(g *nn.Graph, x *nn.Var) []*nn.Var { return net.GraphUpTo(g, x, len(net.outputs)) }

// GraphUpTo runs only what the first k outputs need (1 ≤ k ≤ the number of
// outputs; the steps are in an order where each output's ancestors come
// before it and before later outputs' other ancestors) and returns those k.
// Errors (shapes that do not fit, such as an input too small for the
// network's strides) are the graph's (nn.Graph.Err).
func (net *Net) GraphUpTo(g *nn.Graph, x *nn.Var, k int) []*nn.Var {
	k = max(1, min(k, len(net.outputs)))
	last := slices.Max(net.outStep[:k])
	vals := make([]*nn.Var, last+1)
	var buf []*nn.Var
	for i, s := range net.steps[:last+1] {
		switch {
		case s.node == net.input:
			vals[i] = x
		case s.run == nil: // constants are folded into the steps that read them
		default:
			buf = buf[:0]
			for _, j := range s.in {
				buf = append(buf, vals[j])
			}
			vals[i] = s.run(g, buf)
		}
	}
	out := make([]*nn.Var, k)
	for i := range out {
		out[i] = g.Named(net.names[i], vals[net.outStep[i]])
	}
	return out
}

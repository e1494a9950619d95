package onnx

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
	pw "google.golang.org/protobuf/encoding/protowire"
)

// A small MobileFaceNet-like graph, built as protobuf bytes, checked
// against a direct NCHW evaluation of the same ONNX semantics: that is
// what pins down the weight layout conversion and the order of pads.

type convSpec struct {
	in, w, b, out string
	o, i, k       int
	stride, group int
	pads          [4]int64 // top, left, bottom, right
}

type testGraph struct {
	g     []byte
	inits map[string]*Tensor
	rng   *rand.Rand
}

func newTestGraph() *testGraph {
	return &testGraph{inits: map[string]*Tensor{}, rng: rand.New(rand.NewPCG(1, 2))}
}

func (tg *testGraph) floats(name string, dims ...int64) {
	tg.floatsOf(name, func(v float32) float32 { return v }, dims...)
}

// floatsOf adds an initializer of random values passed through f.
func (tg *testGraph) floatsOf(name string, f func(float32) float32, dims ...int64) {
	t := &Tensor{Name: name, Dims: dims, DataType: Float}
	t.Floats = make([]float32, t.Len())
	for i := range t.Floats {
		t.Floats[i] = f(float32(tg.rng.NormFloat64() * 0.5))
	}
	tg.inits[name] = t
	tg.g = msg(tg.g, 5, tensorMsg(name, Float, dims, func(b []byte) []byte {
		return msg(b, 9, rawFloats(t.Floats...))
	}))
}

func (tg *testGraph) conv(s convSpec) {
	tg.floats(s.w, int64(s.o), int64(s.i), int64(s.k), int64(s.k))
	ins := []string{s.in, s.w}
	if s.b != "" {
		tg.floats(s.b, int64(s.o))
		ins = append(ins, s.b)
	}
	tg.g = msg(tg.g, 1, nodeMsg("Conv", ins, []string{s.out},
		attrInts("kernel_shape", int64(s.k), int64(s.k)), attrInts("strides", int64(s.stride), int64(s.stride)),
		attrInts("pads", s.pads[:]...), attrInts("dilations", 1, 1), attrInt("group", int64(s.group))))
}

// smallNet: 2×7×7 → conv 3×3/2 (asymmetric pads) → PRelu → depthwise 3×3
// → 1×1 conv → Add (residual) → PRelu (one slope) → a conv over the whole
// 4×4 map (a GDC-like head) → Reshape [1, -1].
func smallNet() ([]byte, *testGraph, []convSpec) {
	tg := newTestGraph()
	convs := []convSpec{
		{in: "input", w: "w1", b: "b1", out: "c1", o: 4, i: 2, k: 3, stride: 2, group: 1, pads: [4]int64{1, 0, 2, 2}},
		{in: "p1", w: "w2", b: "b2", out: "c2", o: 4, i: 1, k: 3, stride: 1, group: 4, pads: [4]int64{1, 1, 1, 1}},
		{in: "c2", w: "w3", out: "c3", o: 4, i: 4, k: 1, stride: 1, group: 1},
		{in: "p2", w: "w4", b: "b4", out: "c4", o: 6, i: 4, k: 4, stride: 1, group: 1},
	}
	tg.conv(convs[0])
	tg.floats("s1", 4, 1, 1)
	tg.g = msg(tg.g, 1, nodeMsg("PRelu", []string{"c1", "s1"}, []string{"p1"}))
	tg.conv(convs[1])
	tg.conv(convs[2])
	tg.g = msg(tg.g, 1, nodeMsg("Add", []string{"c3", "p1"}, []string{"a"}))
	tg.floats("s2", 1)
	tg.g = msg(tg.g, 1, nodeMsg("PRelu", []string{"a", "s2"}, []string{"p2"}))
	tg.conv(convs[3])
	tg.g = msg(tg.g, 5, tensorMsg("shape", Int64, []int64{2}, func(b []byte) []byte {
		return msg(b, 9, rawInt64s(1, -1))
	}))
	tg.g = msg(tg.g, 1, nodeMsg("Reshape", []string{"c4", "shape"}, []string{"output"}))
	tg.g = msg(tg.g, 11, valueInfoMsg("input", 1, 2, 7, 7))
	tg.g = msg(tg.g, 12, valueInfoMsg("output", 1, 6))
	return modelMsg(tg.g), tg, convs
}

// nchw is an image in ONNX's layout, for the reference evaluation.
type nchw struct {
	c, h, w int
	v       []float64
}

func (x nchw) at(c, y, xx int) float64 {
	if y < 0 || y >= x.h || xx < 0 || xx >= x.w {
		return 0
	}
	return x.v[(c*x.h+y)*x.w+xx]
}

// refConv is ONNX Conv evaluated directly in NCHW.
func refConv(x nchw, s convSpec, inits map[string]*Tensor) nchw {
	w := inits[s.w].Floats
	oh := (x.h+int(s.pads[0]+s.pads[2])-s.k)/s.stride + 1
	ow := (x.w+int(s.pads[1]+s.pads[3])-s.k)/s.stride + 1
	out := nchw{c: s.o, h: oh, w: ow, v: make([]float64, s.o*oh*ow)}
	perGroup := s.o / s.group
	for o := 0; o < s.o; o++ {
		g := o / perGroup
		for y := 0; y < oh; y++ {
			for xx := 0; xx < ow; xx++ {
				sum := 0.0
				if s.b != "" {
					sum = float64(inits[s.b].Floats[o])
				}
				for i := 0; i < s.i; i++ {
					for ky := 0; ky < s.k; ky++ {
						for kx := 0; kx < s.k; kx++ {
							wv := float64(w[((o*s.i+i)*s.k+ky)*s.k+kx])
							sum += wv * x.at(g*s.i+i, y*s.stride-int(s.pads[0])+ky, xx*s.stride-int(s.pads[1])+kx)
						}
					}
				}
				out.v[(o*oh+y)*ow+xx] = sum
			}
		}
	}
	return out
}

func refPRelu(x nchw, slope []float32) nchw {
	out := nchw{c: x.c, h: x.h, w: x.w, v: make([]float64, len(x.v))}
	for i, v := range x.v {
		if v < 0 {
			v *= float64(slope[(i/(x.h*x.w))%len(slope)])
		}
		out.v[i] = v
	}
	return out
}

func refSmallNet(x nchw, tg *testGraph, convs []convSpec) []float64 {
	c1 := refConv(x, convs[0], tg.inits)
	p1 := refPRelu(c1, tg.inits["s1"].Floats)
	c3 := refConv(refConv(p1, convs[1], tg.inits), convs[2], tg.inits)
	for i := range c3.v {
		c3.v[i] += p1.v[i]
	}
	p2 := refPRelu(c3, tg.inits["s2"].Floats)
	return refConv(p2, convs[3], tg.inits).v
}

// randomImage returns the same image as an NHWC tensor and in NCHW.
func randomImage(rng *rand.Rand, n, c, h, w int) (*tensor.Tensor, []nchw) {
	x := tensor.New(n, h, w, c)
	var refs []nchw
	for b := 0; b < n; b++ {
		r := nchw{c: c, h: h, w: w, v: make([]float64, c*h*w)}
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				for xx := 0; xx < w; xx++ {
					v := float32(rng.NormFloat64())
					r.v[(ch*h+y)*w+xx] = float64(v)
					x.Data[((b*h+y)*w+xx)*c+ch] = v
				}
			}
		}
		refs = append(refs, r)
	}
	return x, refs
}

func TestNetMatchesNCHWReference(t *testing.T) {
	data, tg, convs := smallNet()
	m, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	net, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	if c, h, w := net.InputSize(); c != 2 || h != 7 || w != 7 || net.OutputLen() != 6 {
		t.Fatalf("input %d×%d×%d, output %d", c, h, w, net.OutputLen())
	}
	// A batch of two: the batch stays first through the Reshape to [1, -1].
	x, refs := randomImage(rand.New(rand.NewPCG(7, 8)), 2, 2, 7, 7)
	out, err := net.Forward(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	if out.Shape[0] != 2 || out.Shape[1] != 6 {
		t.Fatalf("output shape %v", out.Shape)
	}
	for b, r := range refs {
		want := refSmallNet(r, tg, convs)
		for i, v := range want {
			if got := float64(out.Data[b*6+i]); math.Abs(got-v) > 1e-4*(1+math.Abs(v)) {
				t.Errorf("image %d output %d: %g, reference %g", b, i, got, v)
			}
		}
	}
}

// TestNetInputGradient checks dL/dx of a recording graph against central
// differences of the inference pass (L = Σ r·out), and that the frozen
// weights get no gradient.
func TestNetInputGradient(t *testing.T) {
	data, _, _ := smallNet()
	m, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	net, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	x, _ := randomImage(rng, 1, 2, 7, 7)
	g := nn.NewGraph(nil)
	xv := g.Input(x, true)
	y, err := net.Graph(g, xv)
	if err != nil {
		t.Fatal(err)
	}
	r := tensor.New(y.Value.Shape...)
	for i := range r.Data {
		r.Data[i] = float32(rng.NormFloat64())
	}
	if err := g.BackwardFrom(y, r); err != nil {
		t.Fatal(err)
	}
	if xv.Grad == nil {
		t.Fatal("no gradient reached the input")
	}
	loss := func() float64 {
		out, err := net.Forward(nil, x)
		if err != nil {
			t.Fatal(err)
		}
		s := 0.0
		for i, v := range out.Data {
			s += float64(v) * float64(r.Data[i])
		}
		return s
	}
	const eps = 1e-2
	checked := 0
	for i := range x.Data {
		v := x.Data[i]
		x.Data[i] = v + eps
		up := loss()
		x.Data[i] = v - eps
		down := loss()
		x.Data[i] = v
		num, got := (up-down)/(2*eps), float64(xv.Grad.Data[i])
		// A PReLU kink between the two points makes the quotient an
		// average of two slopes; such coordinates are rare with random
		// inputs, so a loose bound on each and a count of failures will do.
		if math.Abs(num-got) > 2e-2*(1+math.Abs(num)) {
			checked++
			t.Logf("x[%d]: backward %g, difference %g", i, got, num)
		}
	}
	if checked > len(x.Data)/20 {
		t.Errorf("%d of %d input gradients disagree with the differences", checked, len(x.Data))
	}
}

func TestNetBadInput(t *testing.T) {
	data, _, _ := smallNet()
	m, _ := Parse(data)
	net, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, shape := range [][]int{{1, 7, 7}, {1, 7, 7, 3}, {1, 8, 7, 2}} {
		if _, err := net.Forward(nil, tensor.New(shape...)); err == nil {
			t.Errorf("input %v: no error", shape)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	base := func(nodes ...[]byte) []byte {
		var g []byte
		g = msg(g, 5, tensorMsg("w", Float, []int64{2, 2, 1, 1}, func(b []byte) []byte {
			return msg(b, 9, rawFloats(1, 2, 3, 4))
		}))
		g = msg(g, 5, tensorMsg("gw", Float, []int64{2, 1, 1, 1}, func(b []byte) []byte {
			return msg(b, 9, rawFloats(1, 2))
		}))
		for _, n := range nodes {
			g = msg(g, 1, n)
		}
		g = msg(g, 11, valueInfoMsg("input", 1, 2, 3, 3))
		g = msg(g, 12, valueInfoMsg("output", 1, 2))
		return modelMsg(g)
	}
	conv := func(attrs ...[]byte) []byte {
		return nodeMsg("Conv", []string{"input", "w"}, []string{"output"}, attrs...)
	}
	var autoPad []byte
	autoPad = str(autoPad, 1, "auto_pad")
	autoPad = varint(autoPad, 20, uint64(AttrString))
	autoPad = str(autoPad, 4, "SAME_UPPER")
	cases := map[string]struct {
		data []byte
		want string
	}{
		"unknown op":       {base(nodeMsg("Softmax", []string{"input"}, []string{"output"})), "operator Softmax"},
		"unknown attr":     {base(conv(attrInt("foo", 1))), `attribute "foo"`},
		"dilation":         {base(conv(attrInts("dilations", 2, 2))), "dilations"},
		"unequal strides":  {base(conv(attrInts("strides", 1, 2))), "strides"},
		"auto_pad":         {base(conv(autoPad)), "auto_pad"},
		"grouped":          {base(nodeMsg("Conv", []string{"input", "gw"}, []string{"output"}, attrInt("group", 2))), ""},
		"group of 2 dense": {base(conv(attrInt("group", 2))), "group 2"},
		"missing weights":  {base(nodeMsg("Conv", []string{"input", "nope"}, []string{"output"})), `"nope"`},
		"no output":        {base(), "no node computes"},
		"gemm alpha": {base(nodeMsg("Flatten", []string{"input"}, []string{"f"}),
			nodeMsg("Gemm", []string{"f", "w"}, []string{"output"}, attrFloat("alpha", 2))), "alpha"},
		"gemm of a map": {base(nodeMsg("Gemm", []string{"input", "w"}, []string{"output"})), "flat"},
		"bn training": {base(nodeMsg("BatchNormalization", []string{"input", "b", "b", "b", "b"}, []string{"output"},
			attrInt("training_mode", 1))), "training_mode"},
		"broadcast add": {base(nodeMsg("Add", []string{"input", "w"}, []string{"output"})), "Add"},
		"twice":         {base(conv(), conv()), "computed twice"},
		"prelu slopes":  {base(nodeMsg("PRelu", []string{"input", "w"}, []string{"output"})), "slope"},
		"foreign domain": {base(func() []byte {
			n := conv()
			return str(n, 7, "com.microsoft")
		}()), "domain"},
	}
	for name, c := range cases {
		m, err := Parse(c.data)
		if err != nil {
			t.Fatalf("%s: parse: %v", name, err)
		}
		_, err = Compile(m)
		if name == "grouped" {
			// group == channels with one filter each is depthwise.
			if err != nil {
				t.Errorf("grouped: %v", err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", name, err, c.want)
		}
	}
}

// headNet: 2×5×5 → conv 3×3 (pads 1) → BatchNormalization → Flatten of
// the 3-channel 5×5 map (channels first, as ONNX orders it) → Gemm with
// transB → BatchNormalization over the 4 features.
func headNet() ([]byte, *testGraph) {
	tg := newTestGraph()
	tg.conv(convSpec{in: "input", w: "w1", out: "c1", o: 3, i: 2, k: 3, stride: 1, group: 1, pads: [4]int64{1, 1, 1, 1}})
	bn := func(in, out, prefix string, c int64) {
		for _, p := range []string{"g", "b", "m"} {
			tg.floats(prefix+p, c)
		}
		tg.floatsOf(prefix+"v", func(v float32) float32 { return v*v + 0.1 }, c) // a variance is positive
		var eps []byte
		eps = str(eps, 1, "epsilon")
		eps = varint(eps, 20, uint64(AttrFloat))
		eps = pw.AppendTag(eps, 2, pw.Fixed32Type)
		eps = pw.AppendFixed32(eps, math.Float32bits(1e-3))
		tg.g = msg(tg.g, 1, nodeMsg("BatchNormalization", []string{in, prefix + "g", prefix + "b", prefix + "m", prefix + "v"}, []string{out}, eps))
	}
	bn("c1", "n1", "bn1", 3)
	tg.g = msg(tg.g, 1, nodeMsg("Flatten", []string{"n1"}, []string{"f"}, attrInt("axis", 1)))
	tg.floats("fc", 4, 75) // [M, K], transposed
	tg.floats("fcb", 4)
	tg.g = msg(tg.g, 1, nodeMsg("Gemm", []string{"f", "fc", "fcb"}, []string{"e"}, attrInt("transB", 1), attrFloat("alpha", 1)))
	bn("e", "output", "bn2", 4)
	tg.g = msg(tg.g, 11, valueInfoMsg("input", 1, 2, 5, 5))
	tg.g = msg(tg.g, 12, valueInfoMsg("output", 1, 4))
	return modelMsg(tg.g), tg
}

func refBN(v []float64, per int, prefix string, inits map[string]*Tensor) {
	for i := range v {
		c := i / per
		g, b, m, s := inits[prefix+"g"].Floats[c], inits[prefix+"b"].Floats[c], inits[prefix+"m"].Floats[c], inits[prefix+"v"].Floats[c]
		v[i] = (v[i]-float64(m))/math.Sqrt(float64(s)+1e-3)*float64(g) + float64(b)
	}
}

func TestNetHeadMatchesNCHWReference(t *testing.T) {
	data, tg := headNet()
	m, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	net, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	x, refs := randomImage(rand.New(rand.NewPCG(11, 12)), 2, 2, 5, 5)
	out, err := net.Forward(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	for b, r := range refs {
		c1 := refConv(r, convSpec{w: "w1", o: 3, i: 2, k: 3, stride: 1, group: 1, pads: [4]int64{1, 1, 1, 1}}, tg.inits)
		refBN(c1.v, 25, "bn1", tg.inits)
		// Flatten in NCHW order is c1.v as it is.
		e := make([]float64, 4)
		for j := range e {
			e[j] = float64(tg.inits["fcb"].Floats[j])
			for i, v := range c1.v {
				e[j] += float64(tg.inits["fc"].Floats[j*75+i]) * v
			}
		}
		refBN(e, 1, "bn2", tg.inits)
		for j, want := range e {
			if got := float64(out.Data[b*4+j]); math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
				t.Errorf("image %d output %d: %g, reference %g", b, j, got, want)
			}
		}
	}
	// The input gradient flows through every layer (ChannelsFirst
	// included); the frozen layers' parameters get none.
	g := nn.NewGraph(nil)
	xv := g.Input(x, true)
	y, err := net.Graph(g, xv)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Backward(g.Sum(y)); err != nil {
		t.Fatal(err)
	}
	if xv.Grad == nil {
		t.Fatal("no input gradient")
	}
	for _, s := range net.steps {
		if s.bn != nil && (s.bn.Gamma.Grad != nil || s.bn.Beta.Grad != nil) {
			t.Error("a batch norm of an imported network is trainable")
		}
	}
}

// FuzzCompile feeds arbitrary files through Parse, Compile and, when the
// network is small, a forward pass: every step must return an error or a
// result and never panic. The limits keep every layer small, so a run
// cannot allocate much.
func FuzzCompile(f *testing.F) {
	small, _, _ := smallNet()
	head, _ := headNet()
	gate, _ := gateNet()
	shuffle, _ := shuffleNet()
	f.Add(shuffle)
	f.Add(small)
	f.Add(head)
	f.Add(gate)
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := DefaultLimits
		lim.TensorElems, lim.TotalElems = 1024, 4096
		m, err := ParseLimits(data, lim)
		if err != nil {
			return
		}
		net, err := Compile(m)
		if err != nil {
			return
		}
		c, h, w := net.InputSize()
		if c*h*w > 1024 || len(net.steps) > 64 || net.maxLen > 1<<16 {
			return
		}
		outs, err := net.ForwardOutputs(nil, tensor.New(1, h, w, c))
		if err == nil && len(outs[0].Data) != net.OutputLen() {
			t.Fatalf("%d outputs, OutputLen %d", len(outs[0].Data), net.OutputLen())
		}
	})
}

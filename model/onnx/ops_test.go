package onnx

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/tensor"
)

func attrString(name, v string) []byte {
	var a []byte
	a = str(a, 1, name)
	a = varint(a, 20, uint64(AttrString))
	return str(a, 4, v)
}

// constInt64 is a Constant node of an INT64 tensor (scalar with no dims).
func constInt64(out string, dims []int64, vs ...int64) []byte {
	var a []byte
	a = str(a, 1, "value")
	a = varint(a, 20, uint64(AttrTensor))
	a = msg(a, 5, tensorMsg("", Int64, dims, func(b []byte) []byte { return msg(b, 9, rawInt64s(vs...)) }))
	return nodeMsg("Constant", nil, []string{out}, a)
}

// gateNet exercises the operators of ops.go the way the attribute
// networks use them: 2×6×6 → conv 3×3 (4 channels) → Relu → Pad of
// nothing → MaxPool 2×2/2 → m (4×3×3); a squeeze-excitation gate
// (GlobalAveragePool → Sigmoid → Mul) on m; an AveragePool 3×3/1 with
// pads 1 (padding not counted); Concat with m (8 channels); a Pad of one
// row at the top and one column at the right; Tanh; the flatten PyTorch
// exports (Shape, Gather, Unsqueeze, Concat, Reshape); Gemm to 3; and two
// outputs: the Gemm's Relu, and the Gemm times itself.
func gateNet() ([]byte, *testGraph) {
	tg := newTestGraph()
	tg.conv(convSpec{in: "input", w: "w1", b: "b1", out: "c1", o: 4, i: 2, k: 3, stride: 1, group: 1, pads: [4]int64{1, 1, 1, 1}})
	node := func(op string, ins, outs []string, attrs ...[]byte) {
		tg.g = msg(tg.g, 1, nodeMsg(op, ins, outs, attrs...))
	}
	node("Relu", []string{"c1"}, []string{"r1"})
	node("Pad", []string{"r1"}, []string{"z1"}, attrString("mode", "constant"), attrInts("pads", 0, 0, 0, 0, 0, 0, 0, 0), attrFloat("value", 0))
	node("MaxPool", []string{"z1"}, []string{"m"}, attrInts("kernel_shape", 2, 2), attrInts("strides", 2, 2), attrInts("pads", 0, 0, 0, 0))
	node("GlobalAveragePool", []string{"m"}, []string{"gap"})
	node("Sigmoid", []string{"gap"}, []string{"gate"})
	node("Mul", []string{"gate", "m"}, []string{"se"}) // the gate first: either order
	node("AveragePool", []string{"se"}, []string{"ap"}, attrInts("kernel_shape", 3, 3), attrInts("strides", 1, 1), attrInts("pads", 1, 1, 1, 1))
	node("Concat", []string{"ap", "m"}, []string{"cat"}, attrInt("axis", 1))
	node("Pad", []string{"cat"}, []string{"pd"}, attrInts("pads", 0, 0, 1, 0, 0, 0, 0, 1))
	node("Tanh", []string{"pd"}, []string{"th"})
	node("Shape", []string{"th"}, []string{"sh"})
	tg.g = msg(tg.g, 1, constInt64("zero", nil, 0))
	node("Gather", []string{"sh", "zero"}, []string{"batch"}, attrInt("axis", 0))
	node("Unsqueeze", []string{"batch"}, []string{"batch1"}, attrInts("axes", 0))
	tg.g = msg(tg.g, 1, constInt64("rest", []int64{1}, -1))
	node("Concat", []string{"batch1", "rest"}, []string{"target"}, attrInt("axis", 0))
	node("Reshape", []string{"th", "target"}, []string{"flat"})
	tg.floats("fc", 3, 128)
	tg.floats("fcb", 3)
	node("Gemm", []string{"flat", "fc", "fcb"}, []string{"e"}, attrInt("transB", 1))
	node("Relu", []string{"e"}, []string{"out1"})
	node("Mul", []string{"e", "e"}, []string{"out2"})
	tg.g = msg(tg.g, 11, valueInfoMsg("input", 1, 2, 6, 6))
	tg.g = msg(tg.g, 12, valueInfoMsg("out1", 1, 3))
	tg.g = msg(tg.g, 12, valueInfoMsg("out2", 1, 3))
	return modelMsg(tg.g), tg
}

// refGateNet is gateNet evaluated directly in NCHW.
func refGateNet(x nchw, tg *testGraph) (out1, out2 []float64) {
	c1 := refConv(x, convSpec{w: "w1", b: "b1", o: 4, i: 2, k: 3, stride: 1, group: 1, pads: [4]int64{1, 1, 1, 1}}, tg.inits)
	for i, v := range c1.v {
		c1.v[i] = math.Max(v, 0)
	}
	m := nchw{c: 4, h: 3, w: 3, v: make([]float64, 36)}
	for c := 0; c < 4; c++ {
		for y := 0; y < 3; y++ {
			for xx := 0; xx < 3; xx++ {
				v := math.Inf(-1)
				for dy := 0; dy < 2; dy++ {
					for dx := 0; dx < 2; dx++ {
						v = math.Max(v, c1.at(c, 2*y+dy, 2*xx+dx))
					}
				}
				m.v[(c*3+y)*3+xx] = v
			}
		}
	}
	se := nchw{c: 4, h: 3, w: 3, v: make([]float64, 36)}
	for c := 0; c < 4; c++ {
		s := 0.0
		for i := 0; i < 9; i++ {
			s += m.v[c*9+i]
		}
		gate := 1 / (1 + math.Exp(-s/9))
		for i := 0; i < 9; i++ {
			se.v[c*9+i] = m.v[c*9+i] * gate
		}
	}
	// Concat (ap, m), padded by a row on top and a column on the right: 8×4×4.
	pd := nchw{c: 8, h: 4, w: 4, v: make([]float64, 128)}
	for c := 0; c < 8; c++ {
		for y := 0; y < 3; y++ {
			for xx := 0; xx < 3; xx++ {
				var v float64
				if c >= 4 {
					v = m.at(c-4, y, xx)
				} else {
					s, n := 0.0, 0
					for dy := -1; dy <= 1; dy++ {
						for dx := -1; dx <= 1; dx++ {
							if yy, xx2 := y+dy, xx+dx; yy >= 0 && yy < 3 && xx2 >= 0 && xx2 < 3 {
								s += se.at(c, yy, xx2)
								n++
							}
						}
					}
					v = s / float64(n)
				}
				pd.v[(c*4+y+1)*4+xx] = v
			}
		}
	}
	fc, fcb := tg.inits["fc"].Floats, tg.inits["fcb"].Floats
	for j := 0; j < 3; j++ {
		e := float64(fcb[j])
		for i, v := range pd.v {
			e += float64(fc[j*128+i]) * math.Tanh(v)
		}
		out1 = append(out1, math.Max(e, 0))
		out2 = append(out2, e*e)
	}
	return out1, out2
}

func TestGateNetMatchesNCHWReference(t *testing.T) {
	data, tg := gateNet()
	m, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	net, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	if got := net.Outputs(); len(got) != 2 || got[0] != "out1" || got[1] != "out2" {
		t.Fatalf("outputs %v", got)
	}
	if _, err := net.Forward(nil, tensor.New(1, 6, 6, 2)); err == nil || !strings.Contains(err.Error(), "2 outputs") {
		t.Errorf("Forward of a two-output network: %v", err)
	}
	x, refs := randomImage(rand.New(rand.NewPCG(13, 14)), 2, 2, 6, 6)
	outs, err := net.ForwardOutputs(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	for b, r := range refs {
		w1, w2 := refGateNet(r, tg)
		for j := range w1 {
			if got := float64(outs[0].Data[b*3+j]); math.Abs(got-w1[j]) > 1e-4*(1+math.Abs(w1[j])) {
				t.Errorf("image %d out1[%d] = %g, reference %g", b, j, got, w1[j])
			}
			if got := float64(outs[1].Data[b*3+j]); math.Abs(got-w2[j]) > 1e-4*(1+math.Abs(w2[j])) {
				t.Errorf("image %d out2[%d] = %g, reference %g", b, j, got, w2[j])
			}
		}
	}
	// The input gradient reaches the image through every new op.
	g := nn.NewGraph(nil)
	xv := g.Input(x, true)
	ys, err := net.GraphOutputs(g, xv)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Backward(g.Sum(g.Add(ys[0], ys[1]))); err != nil {
		t.Fatal(err)
	}
	if xv.Grad == nil {
		t.Fatal("no input gradient")
	}
}

func TestOpsCompileErrors(t *testing.T) {
	// base: input 2×4×4, a 1×1 conv "c" to 2 channels, then the nodes
	// under test; the output is "output".
	base := func(nodes ...[]byte) []byte {
		var g []byte
		g = msg(g, 5, tensorMsg("w", Float, []int64{2, 2, 1, 1}, func(b []byte) []byte { return msg(b, 9, rawFloats(1, 2, 3, 4)) }))
		g = msg(g, 5, tensorMsg("k", Float, []int64{2}, func(b []byte) []byte { return msg(b, 9, rawFloats(1, 2)) }))
		g = msg(g, 1, nodeMsg("Conv", []string{"input", "w"}, []string{"c"}))
		for _, n := range nodes {
			g = msg(g, 1, n)
		}
		g = msg(g, 11, valueInfoMsg("input", 1, 2, 4, 4))
		g = msg(g, 12, valueInfoMsg("output", 1, 2))
		return modelMsg(g)
	}
	pool := func(op string, attrs ...[]byte) []byte {
		return nodeMsg(op, []string{"c"}, []string{"output"}, attrs...)
	}
	k2 := attrInts("kernel_shape", 2, 2)
	cases := map[string]struct {
		data []byte
		want string
	}{
		"relu of nothing":      {base(nodeMsg("Relu", []string{"nope"}, []string{"output"})), `"nope"`},
		"sigmoid attr":         {base(nodeMsg("Sigmoid", []string{"c"}, []string{"output"}, attrInt("alpha", 1))), "alpha"},
		"mul by a constant":    {base(nodeMsg("Mul", []string{"c", "k"}, []string{"output"})), "constant"},
		"mul of two shapes":    {base(nodeMsg("MaxPool", []string{"c"}, []string{"p"}, k2), nodeMsg("Mul", []string{"c", "p"}, []string{"output"})), "two shapes"},
		"pool ceil":            {base(pool("MaxPool", k2, attrInt("ceil_mode", 1))), "ceil_mode"},
		"pool no kernel":       {base(pool("MaxPool")), "kernel_shape"},
		"pool unequal strides": {base(pool("AveragePool", k2, attrInts("strides", 1, 2))), "strides"},
		"pool big pads":        {base(pool("MaxPool", k2, attrInts("pads", 2, 0, 0, 0))), "pads"},
		"pool too big":         {base(pool("MaxPool", attrInts("kernel_shape", 9, 9))), "kernel_shape"},
		"pad too big":          {base(pool("Pad", attrInts("pads", 0, 0, 5, 0, 0, 0, 0, 0))), "pads"},
		"avg counting pads":    {base(pool("AveragePool", k2, attrInts("pads", 1, 1, 1, 1), attrInt("count_include_pad", 1))), "count_include_pad"},
		"pool dilation":        {base(pool("MaxPool", k2, attrInts("dilations", 2, 2))), "dilations"},
		"pool of a flat value": {base(nodeMsg("Flatten", []string{"c"}, []string{"f"}), nodeMsg("MaxPool", []string{"f"}, []string{"output"}, k2)), "not an image"},
		"pad reflect":          {base(pool("Pad", attrString("mode", "reflect"), attrInts("pads", 0, 0, 0, 0, 0, 0, 0, 0))), "reflect"},
		"pad value":            {base(pool("Pad", attrFloat("value", 1), attrInts("pads", 0, 0, 0, 0, 0, 0, 0, 0))), "value"},
		"pad channels":         {base(pool("Pad", attrInts("pads", 0, 1, 0, 0, 0, 0, 0, 0))), "pads"},
		"pad negative":         {base(pool("Pad", attrInts("pads", 0, 0, -1, 0, 0, 0, 0, 0))), "pads"},
		"pad short":            {base(pool("Pad", attrInts("pads", 1, 1))), "pads"},
		"concat sizes":         {base(nodeMsg("MaxPool", []string{"c"}, []string{"p"}, k2), nodeMsg("Concat", []string{"c", "p"}, []string{"output"}, attrInt("axis", 1))), "Concat"},
		"concat axis":          {base(nodeMsg("Concat", []string{"c", "c"}, []string{"output"}, attrInt("axis", 2))), "axis"},
		"shape of nothing":     {base(nodeMsg("Shape", []string{"nope"}, []string{"output"})), "Shape"},
		"gather at run time":   {base(constInt64("i", nil, 0), nodeMsg("Gather", []string{"c", "i"}, []string{"output"})), "run time"},
		"gather out of range": {base(nodeMsg("Shape", []string{"c"}, []string{"s"}), constInt64("i", nil, 7),
			nodeMsg("Gather", []string{"s", "i"}, []string{"output"})), "out of range"},
		"gather axis 1": {base(nodeMsg("Shape", []string{"c"}, []string{"s"}), constInt64("i", nil, 0),
			nodeMsg("Gather", []string{"s", "i"}, []string{"output"}, attrInt("axis", 1))), "axis"},
		"unsqueeze of a map": {base(nodeMsg("Unsqueeze", []string{"c"}, []string{"output"}, attrInts("axes", 0))), "run time"},
		"unsqueeze a vector": {base(nodeMsg("Shape", []string{"c"}, []string{"s"}),
			nodeMsg("Unsqueeze", []string{"s"}, []string{"output"}, attrInts("axes", 0))), "Unsqueeze"},
		"concat of a float constant": {base(nodeMsg("Concat", []string{"k", "k"}, []string{"output"}, attrInt("axis", 0))), "INT64"},
	}
	for name, c := range cases {
		m, err := Parse(c.data)
		if err != nil {
			t.Fatalf("%s: parse: %v", name, err)
		}
		_, err = Compile(m)
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", name, err, c.want)
		}
	}
}

// TestViewIsNotOverwritten: a Pad of nothing is a view of its input; an
// Add that is the input's last reader must not write over the buffer
// while the view is still to be read: out = (c + d) + z with z = c.
func TestViewIsNotOverwritten(t *testing.T) {
	tg := newTestGraph()
	tg.conv(convSpec{in: "input", w: "w1", out: "c", o: 2, i: 2, k: 1, stride: 1, group: 1})
	tg.conv(convSpec{in: "input", w: "w2", out: "d", o: 2, i: 2, k: 1, stride: 1, group: 1})
	tg.g = msg(tg.g, 1, nodeMsg("Pad", []string{"c"}, []string{"z"}, attrInts("pads", 0, 0, 0, 0, 0, 0, 0, 0)))
	tg.g = msg(tg.g, 1, nodeMsg("Add", []string{"c", "d"}, []string{"a"}))
	tg.g = msg(tg.g, 1, nodeMsg("Add", []string{"a", "z"}, []string{"s"}))
	tg.g = msg(tg.g, 1, nodeMsg("Flatten", []string{"s"}, []string{"output"}))
	tg.g = msg(tg.g, 11, valueInfoMsg("input", 1, 2, 1, 1))
	tg.g = msg(tg.g, 12, valueInfoMsg("output", 1, 2))
	m, err := Parse(modelMsg(tg.g))
	if err != nil {
		t.Fatal(err)
	}
	net, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.From([]float32{1, -2}, 1, 1, 1, 2)
	out, err := net.Forward(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	w1, w2 := tg.inits["w1"].Floats, tg.inits["w2"].Floats
	for o := 0; o < 2; o++ {
		c := float64(w1[o*2])*1 + float64(w1[o*2+1])*-2
		d := float64(w2[o*2])*1 + float64(w2[o*2+1])*-2
		if got, want := float64(out.Data[o]), 2*c+d; math.Abs(got-want) > 1e-5 {
			t.Errorf("output %d = %g, want %g", o, got, want)
		}
	}
}

// shuffleNet is ShuffleNet's channel shuffle as PyTorch exports it, then a
// Split: 4×2×2 → conv 1×1 (c, 4 channels) → Reshape [1, 2, 2, 2, 2] →
// Transpose [0 2 1 3 4] → Reshape [1, -1, 2, 2] → Split [2, 2] into a and
// b; the outputs are Flatten(a) and ReduceMean(b) over the rows and
// columns. The shuffle orders the channels 0, 2, 1, 3.
func shuffleNet(extra ...[]byte) ([]byte, *testGraph) {
	tg := newTestGraph()
	tg.conv(convSpec{in: "input", w: "w1", out: "c", o: 4, i: 4, k: 1, stride: 1, group: 1})
	node := func(op string, ins, outs []string, attrs ...[]byte) {
		tg.g = msg(tg.g, 1, nodeMsg(op, ins, outs, attrs...))
	}
	tg.g = msg(tg.g, 1, constInt64("s5", []int64{5}, 1, 2, 2, 2, 2))
	node("Reshape", []string{"c", "s5"}, []string{"g5"})
	node("Transpose", []string{"g5"}, []string{"t5"}, attrInts("perm", 0, 2, 1, 3, 4))
	tg.g = msg(tg.g, 1, constInt64("s4", []int64{4}, 1, -1, 2, 2))
	node("Reshape", []string{"t5", "s4"}, []string{"sh"})
	node("Split", []string{"sh"}, []string{"a", "b"}, attrInt("axis", 1), attrInts("split", 2, 2))
	node("Flatten", []string{"a"}, []string{"out1"})
	node("ReduceMean", []string{"b"}, []string{"out2"}, attrInts("axes", 2, 3), attrInt("keepdims", 0))
	for _, e := range extra {
		tg.g = msg(tg.g, 1, e)
	}
	tg.g = msg(tg.g, 11, valueInfoMsg("input", 1, 4, 2, 2))
	tg.g = msg(tg.g, 12, valueInfoMsg("out1", 1, 8))
	tg.g = msg(tg.g, 12, valueInfoMsg("out2", 1, 2))
	return modelMsg(tg.g), tg
}

func TestShuffleMatchesNCHWReference(t *testing.T) {
	data, tg := shuffleNet()
	m, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	net, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	x, refs := randomImage(rand.New(rand.NewPCG(15, 16)), 2, 4, 2, 2)
	outs, err := net.ForwardOutputs(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	for b, r := range refs {
		c := refConv(r, convSpec{w: "w1", o: 4, i: 4, k: 1, stride: 1, group: 1}, tg.inits)
		order := []int{0, 2, 1, 3}
		var want1, want2 []float64
		for _, ch := range order[:2] {
			want1 = append(want1, c.v[ch*4:ch*4+4]...)
		}
		for _, ch := range order[2:] {
			s := 0.0
			for _, v := range c.v[ch*4 : ch*4+4] {
				s += v
			}
			want2 = append(want2, s/4)
		}
		for i, w := range want1 {
			if got := float64(outs[0].Data[b*8+i]); math.Abs(got-w) > 1e-5*(1+math.Abs(w)) {
				t.Errorf("image %d out1[%d] = %g, reference %g", b, i, got, w)
			}
		}
		for i, w := range want2 {
			if got := float64(outs[1].Data[b*2+i]); math.Abs(got-w) > 1e-5*(1+math.Abs(w)) {
				t.Errorf("image %d out2[%d] = %g, reference %g", b, i, got, w)
			}
		}
	}
	g := nn.NewGraph(nil)
	xv := g.Input(x, true)
	ys, err := net.GraphOutputs(g, xv)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Backward(g.Add(g.Sum(ys[0]), g.Sum(ys[1]))); err != nil || xv.Grad == nil {
		t.Fatalf("backward through the shuffle: %v", err)
	}
}

func TestShuffleCompileErrors(t *testing.T) {
	for name, c := range map[string]struct {
		nodes [][]byte
		want  string
	}{
		"transpose of a map":   {[][]byte{nodeMsg("Transpose", []string{"c"}, []string{"x"}, attrInts("perm", 0, 1, 3, 2))}, "Transpose"},
		"other perm":           {[][]byte{nodeMsg("Transpose", []string{"g5"}, []string{"x"}, attrInts("perm", 0, 1, 2, 4, 3))}, "Transpose"},
		"conv of the 5-D view": {[][]byte{nodeMsg("Relu", []string{"g5"}, []string{"x"})}, "5-D"},
		"split sizes":          {[][]byte{nodeMsg("Split", []string{"c"}, []string{"x", "y"}, attrInt("axis", 1), attrInts("split", 3, 3))}, "split sizes"},
		"split axis":           {[][]byte{nodeMsg("Split", []string{"c"}, []string{"x", "y"}, attrInt("axis", 2))}, "axis"},
		"reduce axes":          {[][]byte{nodeMsg("ReduceMean", []string{"c"}, []string{"x"}, attrInts("axes", 1))}, "axes"},
		"bad grouping":         {[][]byte{constInt64("bad5", []int64{5}, 1, 3, 1, 2, 2), nodeMsg("Reshape", []string{"c", "bad5"}, []string{"x"})}, "grouping"},
		"split output twice":   {[][]byte{nodeMsg("Split", []string{"c"}, []string{"a", "z"}, attrInt("axis", 1))}, "twice"},
	} {
		data, _ := shuffleNet(c.nodes...)
		m, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: parse: %v", name, err)
		}
		if _, err := Compile(m); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", name, err, c.want)
		}
	}
}

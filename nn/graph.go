package nn

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/facerec/facerec/tensor"
)

// Param is a trainable tensor (or, with a nil Grad, a buffer such as a
// batch-norm running mean, saved in checkpoints but not trained). Layers
// own their Params and hand the same ones out on every call, so gradients
// accumulate in one place across uses and steps.
type Param struct {
	Name  string
	Value *tensor.Tensor
	Grad  *tensor.Tensor // same shape as Value; nil for a buffer

	updated func() // refreshes state derived from Value (Conv2D's packed weights)
}

// NewParam makes a trainable parameter with a zero gradient.
func NewParam(name string, value *tensor.Tensor) *Param {
	return &Param{Name: name, Value: value, Grad: tensor.New(value.Shape...)}
}

// newBuffer makes a non-trainable Param.
func newBuffer(name string, value *tensor.Tensor) *Param {
	return &Param{Name: name, Value: value}
}

// Updated must be called after Value has been changed in place (the
// optimizers do), so that the owning layer can refresh what it derives
// from it: Conv2D re-packs its GEMM weights.
func (p *Param) Updated() {
	if p.updated != nil {
		p.updated()
	}
}

// ZeroGrad sets the gradient to zero; gradients accumulate until then.
func (p *Param) ZeroGrad() {
	if p.Grad != nil {
		clear(p.Grad.Data)
	}
}

// ZeroGrads zeroes the gradients of all params.
func ZeroGrads(params []*Param) {
	for _, p := range params {
		p.ZeroGrad()
	}
}

// Var is a value computed in a Graph. Grad is dL/dValue, filled by
// Backward for the Vars that need it (nil when no gradient reached it).
type Var struct {
	Value *tensor.Tensor
	Grad  *tensor.Tensor

	needsGrad bool
	field     Field
}

// Field is the receptive field of a Var's units in the graph's input:
// unit (i, j) of a [N, H, W, C] value sees the Size[0]×Size[1] input pixels
// centred on (Start[0] + i·Jump[0], Start[1] + j·Jump[1]) (rows, then
// columns). Windowed ops (convolutions, pools, spatial padding) compute it
// from their input's with the usual arithmetic (size += (k − 1)·jump, jump
// ×= stride, start += ((k − 1)/2 − pad)·jump); any other op gives its
// output the largest field among its inputs, which is the receptive field
// along the longest path (the main branch of a residual block, not its
// shortcut). Zero padding counts as input: a field may reach past the
// image's edges.
type Field struct {
	Size  [2]int
	Jump  [2]int
	Start [2]float64
}

// Field returns v's receptive field; an input's is one pixel.
func (v *Var) Field() Field {
	if v.field.Jump[0] == 0 {
		return Field{Size: [2]int{1, 1}, Jump: [2]int{1, 1}}
	}
	return v.field
}

// window returns the field after a window of size k, stride s and leading
// padding pad, per axis.
func (f Field) window(k, s, pad [2]int) Field {
	var o Field
	for a := 0; a < 2; a++ {
		o.Size[a] = f.Size[a] + (k[a]-1)*f.Jump[a]
		o.Jump[a] = f.Jump[a] * s[a]
		o.Start[a] = f.Start[a] + (float64(k[a]-1)/2-float64(pad[a]))*float64(f.Jump[a])
	}
	return o
}

// windowField sets out's field from x's after win with padding p.
func windowField(out, x *Var, win Window, p Padding) {
	out.field = x.Field().window([2]int{win.KH, win.KW}, [2]int{win.Stride, win.Stride}, [2]int{p.Top, p.Left})
}

// Graph records the ops of one forward pass (a tape) so that Backward can
// run their backward functions in reverse order. Each op is a method that
// computes its value at once and pushes a closure computing the gradients
// of its inputs from the gradient of its output.
//
// An op given bad input (mismatched shapes, say) records an error instead
// of panicking; the ops after it do nothing and Err and Backward return
// that error, so a training step checks for errors once, at the end.
//
// A network is written once, as a function of a Graph; the same function
// serves training (NewGraph: the ops are recorded, gradients reach the
// parameters and, when asked, the input) and inference (NewInferenceGraph:
// nothing is recorded, no gradient buffer or Param is ever made, and each op
// runs the layer's fused forward kernel into the arena, so the pass costs
// what the plain kernels cost, bit for bit the same values).
//
// A Graph is not safe for concurrent use; its heavy ops use Workers
// goroutines internally.
type Graph struct {
	// Workers is the number of goroutines the convolution and dense ops split
	// a batch over (default GOMAXPROCS; 1 in an inference graph).
	Workers int

	// Observe, when set, is called by Named with every named intermediate
	// value of a network (tests compare them with reference dumps). The
	// tensor belongs to the graph's arena and may be overwritten by later
	// ops: copy it to keep it.
	Observe func(name string, v *tensor.Tensor)

	// Tap, when set, is called by Named with every named intermediate Var,
	// so that a caller can seed gradients at inner layers (style transfer's
	// feature losses, Grad-CAM, activation maximisation) through
	// BackwardFromAll without a second copy of the network.
	Tap func(name string, v *Var)

	arena     *tensor.Arena
	tape      []func()
	err       error
	done      bool
	inference bool
}

// NewGraph returns an empty graph that allocates values and gradients from
// arena (nil: the heap). Reusing one arena across steps (Reset) makes a
// training loop allocate almost nothing once it has warmed up.
func NewGraph(arena *tensor.Arena) *Graph {
	return &Graph{Workers: runtime.GOMAXPROCS(0), arena: arena}
}

// NewInferenceGraph returns a graph in inference mode: its ops compute
// their values as in a NewGraph graph but record nothing, so no Var needs a
// gradient (Input's requiresGrad and the Params' Grad are ignored) and
// Backward has nothing to do. Values come from arena (nil: the heap). It
// runs on one goroutine (Workers 1), because inference callers run one
// graph per goroutine; set Workers to split a batch instead.
//
// An inference graph reads its layers' weights and never writes them (it
// makes no Params), so one network may run in many inference graphs at
// once.
func NewInferenceGraph(arena *tensor.Arena) *Graph {
	return &Graph{Workers: 1, arena: arena, inference: true}
}

// Inference reports whether g was made by NewInferenceGraph.
func (g *Graph) Inference() bool { return g.inference }

// Named gives v a name for Observe and returns it; with no Observe it costs
// nothing. Networks name the intermediates that reference dumps hold.
func (g *Graph) Named(name string, v *Var) *Var {
	if g.err != nil || v == nil {
		return v
	}
	if g.Observe != nil {
		g.Observe(name, v.Value)
	}
	if g.Tap != nil {
		g.Tap(name, v)
	}
	return v
}

// Reset empties the tape and resets the arena, invalidating every Var of
// the previous pass, so the graph can record the next step.
func (g *Graph) Reset() {
	clear(g.tape)
	g.tape = g.tape[:0]
	g.err = nil
	g.done = false
	if g.arena != nil {
		g.arena.Reset()
	}
}

// Err returns the first error recorded by an op, or nil.
func (g *Graph) Err() error { return g.err }

// fail records the first error and returns a placeholder Var.
func (g *Graph) fail(format string, args ...any) *Var {
	if g.err == nil {
		g.err = fmt.Errorf("nn: "+format, args...)
	}
	return &Var{Value: &tensor.Tensor{}}
}

// ok reports whether the graph has no error and all vs are usable.
func (g *Graph) ok(vs ...*Var) bool {
	if g.err != nil {
		return false
	}
	for _, v := range vs {
		if v == nil || v.Value == nil {
			g.fail("nil variable")
			return false
		}
	}
	return true
}

// Input wraps x as a leaf of the graph. With requiresGrad, Backward fills
// the Var's Grad with dL/dx (saliency maps, style transfer).
func (g *Graph) Input(x *tensor.Tensor, requiresGrad bool) *Var {
	if x == nil {
		return g.fail("nil input")
	}
	return &Var{Value: x, needsGrad: requiresGrad && !g.inference}
}

// Param wraps a parameter as a leaf whose gradient accumulates into p.Grad.
// A buffer (nil Grad) is taken as a constant.
func (g *Graph) Param(p *Param) *Var {
	if p == nil || p.Value == nil {
		return g.fail("nil parameter")
	}
	return &Var{Value: p.Value, Grad: p.Grad, needsGrad: g.trains(p)}
}

// trains reports whether the graph computes p's gradient: p is trainable
// (has a Grad) and g records.
func (g *Graph) trains(p *Param) bool {
	return p != nil && p.Grad != nil && !g.inference
}

// newVar makes the output Var of an op with the given inputs: it needs a
// gradient when any input does.
func (g *Graph) newVar(value *tensor.Tensor, inputs ...*Var) *Var {
	v := &Var{Value: value}
	for _, in := range inputs {
		v.needsGrad = v.needsGrad || in.needsGrad
		if f := in.Field(); f.Size[0]*f.Size[1] > v.field.Size[0]*v.field.Size[1] {
			v.field = f
		}
	}
	return v
}

// record pushes an op's backward function. Ops call it only when out
// needs a gradient (never in an inference graph), so that the closure is
// not even made, and allocated, otherwise.
func (g *Graph) record(out *Var, backward func()) {
	g.tape = append(g.tape, backward)
}

// grad returns v's gradient buffer, allocating a zero one the first time.
func (g *Graph) grad(v *Var) *tensor.Tensor {
	if v.Grad == nil {
		v.Grad = g.arena.New(v.Value.Shape...)
	}
	return v.Grad
}

// Backward runs the tape in reverse from a scalar loss (a Var of one
// element), seeding dL/dL = 1. Parameter gradients are added to their
// Params' Grad. It may be called once per recorded pass.
func (g *Graph) Backward(loss *Var) error {
	if g.err != nil {
		return g.err
	}
	if loss == nil || loss.Value.Len() != 1 {
		return errors.New("nn: backward from a loss that is not a scalar")
	}
	return g.BackwardFrom(loss, tensor.From([]float32{1}, loss.Value.Shape...))
}

// BackwardFrom runs the tape in reverse from v, seeding its gradient with
// dv = dL/dv, for a loss computed outside the graph (a triplet loss on the
// embeddings, say). It may be called once per recorded pass.
func (g *Graph) BackwardFrom(v *Var, dv *tensor.Tensor) error {
	if g.err != nil {
		return g.err
	}
	if v == nil || dv == nil {
		return errors.New("nn: backward from a nil variable or gradient")
	}
	if !tensor.SameShape(v.Value.Shape, dv.Shape) {
		return fmt.Errorf("nn: backward seed of shape %v for a variable of shape %v", dv.Shape, v.Value.Shape)
	}
	return g.BackwardFromAll([]*Var{v}, []*tensor.Tensor{dv})
}

// BackwardFromAll runs the tape in reverse once, from several variables at
// once, seeding each vs[i]'s gradient with dvs[i]: the gradient of a loss
// that is a sum of terms on inner layers (the style and content costs of
// style transfer, say), computed outside the graph. A variable given twice
// gets the sum of its seeds. It may be called once per recorded pass.
func (g *Graph) BackwardFromAll(vs []*Var, dvs []*tensor.Tensor) error {
	if g.err != nil {
		return g.err
	}
	if len(vs) != len(dvs) {
		return fmt.Errorf("nn: backward from %d variables with %d seeds", len(vs), len(dvs))
	}
	for i, v := range vs {
		if v == nil || dvs[i] == nil {
			return errors.New("nn: backward from a nil variable or gradient")
		}
		if !tensor.SameShape(v.Value.Shape, dvs[i].Shape) {
			return fmt.Errorf("nn: backward seed of shape %v for a variable of shape %v", dvs[i].Shape, v.Value.Shape)
		}
	}
	if g.done {
		return errors.New("nn: backward called twice on one pass")
	}
	g.done = true
	seeded := false
	for i, v := range vs {
		if v.needsGrad {
			addTo(g.grad(v).Data, dvs[i].Data)
			seeded = true
		}
	}
	if !seeded {
		return nil
	}
	for i := len(g.tape) - 1; i >= 0; i-- {
		g.tape[i]()
	}
	return nil
}

// addTo sets dst += src.
func addTo(dst, src []float32) {
	add(dst, dst, src[:len(dst)], false)
}

// Reshape returns x viewed with another shape of the same size, such as
// Flatten's [N, H·W·C].
func (g *Graph) Reshape(x *Var, shape ...int) *Var {
	if !g.ok(x) {
		return &Var{Value: &tensor.Tensor{}}
	}
	if tensor.Numel(shape) != x.Value.Len() {
		return g.fail("reshape %v to %v", x.Value.Shape, shape)
	}
	out := g.newVar(x.Value.Reshape(shape...), x)
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad != nil && x.needsGrad {
				addTo(g.grad(x).Data, out.Grad.Data)
			}
		})
	}
	return out
}

// Flatten reshapes x [N, ...] to [N, rest].
func (g *Graph) Flatten(x *Var) *Var {
	if !g.ok(x) {
		return &Var{Value: &tensor.Tensor{}}
	}
	if len(x.Value.Shape) < 1 || x.Value.Shape[0] == 0 {
		return g.fail("flatten %v", x.Value.Shape)
	}
	n := x.Value.Shape[0]
	return g.Reshape(x, n, x.Value.Len()/n)
}

// Sum returns the sum of all values of x as a one-element Var, a scalar
// loss for simple objectives and tests.
func (g *Graph) Sum(x *Var) *Var {
	if !g.ok(x) {
		return &Var{Value: &tensor.Tensor{}}
	}
	s := 0.0
	for _, v := range x.Value.Data {
		s += float64(v)
	}
	out := g.newVar(tensor.From([]float32{float32(s)}, 1), x)
	if out.needsGrad {
		g.record(out, func() {
			if out.Grad == nil || !x.needsGrad {
				return
			}
			d := out.Grad.Data[0]
			gx := g.grad(x).Data
			for i := range gx {
				gx[i] += d
			}
		})
	}
	return out
}

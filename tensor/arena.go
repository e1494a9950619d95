package tensor

// Arena hands out tensors from one reusable slab so that a forward pass that
// is run again and again (one per face) allocates nothing once it has warmed
// up. It is not safe for concurrent use: give each worker its own.
//
// Tensors obtained from an arena are valid until the next Reset.
type Arena struct {
	slab  []float32 // the main slab, reused across Resets
	off   int       // next free element in slab
	extra int       // elements that did not fit this round; the slab grows by this on Reset
}

// New returns a zeroed tensor of the given shape backed by the arena. A nil
// arena allocates from the heap, so code can take an optional arena.
func (a *Arena) New(shape ...int) *Tensor {
	t := a.NewUninit(shape...)
	clear(t.Data)
	return t
}

// NewUninit is New without zeroing, for outputs that every element of is
// written anyway.
func (a *Arena) NewUninit(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: a.Floats(Numel(shape))}
}

// Floats returns a scratch slice of n floats (not zeroed).
func (a *Arena) Floats(n int) []float32 {
	if a == nil {
		return make([]float32, n)
	}
	// Round to 16 floats (64 bytes) so that every slice starts on a cache line
	// boundary relative to the slab.
	r := (n + 15) &^ 15
	if a.off+r <= len(a.slab) {
		s := a.slab[a.off : a.off+n : a.off+n]
		a.off += r
		return s
	}
	a.extra += r
	return make([]float32, n)
}

// Reset makes all memory handed out so far reusable. If the last round did
// not fit, the slab grows so that the next identical round will. A nil
// arena has nothing to reset.
func (a *Arena) Reset() {
	if a == nil {
		return
	}
	if a.extra > 0 {
		a.slab = make([]float32, len(a.slab)+a.extra)
		a.extra = 0
	}
	a.off = 0
}

package face

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestLogisticHeadRejectsBadInput(t *testing.T) {
	h := &LogisticHead{W: []float64{1, 2}}
	if _, err := h.Predict([]float32{1}); err == nil {
		t.Error("Predict with the wrong length: no error")
	}
	if _, err := h.Predict([]float32{1, float32(math.NaN())}); err == nil {
		t.Error("Predict with NaN: no error")
	}
	if _, err := AbsDiff([]float32{1}, []float32{1, 2}); err == nil {
		t.Error("AbsDiff with different lengths: no error")
	}
}

func TestLogisticSaveLoad(t *testing.T) {
	h := &LogisticHead{W: []float64{0.5, -1.25, 3e-7}, B: 0.1}
	var buf bytes.Buffer
	if err := h.Save(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"w":[0.5,-1.25,3e-7]`) {
		t.Errorf("unexpected JSON %s", buf.String())
	}
	got, err := LoadLogisticHead(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got.B != h.B || len(got.W) != len(h.W) {
		t.Fatalf("loaded %+v, want %+v", got, h)
	}
	for k := range h.W {
		if got.W[k] != h.W[k] {
			t.Errorf("W[%d] = %v, want %v", k, got.W[k], h.W[k])
		}
	}
	for _, bad := range []string{``, `{`, `{"w":[],"b":0}`, `{"b":1}`, `{"w":[1],"b":0,"x":2}`, `[1,2]`} {
		if _, err := LoadLogisticHead(strings.NewReader(bad)); err == nil {
			t.Errorf("LoadLogisticHead(%q): no error", bad)
		}
	}
	if err := (&LogisticHead{W: []float64{math.Inf(1)}}).Save(&buf); err == nil {
		t.Error("Save of a non-finite head: no error")
	}
}

func TestAbsDiff(t *testing.T) {
	d, err := AbsDiff([]float32{1, -2, 0.5}, []float32{3, 1, 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if d[0] != 2 || d[1] != 3 || d[2] != 0 {
		t.Errorf("AbsDiff = %v, want [2 3 0]", d)
	}
}

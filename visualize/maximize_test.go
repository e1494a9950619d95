package visualize

import "testing"

// TestMaximize: activation maximisation (60 steps, jitter and blur
// included) raises a descriptor channel's mean activation far above its
// value on the starting image (grey with a little noise): at least 10× in
// conv64_1/conv1 (observed 16–19× on channels 0–3), at least 5× one block
// of downsampling deeper, conv128_1/conv1, where the start is already
// higher (observed 6.6–10×).
func TestMaximize(t *testing.T) {
	if testing.Short() {
		t.Skip("passes of the descriptor")
	}
	n := testNet(t, "descriptor")
	for _, c := range []struct {
		layer  string
		ch     int
		factor float64
	}{{"conv64_1/conv1", 0, 10}, {"conv64_1/conv1", 2, 10}, {"conv128_1/conv1", 2, 5}} {
		m, err := n.Maximize(c.layer, c.ch, MaximizeOptions{Steps: 60})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s channel %d: mean activation %.4g → %.4g (%.1f×)", c.layer, c.ch, m.Start, m.Final, m.Final/m.Start)
		if !(m.Final > c.factor*m.Start && m.Final > 0) {
			t.Errorf("%s channel %d: mean activation %.4g → %.4g, not %v× higher", c.layer, c.ch, m.Start, m.Final, c.factor)
		}
	}
	if _, err := n.Maximize("conv64_1/conv1", 999, MaximizeOptions{Steps: 1}); err == nil {
		t.Error("channel 999 of 64 accepted")
	}
	if _, err := n.Maximize("nope", 0, MaximizeOptions{Steps: 1}); err == nil {
		t.Error("an unknown layer accepted")
	}
}

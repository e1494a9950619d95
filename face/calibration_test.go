package face

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// uniformScores is 1/n, 2/n, ..., 1 shuffled: the empirical CDF at k/n is
// k/n, so every number below can be worked out by hand.
func uniformScores(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(i+1) / float32(n)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s
}

func TestCalibrationHandChecked(t *testing.T) {
	c, err := FitCalibration("m", "test", uniformScores(1000))
	if err != nil {
		t.Fatal(err)
	}
	// Eight points a decade from k = 1: k = 1, 2, 3, 4, 6, 7, 10, ...
	want := []float64{0.001, 0.002, 0.003, 0.004, 0.006, 0.007, 0.010}
	for i, w := range want {
		if p := c.Tail[i]; math.Abs(p.Score-w) > 1e-6 || math.Abs(p.P-w) > 1e-9 {
			t.Fatalf("point %d = %+v, want score = p = %v", i, p, w)
		}
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %.7g, want %.7g", what, got, want)
		}
	}
	// One comparison, 1%: the 10th smallest score.
	tau, _ := c.Threshold(0.01, 1)
	near("Threshold(1%, 1)", tau, 0.010)
	near("FalseAccept(0.01, 1)", c.FalseAccept(0.010, 1), 0.01)
	// Ten people, 1% per attempt: 1 − 0.99^(1/10) = 0.0010045 per
	// comparison, between the points (0.001, 0.001) and (0.002, 0.002),
	// log-interpolated: 0.001 + ln(1.0045)/ln 2 · 0.001.
	p := 1 - math.Pow(0.99, 0.1)
	tau, _ = c.Threshold(0.01, 10)
	near("Threshold(1%, 10)", tau, 0.001+math.Log(p/0.001)/math.Log(2)*0.001)
	near("FalseAccept(τ, 10)", c.FalseAccept(tau, 10), 0.01)
	// Below the smallest score the first decade's slope carries on.
	slope := (math.Log(0.010) - math.Log(0.001)) / (0.010 - 0.001)
	near("ImpostorCDF(0)", c.ImpostorCDF(0), 0.001*math.Exp(-slope*0.001))
	tau, _ = c.Threshold(0.0001, 1)
	near("Threshold(0.01%, 1)", tau, 0.001-math.Log(10)/slope)
	if _, err := c.Threshold(0, 1); err == nil {
		t.Error("FAR 0 accepted")
	}
}

// A gallery of n people is n chances for a stranger: the calibrated
// threshold keeps the stranger rate at its target as n grows, where a
// fixed one lets in more and more. Impostor scores are uniform on (0, 1),
// so a stranger's best of n is the minimum of n uniforms.
func TestCalibrationGallerySizeScaling(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	imp := make([]float32, 1000000)
	for i := range imp {
		imp[i] = r.Float32()
	}
	c, err := FitCalibration("m", "test", imp)
	if err != nil {
		t.Fatal(err)
	}
	fixed, _ := c.Threshold(0.01, 1)
	const strangers = 20000
	for _, n := range []int{1, 10, 100, 1000} {
		tau, _ := c.Threshold(0.01, n)
		in, inFixed := 0, 0
		for range strangers {
			best := 1.0
			for range n {
				best = math.Min(best, r.Float64())
			}
			if best < tau {
				in++
			}
			if best < fixed {
				inFixed++
			}
		}
		far := float64(in) / strangers
		// Binomial sd at 1% over 20,000 attempts is 0.0007. At n = 1000
		// the per-comparison rate, 1e-5, rests on the ten smallest of the
		// million scores measured: within a factor of two is all one can
		// ask (the calibration's limit: a gallery of n needs well over
		// n/FAR impostor comparisons).
		ok := math.Abs(far-0.01) <= 0.003
		if n == 1000 {
			ok = far > 0.005 && far < 0.02
		}
		if !ok {
			t.Errorf("gallery of %d: calibrated threshold %.5f lets in %.4f of strangers, want 0.01", n, tau, far)
		}
		if n >= 100 && float64(inFixed)/strangers < 0.5 {
			t.Errorf("gallery of %d: the fixed threshold let in only %.3f; the test no longer shows the growth", n, float64(inFixed)/strangers)
		}
	}
}

func TestCalibrationRoundTripAndBadInput(t *testing.T) {
	c, err := FitCalibration("m", "src", uniformScores(500))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := c.Save(&b); err != nil {
		t.Fatal(err)
	}
	d, err := LoadCalibration(&b)
	if err != nil {
		t.Fatal(err)
	}
	if d.Score != "m" || len(d.Tail) != len(c.Tail) || d.Tail[3] != c.Tail[3] {
		t.Fatalf("round trip changed it: %+v", d)
	}
	for _, bad := range []string{
		`{"score":"m","tail":[{"score":0.1,"p":0.1}]}`,
		`{"score":"m","tail":[{"score":0.2,"p":0.1},{"score":0.1,"p":0.2}]}`,
		`{"score":"m","tail":[{"score":0.1,"p":0},{"score":0.2,"p":0.2}]}`,
		`{"score":"m","tail":[],"extra":1}`,
		`not json`,
	} {
		if _, err := LoadCalibration(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	if _, err := FitCalibration("m", "", make([]float32, 10)); err == nil {
		t.Error("fitted 10 scores")
	}
	nan := uniformScores(200)
	nan[5] = float32(math.NaN())
	if _, err := FitCalibration("m", "", nan); err == nil {
		t.Error("fitted NaN scores")
	}
}

func TestRuleDecide(t *testing.T) {
	c, _ := FitCalibration("m", "", uniformScores(1000))
	r := Rule{Threshold: Threshold{Model: "m", Max: 0.5}, Calibration: c, FAR: 0.01, Margin: 0.002}
	// Gallery of 1: τ = 0.010.
	v := r.Identify(0.005, math.NaN(), 1)
	if !v.Accepted || math.Abs(v.Threshold-0.010) > 1e-6 || v.Margin != nil {
		t.Fatalf("%+v", v)
	}
	if want := 1 - c.FalseAccept(0.005, 1); v.Confidence == nil || *v.Confidence != want {
		t.Fatalf("confidence %v, want %v", v.Confidence, want)
	}
	// The runner-up 0.001 further: refused, and said why.
	v = r.Identify(0.005, 0.006, 1)
	if v.Accepted || v.Refused != RefusedRunnerUp || v.Margin == nil || math.Abs(*v.Margin-0.001) > 1e-12 {
		t.Fatalf("%+v", v)
	}
	// Ten people: τ shrinks to 0.0010065 and 0.005 is out.
	if v := r.Identify(0.005, 1, 10); v.Accepted || v.Refused != "" {
		t.Fatalf("%+v", v)
	}
	// Without FAR the fixed threshold holds at any size.
	r.FAR = 0
	if v := r.Identify(0.4, 1, 1000); !v.Accepted || v.Threshold != 0.5 {
		t.Fatalf("%+v", v)
	}
}

func TestParseFAR(t *testing.T) {
	for in, want := range map[string]float64{"strict": 0.001, "balanced": 0.01, "0.02": 0.02, "0.5%": 0.005} {
		if got, err := ParseFAR(in); err != nil || math.Abs(got-want) > 1e-12 {
			t.Errorf("ParseFAR(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0", "1", "abc", "-0.1", "150%"} {
		if _, err := ParseFAR(in); err == nil {
			t.Errorf("ParseFAR(%q) accepted", in)
		}
	}
}

package face

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRivals(t *testing.T) {
	box := func(x, y, s float64) Face { return Face{Box: Rect{X: x, Y: y, W: s, H: s}} }
	const w, h = 200, 100
	centre := box(80, 30, 40).Box // covers (100, 50)
	for _, c := range []struct {
		name    string
		subject Rect
		others  []Face
		rivals  int
	}{
		{"alone", centre, []Face{{Box: centre}}, 0},
		{"a small face at the edge", centre, []Face{box(0, 0, 20)}, 0},            // a quarter of the area: fine
		{"a quarter-size face at the centre", centre, []Face{box(95, 45, 20)}, 1}, // covers the centre too
		{"a larger face at the edge", centre, []Face{box(150, 0, 45)}, 1},         // larger than the subject
		{"side by side, centre between", box(40, 30, 40).Box, []Face{box(120, 30, 40)}, 1},
		{"a crowd behind someone off-centre", box(10, 10, 40).Box, []Face{box(150, 0, 15), box(170, 0, 15)}, 0},
		{"the subject's own second box", centre, []Face{box(82, 32, 38)}, 0},
	} {
		if got := Rivals(c.subject, c.others, w, h); len(got) != c.rivals {
			t.Errorf("%s: %d rivals %v, want %d", c.name, len(got), got, c.rivals)
		}
	}
}

// TestFacesCancelled: a cancelled context stops the pipeline before any
// network runs, and one cancelled while it runs stops it before the end.
func TestFacesCancelled(t *testing.T) {
	p := testPipeline(t, Options{Jitter: 100})
	img := readLFW(t, "Aaron_Peirsol", 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Faces(ctx, img); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before: err = %v", err)
	}
	// 100 jittered copies take ~1 s on 2 cores; cancelled after 50 ms the
	// call must come back long before that.
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Subject(ctx, img)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled while running: err = %v", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		// A loaded machine (or the race detector) may be this slow: then
		// the bound is the uncancelled call's own time on it.
		start = time.Now()
		if _, err := p.Subject(context.Background(), img); err != nil {
			t.Fatal(err)
		}
		if full := time.Since(start); d > full/2 {
			t.Errorf("returned %v after the start, %v after the deadline; the whole call takes %v", d, d-50*time.Millisecond, full)
		}
	}
}

func TestDescriptorOption(t *testing.T) {
	o, err := Options{Descriptor: DescriptorMobileFaceNet}.withDefaults()
	if err != nil || o.Align != AlignArcFace {
		t.Errorf("mobilefacenet: align %q, %v; want arcface", o.Align, err)
	}
	if o, err := (Options{}).withDefaults(); err != nil || o.Descriptor != DescriptorMobileFaceNet || o.Align != AlignArcFace {
		t.Errorf("defaults: %q %q, %v; want mobilefacenet on arcface chips", o.Descriptor, o.Align, err)
	}
	if o, err := (Options{Descriptor: DescriptorDlib}).withDefaults(); err != nil || o.Align != AlignDlib {
		t.Errorf("dlib: align %q, %v; want dlib", o.Align, err)
	}
	if _, err := (Options{Descriptor: "vgg"}).withDefaults(); err == nil {
		t.Error("an unknown descriptor was accepted")
	}
}

// TestMobileFaceNetPipeline: the second descriptor, on ArcFace chips,
// tells the same person from another with its View 1 threshold.
func TestMobileFaceNetPipeline(t *testing.T) {
	frFeatureDir(t)
	p := testPipeline(t, Options{Descriptor: DescriptorMobileFaceNet})
	if p.Model().ID() != MobileFaceNetID || p.Options().Align != AlignArcFace {
		t.Fatalf("model %s, align %s", p.Model().ID(), p.Options().Align)
	}
	desc := func(name string, n int) Descriptor {
		f, err := p.Subject(context.Background(), readLFW(t, name, n))
		if err != nil {
			t.Fatal(err)
		}
		return f.Descriptor
	}
	dec := ThresholdOf(p.Model())
	a := desc("Aaron_Peirsol", 1)
	if d, err := dec.Decide(a, desc("Aaron_Peirsol", 2)); err != nil || !d.Same {
		t.Errorf("Aaron Peirsol twice: %+v, %v", d, err)
	}
	if d, err := dec.Decide(a, desc("Tony_Blair", 1)); err != nil || d.Same {
		t.Errorf("Aaron Peirsol and Tony Blair: %+v, %v", d, err)
	}
}

package train

import (
	"reflect"
	"testing"
)

func TestSamplerBatches(t *testing.T) {
	counts := []int{5, 3, 4, 1, 6, 2, 4, 4, 3, 5, 0} // identities 3, 5 and 10 have fewer than K = 3
	s, err := NewSampler(counts, SamplerConfig{P: 3, K: 3, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	want := []int{0, 1, 2, 4, 6, 7, 8, 9}
	if got := s.Identities(); !reflect.DeepEqual(got, want) {
		t.Fatalf("identities %v, want %v", got, want)
	}
	if s.BatchesPerEpoch() != 3 {
		t.Fatalf("batches per epoch %d, want 3", s.BatchesPerEpoch())
	}
	imageUse := map[Sample]int{}
	for epoch := 0; epoch < 4; epoch++ {
		visited := map[int]int{}
		for b := 0; b < s.BatchesPerEpoch(); b++ {
			batch, labels := s.Next()
			if s.Epoch() != epoch {
				t.Fatalf("batch %d: epoch %d, want %d", b, s.Epoch(), epoch)
			}
			if len(batch) != 9 || len(labels) != 9 {
				t.Fatalf("batch of %d samples and %d labels, want 9", len(batch), len(labels))
			}
			ids := map[int]bool{}
			for i, smp := range batch {
				if labels[i] != smp.Identity {
					t.Fatalf("label %d for a sample of identity %d", labels[i], smp.Identity)
				}
				if smp.Image < 0 || smp.Image >= counts[smp.Identity] {
					t.Fatalf("image %d of identity %d with %d images", smp.Image, smp.Identity, counts[smp.Identity])
				}
				if i%3 == 0 {
					ids[smp.Identity] = true
					// The group of K is one identity with K distinct images.
					g := batch[i : i+3]
					if g[1].Identity != smp.Identity || g[2].Identity != smp.Identity ||
						g[0].Image == g[1].Image || g[0].Image == g[2].Image || g[1].Image == g[2].Image {
						t.Fatalf("group %v is not 3 distinct images of one identity", g)
					}
				}
				imageUse[smp]++
			}
			if len(ids) != 3 {
				t.Fatalf("batch holds identities %v, want 3 distinct", ids)
			}
			// The padding of the last batch is not part of the epoch's visit.
			if b < s.BatchesPerEpoch()-1 {
				for id := range ids {
					visited[id]++
				}
			} else {
				for _, smp := range batch[:6] {
					visited[smp.Identity]++
				}
			}
		}
		for _, id := range want {
			if visited[id] == 0 {
				t.Errorf("epoch %d never visited identity %d", epoch, id)
			}
		}
	}
	// Decks spread the images of an identity evenly: identity 2 (4 images)
	// appears in every epoch's batches, and over 4 epochs every one of its
	// images must have been used.
	for img := 0; img < 4; img++ {
		if imageUse[Sample{2, img}] == 0 {
			t.Errorf("image %d of identity 2 never sampled", img)
		}
	}
}

func TestSamplerDeterminism(t *testing.T) {
	counts := []int{4, 4, 4, 4, 4, 4, 4}
	run := func(seed uint64) [][]Sample {
		s, err := NewSampler(counts, SamplerConfig{P: 2, K: 2, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		var out [][]Sample
		for i := 0; i < 10; i++ {
			b, _ := s.Next()
			out = append(out, b)
		}
		return out
	}
	if a, b := run(1), run(1); !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave different batches")
	}
	if a, b := run(1), run(2); reflect.DeepEqual(a, b) {
		t.Error("different seeds gave the same batches")
	}
}

func TestSamplerReplace(t *testing.T) {
	counts := []int{1, 2, 5}
	s, err := NewSampler(counts, SamplerConfig{P: 3, K: 4, Seed: 3, Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	batch, _ := s.Next()
	seen := map[Sample]bool{}
	for _, smp := range batch {
		seen[smp] = true
	}
	// Identities short of K still show every one of their images.
	for _, want := range []Sample{{0, 0}, {1, 0}, {1, 1}} {
		if !seen[want] {
			t.Errorf("batch %v lacks %v", batch, want)
		}
	}
	if _, err := NewSampler(counts, SamplerConfig{P: 2, K: 4}); err == nil {
		t.Error("without Replace only one identity has K = 4 images, but P = 2 was accepted")
	}
	for _, cfg := range []SamplerConfig{{P: 0, K: 2}, {P: 2, K: 0}} {
		if _, err := NewSampler(counts, cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
	if _, err := NewSampler([]int{-1, 3}, SamplerConfig{P: 1, K: 1}); err == nil {
		t.Error("negative count accepted")
	}
}

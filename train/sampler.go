package train

import (
	"fmt"
	"math/rand/v2"
)

// Sample names one image of a batch: the identity (an index into the
// counts given to NewSampler, which is also the label) and the image of
// that identity.
type Sample struct {
	Identity, Image int
}

// SamplerConfig configures a [Sampler].
type SamplerConfig struct {
	// P is the number of identities per batch and K the number of images
	// of each; a batch has P·K samples. Both must be positive; K ≥ 2 is
	// needed for the triplet and contrastive losses to see positives.
	P, K int
	// Seed makes the sequence of batches reproducible.
	Seed uint64
	// Replace keeps identities with fewer than K images, filling their K
	// slots with replacement (every image at least once). Without it such
	// identities are skipped.
	Replace bool
}

// Sampler draws P×K batches. An epoch visits every eligible identity once,
// in a fresh random order, P per batch; the last batch of an epoch is
// completed with other random identities. Each identity deals its images
// from its own shuffled deck, so over successive epochs every image is
// used about equally often. A Sampler is not safe for concurrent use.
type Sampler struct {
	cfg      SamplerConfig
	rng      *rand.Rand
	eligible []int   // identities that can fill K slots
	counts   []int   // images per identity
	decks    [][]int // per identity: the remaining shuffled image indices
	order    []int   // this epoch's identity order
	pos      int     // next position in order
	epoch    int
}

// NewSampler returns a sampler over identities with counts[i] images each.
func NewSampler(counts []int, cfg SamplerConfig) (*Sampler, error) {
	if cfg.P <= 0 || cfg.K <= 0 {
		return nil, fmt.Errorf("new sampler: P = %d and K = %d must be positive", cfg.P, cfg.K)
	}
	s := &Sampler{
		cfg:    cfg,
		rng:    rand.New(rand.NewPCG(cfg.Seed, 0x5a4d504c)),
		counts: append([]int(nil), counts...),
		decks:  make([][]int, len(counts)),
	}
	for id, n := range counts {
		if n < 0 {
			return nil, fmt.Errorf("new sampler: identity %d has %d images", id, n)
		}
		if n >= cfg.K || (cfg.Replace && n > 0) {
			s.eligible = append(s.eligible, id)
		}
	}
	if len(s.eligible) < cfg.P {
		return nil, fmt.Errorf("new sampler: %d identities have enough images for K = %d, need P = %d", len(s.eligible), cfg.K, cfg.P)
	}
	s.pos = len(s.eligible) // start a new epoch on the first Next
	s.epoch = -1
	return s, nil
}

// Identities returns the identities the sampler draws from, ascending.
func (s *Sampler) Identities() []int { return append([]int(nil), s.eligible...) }

// BatchesPerEpoch returns how many batches make one epoch.
func (s *Sampler) BatchesPerEpoch() int { return (len(s.eligible) + s.cfg.P - 1) / s.cfg.P }

// Epoch returns the zero-based epoch of the last batch returned by Next
// (-1 before the first).
func (s *Sampler) Epoch() int { return s.epoch }

// Next returns the next batch: P identities × K samples, grouped by
// identity, and the identity of each sample as its label.
func (s *Sampler) Next() ([]Sample, []int) {
	if s.pos >= len(s.order) {
		s.order = append(s.order[:0], s.eligible...)
		s.rng.Shuffle(len(s.order), func(i, j int) { s.order[i], s.order[j] = s.order[j], s.order[i] })
		s.pos = 0
		s.epoch++
	}
	end := min(s.pos+s.cfg.P, len(s.order))
	ids := append([]int(nil), s.order[s.pos:end]...)
	s.pos = end
	if len(ids) < s.cfg.P {
		// Complete the last batch of the epoch with identities it does
		// not hold yet, so that a batch never repeats an identity.
		in := make(map[int]bool, s.cfg.P)
		for _, id := range ids {
			in[id] = true
		}
		for len(ids) < s.cfg.P {
			id := s.eligible[s.rng.IntN(len(s.eligible))]
			if !in[id] {
				in[id] = true
				ids = append(ids, id)
			}
		}
	}
	batch := make([]Sample, 0, s.cfg.P*s.cfg.K)
	labels := make([]int, 0, s.cfg.P*s.cfg.K)
	for _, id := range ids {
		for _, img := range s.deal(id) {
			batch = append(batch, Sample{Identity: id, Image: img})
			labels = append(labels, id)
		}
	}
	return batch, labels
}

// deal returns K images of identity id: distinct when it has at least K,
// otherwise all of them plus random repeats.
func (s *Sampler) deal(id int) []int {
	n, k := s.counts[id], s.cfg.K
	if n < k {
		out := s.rng.Perm(n)
		for len(out) < k {
			out = append(out, s.rng.IntN(n))
		}
		return out
	}
	out := make([]int, 0, k)
	used := make(map[int]bool, k)
	for len(out) < k {
		if len(s.decks[id]) == 0 {
			s.decks[id] = s.rng.Perm(n)
		}
		last := len(s.decks[id]) - 1
		img := s.decks[id][last]
		s.decks[id] = s.decks[id][:last]
		if used[img] {
			// The deck ran out mid-batch and was reshuffled; put the
			// repeat back at the bottom for the next batch.
			s.decks[id] = append([]int{img}, s.decks[id]...)
			continue
		}
		used[img] = true
		out = append(out, img)
	}
	return out
}

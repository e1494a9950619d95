package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/facerec/facerec/checkpoint"
	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/nn"
	"github.com/facerec/facerec/optim"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
)

// Losses a training run can optimise.
const (
	LossTriplet     = "triplet"
	LossContrastive = "contrastive"
	LossBinary      = "binary"
)

// Config configures Run. Zero fields take the documented defaults.
type Config struct {
	Loss   string // LossTriplet (default), LossContrastive or LossBinary
	Mining Mining // for the triplet loss (the zero value is batch-all)
	// Curriculum, when set, replaces Mining: the strategy changes as the
	// run progresses (see Stage).
	Curriculum []Stage
	Margin     float64 // α of the triplet loss (0.2) or m of the contrastive loss (1.0)
	SoftMargin bool    // the triplet loss's soft margin (see TripletConfig.Soft)
	Euclidean  bool    // the triplet loss on Euclidean, not squared, distances (see TripletConfig.Euclidean)
	P, K       int     // identities per batch and images per identity (8, 4)
	Epochs     int     // passes over the training images; 0 means until TimeBudget
	TimeBudget time.Duration
	LR         float64 // peak learning rate of AdamW (1e-3), cosine-annealed after a warm-up
	// Warmup is the number of steps of the linear warm-up; 0 means 5% of
	// the run, at most 200 steps.
	Warmup      int
	WeightDecay float64 // decoupled weight decay (5e-4)
	Seed        uint64
	Augment     *Augment
	// Out is the folder for metrics.jsonl, best.safetensors,
	// last.safetensors and the PNG curves.
	Out string
	// Val measures one-shot identification on held-out people after each
	// epoch; the best checkpoint is the one with the highest rank-1 (or the
	// lowest loss without Val).
	Val *Validation
	// Resume continues from a checkpoint of an earlier run of the same
	// network (its last.safetensors): weights, optimizer state and step.
	Resume string
	// Progress is called after every step with the steps done and planned
	// (planned is 0 when only a time budget bounds the run).
	Progress func(done, planned int)
}

// EpochLog is one line of metrics.jsonl.
type EpochLog struct {
	Epoch          int     `json:"epoch"`
	Step           int     `json:"step"`
	Loss           float64 `json:"loss"`
	ActiveFraction float64 `json:"active_fraction"`
	// PosDist and NegDist are the mean d(a,p) and d(a,n) of the mined
	// triplets (triplet loss only, in the loss's distance): both falling
	// to zero is the collapse of every embedding onto one point.
	PosDist  float64 `json:"pos_dist,omitempty"`
	NegDist  float64 `json:"neg_dist,omitempty"`
	LR       float64 `json:"lr"`
	ValRank1 float64 `json:"val_rank1,omitempty"`
	// Mining is the triplet mining of the epoch\'s last step (triplet loss).
	Mining       string  `json:"mining,omitempty"`
	Seconds      float64 `json:"seconds"`
	ImagesPerSec float64 `json:"images_per_sec"`
}

// Validation is a one-shot identification check: gallery inputs (one per
// enrolled identity) and probe inputs of known identities, each already a
// network input with its batch dimension of 1 (see Input).
type Validation struct {
	Gallery   []*tensor.Tensor
	GalleryID []int
	Probes    []*tensor.Tensor
	ProbeID   []int
}

// Input returns image img of identity id of ds as net's input, with a batch
// dimension of 1: the normalised image, or for a KindPretrainedHead net the
// frozen backbone's features of it.
func Input(net *model.EmbedNet, ds *Dataset, id, img int) (*tensor.Tensor, error) {
	if net.Config.Kind == model.KindPretrainedHead {
		raw, err := ds.Raw(id, img)
		if err != nil {
			return nil, err
		}
		rgba, err := photo.FromTensor(raw)
		if err != nil {
			return nil, err
		}
		return net.Input(rgba), nil
	}
	x, err := ds.Image(id, img)
	if err != nil {
		return nil, err
	}
	return x.Reshape(append([]int{1}, x.Shape...)...), nil
}

// Rank1 embeds everything with net (inference mode) and returns the share
// of probes whose nearest gallery embedding has the right identity.
func (v *Validation) Rank1(net *model.EmbedNet) (float64, error) {
	embed := func(imgs []*tensor.Tensor) ([][]float32, error) {
		out := make([][]float32, len(imgs))
		var arena tensor.Arena
		for i, x := range imgs {
			e, err := net.Forward(&arena, x)
			if err != nil {
				return nil, err
			}
			out[i] = append([]float32(nil), e.Data...)
			arena.Reset()
		}
		return out, nil
	}
	g, err := embed(v.Gallery)
	if err != nil {
		return 0, err
	}
	p, err := embed(v.Probes)
	if err != nil {
		return 0, err
	}
	if len(p) == 0 || len(g) == 0 {
		return 0, errors.New("train: empty validation set")
	}
	right := 0
	for i, q := range p {
		best, bestD := -1, math.Inf(1)
		for j, e := range g {
			d := 0.0
			for k := range q {
				t := float64(q[k] - e[k])
				d += t * t
			}
			if d < bestD {
				best, bestD = j, d
			}
		}
		if v.GalleryID[best] == v.ProbeID[i] {
			right++
		}
	}
	return float64(right) / float64(len(p)), nil
}

func (c *Config) defaults() error {
	if c.Loss == "" {
		c.Loss = LossTriplet
	}
	if c.Loss != LossTriplet && c.Loss != LossContrastive && c.Loss != LossBinary {
		return fmt.Errorf("train: unknown loss %q (want triplet, contrastive or binary)", c.Loss)
	}
	if c.P == 0 {
		c.P = 8
	}
	if c.K == 0 {
		c.K = 4
	}
	if c.LR == 0 {
		c.LR = 1e-3
	}
	if c.WeightDecay == 0 {
		c.WeightDecay = 5e-4
	}
	if c.Epochs <= 0 && c.TimeBudget <= 0 {
		return errors.New("train: set Epochs or TimeBudget")
	}
	if c.Out == "" {
		return errors.New("train: no output folder")
	}
	return nil
}

// Run trains net on ds until Epochs or TimeBudget, whichever ends first;
// a cancelled ctx or an expired budget stops cleanly after the current
// step, keeping the best and last checkpoints. It returns the per-epoch
// log (also written to Out/metrics.jsonl).
func Run(ctx context.Context, net *model.EmbedNet, ds *Dataset, cfg Config) ([]EpochLog, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, err
	}
	sampler, err := NewSampler(ds.Counts(), SamplerConfig{P: cfg.P, K: cfg.K, Seed: cfg.Seed, Replace: true})
	if err != nil {
		return nil, err
	}
	images := 0
	for _, n := range ds.Counts() {
		images += n
	}
	batch := cfg.P * cfg.K
	stepsPerEpoch := max(1, (images+batch-1)/batch)
	planned := 0
	if cfg.Epochs > 0 {
		planned = cfg.Epochs * stepsPerEpoch
	}
	// With only a time budget the schedule cannot know the last step in
	// advance: it starts from a guess and, after every epoch, re-aims the
	// cosine at the step the budget will allow at the measured speed, so
	// the rate has annealed when time is up (a run cut short at a high rate
	// ends on a noisy model).
	total := planned
	if total == 0 {
		total = 1000 * stepsPerEpoch
	}
	warmup := cfg.Warmup
	if warmup <= 0 {
		warmup = min(200, total/20)
	}
	sched := &optim.Cosine{Base: cfg.LR, Min: cfg.LR / 100, Total: total, Warmup: warmup}
	opt := optim.NewAdamW(sched, cfg.WeightDecay)
	st, err := newStepper(cfg, net, opt)
	if err != nil {
		return nil, err
	}
	params := st.params
	step := 0
	if cfg.Resume != "" {
		c, err := checkpoint.Load(cfg.Resume)
		if err != nil {
			return nil, err
		}
		if c.Arch != net.Arch() {
			return nil, fmt.Errorf("train: %s holds another network: %s", cfg.Resume, c.Arch)
		}
		if err := c.Restore(params, opt); err != nil {
			return nil, err
		}
		step = opt.Steps()
	}
	mode := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if cfg.Resume != "" {
		mode = os.O_CREATE | os.O_WRONLY | os.O_APPEND // the earlier epochs stay
	}
	metrics, err := os.OpenFile(filepath.Join(cfg.Out, "metrics.jsonl"), mode, 0o644)
	if err != nil {
		return nil, err
	}
	defer metrics.Close()
	enc := json.NewEncoder(metrics)

	// A head on a frozen backbone sees fixed features: compute them once
	// (no augmentation in that mode).
	var feats [][]*tensor.Tensor
	if net.Config.Kind == model.KindPretrainedHead {
		if feats, err = allInputs(net, ds); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	var logs []EpochLog
	bestScore := math.Inf(-1)
	for epoch := 1; cfg.Epochs <= 0 || epoch <= cfg.Epochs; epoch++ {
		var lossSum, activeSum, posSum, negSum float64
		epochStart := time.Now()
		n := 0
		stopped := false
		for s := 0; s < stepsPerEpoch; s++ {
			if ctx.Err() != nil || (cfg.TimeBudget > 0 && time.Since(start) >= cfg.TimeBudget) {
				stopped = true
				break
			}
			if len(cfg.Curriculum) > 0 {
				progress := 0.0
				if planned > 0 {
					progress = float64(step) / float64(planned)
				} else {
					progress = time.Since(start).Seconds() / cfg.TimeBudget.Seconds()
				}
				if cfg.Epochs > 0 && cfg.TimeBudget > 0 {
					progress = max(progress, time.Since(start).Seconds()/cfg.TimeBudget.Seconds())
				}
				st.cfg.Mining = miningAt(cfg.Curriculum, progress)
			}
			samples, _ := sampler.Next()
			var x *tensor.Tensor
			var labels []int
			if feats != nil {
				x, labels = featureBatch(feats, samples)
			} else if x, labels, err = ds.Batch(samples, cfg.Augment, st.rng.Uint64()); err != nil {
				return logs, err
			}
			loss, active, err := st.step(x, labels)
			if err != nil {
				return logs, err
			}
			if math.IsNaN(loss) {
				return logs, fmt.Errorf("train: loss is NaN at step %d", step)
			}
			lossSum += loss
			activeSum += active
			posSum += st.pos
			negSum += st.neg
			n++
			step++
			if cfg.Progress != nil {
				cfg.Progress(step, planned)
			}
		}
		if n > 0 {
			l := EpochLog{
				Epoch: epoch, Step: step, Loss: lossSum / float64(n), ActiveFraction: activeSum / float64(n),
				PosDist: posSum / float64(n), NegDist: negSum / float64(n),
				LR: sched.LR(step - 1), Seconds: time.Since(start).Seconds(),
				ImagesPerSec: float64(n*batch) / time.Since(epochStart).Seconds(),
			}
			if cfg.Loss == LossTriplet {
				l.Mining = st.cfg.Mining.String()
			}
			score := -l.Loss
			if cfg.Val != nil {
				if l.ValRank1, err = cfg.Val.Rank1(net); err != nil {
					return logs, err
				}
				score = l.ValRank1
			}
			logs = append(logs, l)
			if err := enc.Encode(l); err != nil {
				return logs, err
			}
			if err := save(filepath.Join(cfg.Out, "last.safetensors"), net, params, opt); err != nil {
				return logs, err
			}
			if score > bestScore {
				bestScore = score
				if err := save(filepath.Join(cfg.Out, "best.safetensors"), net, params, opt); err != nil {
					return logs, err
				}
			}
		}
		if stopped {
			break
		}
		if planned == 0 && n > 0 {
			perStep := time.Since(epochStart).Seconds() / float64(n)
			left := (cfg.TimeBudget - time.Since(start)).Seconds()
			sched.Total = step + int(left/perStep)
			if cfg.Warmup <= 0 {
				sched.Warmup = min(sched.Warmup, sched.Total/20)
			}
		}
	}
	if err := plotCurves(cfg.Out, logs); err != nil {
		return logs, err
	}
	return logs, nil
}

// stepper runs optimisation steps: forward on the graph, loss, backward,
// update. Run drives it; the training benchmark times it.
type stepper struct {
	cfg          Config
	net          *model.EmbedNet
	opt          optim.Optimizer
	params       []*nn.Param // the net's, then the binary head's
	g            *nn.Graph
	head         *BinaryHead // LossBinary only
	headW, headB *nn.Param
	rng          *rand.Rand // mining and pair sampling; Run draws augmentation seeds from it too
	pos, neg     float64    // the last step's mean d(a,p) and d(a,n) (triplet loss)
}

func newStepper(cfg Config, net *model.EmbedNet, opt optim.Optimizer) (*stepper, error) {
	s := &stepper{cfg: cfg, net: net, opt: opt, params: net.Params(), g: nn.NewGraph(&tensor.Arena{}),
		rng: rand.New(rand.NewPCG(cfg.Seed, 0x7a11))}
	if cfg.Loss == LossBinary {
		var err error
		if s.head, err = NewBinaryHead(net.Config.Dim); err != nil {
			return nil, err
		}
		s.headW = nn.NewParam("head.w", tensor.From(s.head.W, len(s.head.W)))
		s.headB = nn.NewParam("head.b", tensor.From([]float32{s.head.B}, 1))
		s.params = append(s.params, s.headW, s.headB)
	}
	return s, nil
}

// step trains on one batch x with identity labels and returns the loss
// and the share of active triplets (or pairs).
func (s *stepper) step(x *tensor.Tensor, labels []int) (loss, active float64, err error) {
	s.g.Reset()
	nn.ZeroGrads(s.params)
	emb := s.net.Graph(s.g, s.g.Input(x, false), true)
	if err := s.g.Err(); err != nil {
		return 0, 0, err
	}
	if s.head != nil { // the head's params may have been restored from a checkpoint
		copy(s.head.W, s.headW.Value.Data)
		s.head.B = s.headB.Value.Data[0]
	}
	loss, dE, active, tst, err := lossAndGrad(s.cfg, emb.Value, labels, s.head, s.rng)
	if err != nil {
		return 0, 0, err
	}
	s.pos, s.neg = tst.MeanPos, tst.MeanNeg
	if err := s.g.BackwardFrom(emb, dE.e); err != nil {
		return 0, 0, err
	}
	if s.head != nil {
		copy(s.headW.Grad.Data, dE.w)
		s.headB.Grad.Data[0] = dE.b
	}
	if err := s.opt.Step(s.params); err != nil {
		return 0, 0, err
	}
	return loss, active, nil
}

// allInputs computes the network input of every image of ds.
func allInputs(net *model.EmbedNet, ds *Dataset) ([][]*tensor.Tensor, error) {
	out := make([][]*tensor.Tensor, ds.Len())
	for id := range out {
		for j := range ds.Counts()[id] {
			x, err := Input(net, ds, id, j)
			if err != nil {
				return nil, err
			}
			out[id] = append(out[id], x)
		}
	}
	return out, nil
}

// featureBatch stacks precomputed inputs [1, ...] of the samples (pooled
// features, or a fine-tuned tail's activation maps) into [N, ...].
func featureBatch(feats [][]*tensor.Tensor, samples []Sample) (*tensor.Tensor, []int) {
	first := feats[samples[0].Identity][samples[0].Image]
	f := first.Len()
	x := tensor.New(append([]int{len(samples)}, first.Shape[1:]...)...)
	labels := make([]int, len(samples))
	for i, s := range samples {
		copy(x.Data[i*f:(i+1)*f], feats[s.Identity][s.Image].Data)
		labels[i] = s.Identity
	}
	return x, labels
}

// grads is the loss's gradient: for the embeddings and, with the binary
// head, for the head's weights and bias.
type grads struct {
	e *tensor.Tensor
	w []float32
	b float32
}

func lossAndGrad(cfg Config, e *tensor.Tensor, labels []int, head *BinaryHead, rng *rand.Rand) (float64, grads, float64, TripletStats, error) {
	switch cfg.Loss {
	case LossContrastive:
		loss, d, st, err := ContrastiveLoss(e, labels, ContrastiveConfig{Margin: cfg.Margin})
		return loss, grads{e: d}, activeShare(st), TripletStats{}, err
	case LossBinary:
		pairs, err := BalancedPairs(labels, rng)
		if err != nil {
			return 0, grads{}, 0, TripletStats{}, err
		}
		loss, hg, st, err := head.Loss(e, labels, pairs)
		return loss, grads{e: hg.E, w: hg.W, b: hg.B}, activeShare(st), TripletStats{}, err
	}
	loss, d, st, err := TripletLoss(e, labels, TripletConfig{Margin: cfg.Margin, Mining: cfg.Mining, Rand: rng, Soft: cfg.SoftMargin, Euclidean: cfg.Euclidean})
	return loss, grads{e: d}, st.ActiveFraction, st, err
}

// activeShare is the share of pairs with a non-zero loss (misclassified,
// for the binary head).
func activeShare(st PairStats) float64 {
	if st.Pairs == 0 {
		return 0
	}
	return float64(st.Active) / float64(st.Pairs)
}

// save writes a checkpoint of the network and the other trained params
// (the binary head's) with the optimizer's state.
func save(path string, net *model.EmbedNet, params []*nn.Param, opt optim.Optimizer) error {
	c, err := checkpoint.Capture(net.Arch(), params, opt)
	if err != nil {
		return err
	}
	return checkpoint.Save(path, c)
}

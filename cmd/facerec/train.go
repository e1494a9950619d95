package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/train"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func trainCmd() *cobra.Command {
	var (
		pf                          pipelineFlags
		data, out, people, holdout  string
		loss, mining, widths, cache string
		aligned, grey               bool
		augment, pool               string
		pretrained, soft, euclid    bool
		noNorm, embBN               bool
		resume, init                string
		margin, lr                  float64
		epochs, size, p, k, blocks  int
		warmup, tail                int
		dim                         int
		seed                        uint64
		budget                      time.Duration
	)
	cmd := &cobra.Command{
		Use:   "train --data DIR --out DIR",
		Short: "Train a Siamese embedding net (triplet loss with online mining, contrastive, or the binary head) on <person>/<photos>",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := model.DefaultEmbedNetConfig()
			cfg.Input, cfg.Blocks, cfg.Pool, cfg.Dim, cfg.Unnormalized, cfg.EmbeddingBN = size, blocks, pool, dim, noNorm, embBN
			if grey {
				cfg.Channels = 1
			}
			cfg.Widths = nil
			for _, w := range strings.Split(widths, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(w))
				if err != nil {
					return fmt.Errorf("--widths: %w", err)
				}
				cfg.Widths = append(cfg.Widths, n)
			}
			curriculum, err := train.ParseCurriculum(mining)
			if err != nil {
				return fmt.Errorf("--mining: %w", err)
			}
			m := curriculum[0].Mining
			if len(curriculum) == 1 {
				curriculum = nil
			}
			aug, err := train.ParseAugment(augment)
			if err != nil {
				return fmt.Errorf("--augment: %w", err)
			}
			if init != "" && (resume != "" || pretrained) {
				return fmt.Errorf("--init starts from its own network: not with --resume or --pretrained")
			}
			if (noNorm || embBN) && (pretrained || init != "" || resume != "") {
				return fmt.Errorf("--no-normalize and --embedding-bn build a new network: not with --pretrained, --init or --resume")
			}
			if tail != 0 && !pretrained {
				return fmt.Errorf("--tail fine-tunes the pretrained network's last blocks: it needs --pretrained")
			}
			if pretrained {
				// The head sees the pretrained network's input: 150×150 RGB.
				size, grey = model.RecognitionInput, false
			}
			backbone := func() (*model.RecognitionNet, error) {
				// Heads are trained on dlib's ResNet (its 128-d features).
				m, err := loadPretrained(cmd, face.DescriptorDlib)
				if err != nil {
					return nil, err
				}
				return face.Backbone(m), nil
			}
			net, err := train.NewNet(train.NetSpec{Checkpoint: cmp.Or(resume, init), Pretrained: pretrained, Tail: tail, Config: cfg, Seed: seed, Backbone: backbone})
			if err != nil {
				return err
			}
			// A network from a checkpoint brings its own input format,
			// and its chips' crop.
			size, grey = net.Config.Input, net.Config.Channels == 1
			fromFile := resume != "" || init != ""
			if pf.opt.Align == "" && (fromFile || pretrained) {
				pf.opt.Align = face.TrainedAlignment(net.Config) // the crop inference will give it
			}
			dcfg := train.DatasetConfig{Root: data, Size: size, Grey: grey, Aligned: aligned, MinImages: 2}
			if people != "" {
				if dcfg.People, err = train.ReadPeopleFile(people); err != nil {
					return err
				}
			}
			var held []string
			if holdout != "" {
				held = strings.Split(holdout, ",")
				dcfg.Exclude = held
			}
			if !aligned {
				pl, err := pf.load(cmd)
				if err != nil {
					return err
				}
				dcfg.Align = train.AlignFunc(cmd.Context(), pl)
				// The checkpoint says which crop it reads; a resumed network
				// keeps the architecture it was saved with.
				switch a := string(pl.Options().Align); {
				case net.Config.Align == "" && !fromFile:
					net.Config.Align = a
				case net.Config.Align != "" && net.Config.Align != a:
					return fmt.Errorf("the network was trained on %s chips, not --align %s", net.Config.Align, a)
				}
				if cache == "" {
					if dir, err := os.UserCacheDir(); err == nil {
						cache = filepath.Join(dir, "facerec", train.ChipCacheName(pl.Options()))
					}
				}
				dcfg.CacheDir = cache
			}
			ds, err := train.OpenDataset(dcfg)
			if err != nil {
				return err
			}
			if !aligned {
				fmt.Fprintln(os.Stderr, "detecting and aligning every photo once...")
				for _, e := range ds.Prune() {
					fmt.Fprintln(os.Stderr, "skipped:", e)
				}
			}
			var val *train.Validation
			if len(held) > 0 {
				if val, err = train.NewValidation(net, dcfg, ds, held, func(e error) { fmt.Fprintln(os.Stderr, "skipped:", e) }); err != nil {
					return err
				}
			}
			var bar *progressbar.ProgressBar
			fmt.Fprintf(os.Stderr, "training on %d identities (%d held out), %s loss, %s mining\n", ds.Len(), len(held), loss, mining)
			logs, err := train.Run(cmd.Context(), net, ds, train.Config{
				Loss: loss, Mining: m, Curriculum: curriculum, Margin: margin, SoftMargin: soft, Euclidean: euclid, P: p, K: k, Epochs: epochs, TimeBudget: budget, LR: lr, Warmup: warmup,
				Seed: seed, Augment: aug, Out: out, Val: val, Resume: resume,
				Progress: func(done, planned int) {
					if bar == nil {
						total := planned
						if total == 0 {
							total = -1 // only a time budget: a spinner
						}
						bar = newBar(total, "steps")
					}
					bar.Set(done)
				},
			})
			if bar != nil {
				bar.Finish()
			}
			if err != nil {
				return err
			}
			enc := json.NewEncoder(os.Stdout)
			for _, l := range logs {
				if err := enc.Encode(l); err != nil {
					return err
				}
			}
			if n := len(logs); n > 0 {
				last := logs[n-1]
				fmt.Fprintf(os.Stderr, "%d epochs, %.0f s, last loss %.4f", n, last.Seconds, last.Loss)
				if val != nil {
					best := slices.MaxFunc(logs, func(a, b train.EpochLog) int { return cmp.Compare(a.ValRank1, b.ValRank1) })
					fmt.Fprintf(os.Stderr, "; held-out rank-1 %.2f%% at the end, best %.2f%% (epoch %d)", 100*last.ValRank1, 100*best.ValRank1, best.Epoch)
				}
				fmt.Fprintf(os.Stderr, "; checkpoints in %s\n", out)
			}
			return nil
		},
	}
	pf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&data, "data", "", "`DIR` with one sub-folder of photos per identity (sub-folders may be symbolic links)")
	fl.BoolVar(&aligned, "aligned", false, "photos are ready face crops (e.g. AT&T): no detection")
	fl.StringVar(&people, "people", "", "train only on the identities of this `FILE` (LFW peopleDevTrain.txt format)")
	fl.StringVar(&holdout, "holdout", "", "identities kept out of training (`NAME,...`); validation enrols the first photo of every identity and probes with these people's others")
	fl.StringVar(&loss, "loss", train.LossTriplet, "`triplet|contrastive|binary`")
	fl.StringVar(&mining, "mining", "batch-all", "triplet mining: `batch-all|semi-hard|batch-hard|random`, or a curriculum of them with the share of the run each starts at, e.g. batch-all,batch-hard@0.3 (hard mining collapses from a random start without --embedding-bn)")
	fl.Float64Var(&margin, "margin", 0, "margin: triplet α (default 0.2) or contrastive m (default 1.0)")
	fl.BoolVar(&soft, "soft-margin", false, "triplet loss with the soft margin ln(1+exp(d(a,p)−d(a,n))) instead of the hinge: never goes silent on satisfied triplets")
	fl.BoolVar(&euclid, "euclidean", false, "triplet loss on Euclidean distances ‖a−p‖ instead of squared ones (Hermans et al.): their gradient does not vanish as points draw together (alone it does not stop batch-hard's collapse: --embedding-bn does)")
	fl.BoolVar(&noNorm, "no-normalize", false, "embeddings are not scaled to unit length (from scratch only; Hermans et al.'s set-up for the soft margin)")
	fl.BoolVar(&embBN, "embedding-bn", false, "batch-normalise the embedding (no learned scale or shift) before its L2 normalisation: the batch cannot collapse onto one point, which lets hard mining train from scratch")
	fl.IntVar(&epochs, "epochs", 0, "passes over the training images (0: until --time-budget)")
	fl.DurationVar(&budget, "time-budget", 0, "stop cleanly after this long, keeping the best checkpoint")
	fl.Float64Var(&lr, "lr", 1e-3, "peak learning rate (AdamW, cosine schedule with warm-up)")
	fl.IntVar(&warmup, "warmup", 0, "steps of linear learning-rate warm-up (0: 5% of the run, at most 200)")
	fl.IntVar(&size, "size", 64, "input side in pixels")
	fl.BoolVar(&grey, "grey", false, "train on grey images")
	fl.StringVar(&widths, "widths", "32,64,128,256", "channels of each stage (`N,N,...`)")
	fl.IntVar(&blocks, "blocks", 1, "residual blocks per stage")
	fl.IntVar(&dim, "dim", model.DescriptorSize, "embedding size")
	fl.StringVar(&pool, "pool", "", "last feature map to vector, `\"\"|flatten`: global average (\"\"), or flatten (keeps the layout of the face)")
	fl.IntVar(&p, "p", 8, "identities per batch")
	fl.IntVar(&k, "k", 4, "images per identity in a batch")
	fl.Uint64Var(&seed, "seed", 1, "random seed")
	fl.StringVar(&augment, "augment", train.DefaultAugment, "augmentation (`LIST`): none, or mirror and name=value for scale, shift, brightness, contrast, rotate (degrees), erase (probability)")
	fl.BoolVar(&pretrained, "pretrained", false, "start from the pretrained descriptor (dlib's ResNet): train only a new final layer on its frozen features, or with --tail its last blocks too (no augmentation)")
	fl.IntVar(&tail, "tail", 0, "with --pretrained, also fine-tune the last `N` residual blocks of the pretrained network (1: its last downsampling block; 4: its whole 256-channel stage); the rest stays frozen")
	fl.StringVar(&init, "init", "", "start from the weights of a trained network (`FILE`, e.g. one trained on LFW) with a fresh optimizer: fine-tuning on new data")
	fl.StringVar(&resume, "resume", "", "continue from a checkpoint `FILE` of an earlier run (its last.safetensors), with the same data and flags")
	fl.StringVar(&cache, "cache", "", "`DIR` for aligned chips (default: the user cache dir)")
	fl.StringVar(&out, "out", "", "output `DIR`: metrics.jsonl, best/last.safetensors, loss.png, active.png, dist.png, val.png")
	cmd.MarkFlagRequired("data")
	cmd.MarkFlagRequired("out")
	return cmd
}

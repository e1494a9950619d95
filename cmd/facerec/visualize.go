package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
	"github.com/facerec/facerec/visualize"
	"github.com/spf13/cobra"
)

func visualizeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "visualize",
		Short: "Show what the layers of facerec's networks have learned",
		Long: `Feature visualisations of the pretrained networks (--model descriptor, ssd, tiny, landmarks or centernet):
layers (names, output shapes, receptive fields), filters (first-layer kernels), activations (feature maps
of an image), top-patches (the image patches that excite units most, Zeiler & Fergus), maximize (an
image optimised to excite a unit), saliency (|∂d(A,B)/∂A| and Grad-CAM for a verification pair) and
report (all of it as one self-contained HTML page).`,
	}
	cmd.AddCommand(visLayersCmd(), visFiltersCmd(), visActivationsCmd(), visPatchesCmd(), visMaximizeCmd(), visSaliencyCmd(), visReportCmd())
	return cmd
}

// visFlags are the flags every visualisation shares.
type visFlags struct {
	model, out, layer  string
	needOut, needLayer bool
}

func (f *visFlags) register(cmd *cobra.Command, needOut, needLayer bool) {
	f.needOut, f.needLayer = needOut, needLayer
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", "descriptor", "network: "+strings.Join(visualize.Models, ", ")+", or a facerec train checkpoint (`NAME|PATH`)")
	if needOut {
		fl.StringVar(&f.out, "out", "", "output PNG (`PATH`)")
	}
	if needLayer {
		fl.StringVar(&f.layer, "layer", "", "`LAYER` name (see facerec visualize layers)")
	}
}

func (f *visFlags) net(cmd *cobra.Command) (*visualize.Net, error) {
	if f.out == "" && f.needOut {
		return nil, fmt.Errorf("--out is required")
	}
	if f.layer == "" && f.needLayer {
		return nil, fmt.Errorf("--layer is required (see `facerec visualize layers --model %s`)", f.model)
	}
	dir, err := modelDir(cmd)
	if err != nil {
		return nil, err
	}
	return visualize.LoadNet(dir, f.model)
}

// prepared decodes an image file and prepares it for n.
func prepared(n *visualize.Net, path string) (*tensor.Tensor, error) {
	img, _, err := photo.DecodeFile(path, photo.Options{})
	if err != nil {
		return nil, err
	}
	return n.Prepare(img)
}

func visLayersCmd() *cobra.Command {
	var f visFlags
	cmd := &cobra.Command{
		Use:   "layers --model M",
		Short: "List the named layers with output shapes and receptive fields (JSON lines)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := f.net(cmd)
			if err != nil {
				return err
			}
			ls, err := n.Layers()
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			for _, l := range ls {
				if err := enc.Encode(l); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f.register(cmd, false, false)
	return cmd
}

func visFiltersCmd() *cobra.Command {
	var f visFlags
	cmd := &cobra.Command{
		Use:   "filters --model M --out F.png",
		Short: "Draw the first convolution's kernels as a grid",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := f.net(cmd)
			if err != nil {
				return err
			}
			img, err := n.Filters()
			if err != nil {
				return err
			}
			return writePNG(f.out, img)
		},
	}
	f.register(cmd, true, false)
	return cmd
}

func visActivationsCmd() *cobra.Command {
	var (
		f       visFlags
		input   string
		maxMaps int
	)
	cmd := &cobra.Command{
		Use:   "activations --model M --layer L --image I --out F.png",
		Short: "Draw one layer's feature maps for an image as a mosaic",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if input == "" {
				return fmt.Errorf("--image is required")
			}
			n, err := f.net(cmd)
			if err != nil {
				return err
			}
			p, err := prepared(n, input)
			if err != nil {
				return err
			}
			img, err := n.Activations(p, f.layer, maxMaps)
			if err != nil {
				return err
			}
			return writePNG(f.out, img)
		},
	}
	f.register(cmd, true, true)
	cmd.Flags().StringVar(&input, "image", "", "input image (its centred square is resized to the network's input) (`FILE`)")
	cmd.Flags().IntVar(&maxMaps, "max", 64, "draw at most this many channels (0: all)")
	return cmd
}

// imageFiles lists the image files in dir, sorted.
func imageFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".pgm":
			if !d.IsDir() {
				files = append(files, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no images in %s", dir)
	}
	slices.Sort(files)
	return files, nil
}

// preparedDir prepares up to limit images of dir (0: all).
func preparedDir(n *visualize.Net, dir string, limit int) ([]*tensor.Tensor, []string, error) {
	files, err := imageFiles(dir)
	if err != nil {
		return nil, nil, err
	}
	if limit > 0 && len(files) > limit {
		files = files[:limit]
	}
	var imgs []*tensor.Tensor
	var names []string
	for _, p := range files {
		t, err := prepared(n, p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "facerec: skipping %s: %v\n", p, err)
			continue
		}
		imgs, names = append(imgs, t), append(names, filepath.Base(p))
	}
	if len(imgs) == 0 {
		return nil, nil, fmt.Errorf("no readable images in %s", dir)
	}
	return imgs, names, nil
}

func visPatchesCmd() *cobra.Command {
	var (
		f           visFlags
		dir         string
		units, imgN int
	)
	cmd := &cobra.Command{
		Use:   "top-patches --model M --layer L --images DIR --out F.png",
		Short: "The 9 image patches that excite each of the first units of a layer most",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return fmt.Errorf("--images is required")
			}
			n, err := f.net(cmd)
			if err != nil {
				return err
			}
			imgs, names, err := preparedDir(n, dir, imgN)
			if err != nil {
				return err
			}
			var us []int
			for u := 0; u < units; u++ {
				us = append(us, u)
			}
			ps, err := n.TopPatches(imgs, f.layer, us, 9)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			for u, row := range ps {
				for _, p := range row {
					if err := enc.Encode(struct {
						Unit  int     `json:"unit"`
						Image string  `json:"image"`
						Value float64 `json:"value"`
						Rect  [4]int  `json:"rect"`
					}{us[u], names[p.Image], p.Value, [4]int{p.Rect.Min.X, p.Rect.Min.Y, p.Rect.Dx(), p.Rect.Dy()}}); err != nil {
						return err
					}
				}
			}
			return writePNG(f.out, visualize.PatchGrid(imgs, ps, 48))
		},
	}
	f.register(cmd, true, true)
	cmd.Flags().StringVar(&dir, "images", "", "folder of images (`DIR`)")
	cmd.Flags().IntVar(&units, "units", 8, "show units 0 … n−1")
	cmd.Flags().IntVar(&imgN, "limit", 200, "read at most this many images (0: all)")
	return cmd
}

func visMaximizeCmd() *cobra.Command {
	var (
		f   visFlags
		ch  int
		opt visualize.MaximizeOptions
	)
	cmd := &cobra.Command{
		Use:   "maximize --model M --layer L --channel C --out F.png",
		Short: "Optimise an image to excite one channel (gradient ascent with jitter and blur)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := f.net(cmd)
			if err != nil {
				return err
			}
			began := time.Now()
			m, err := n.Maximize(f.layer, ch, opt)
			if err != nil {
				return err
			}
			if err := writePNG(f.out, m.Image); err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{
				"layer": f.layer, "channel": ch, "start": m.Start, "final": m.Final, "seconds": time.Since(began).Seconds(),
			})
		},
	}
	f.register(cmd, true, true)
	fl := cmd.Flags()
	fl.IntVar(&ch, "channel", 0, "channel to excite")
	fl.IntVar(&opt.Steps, "steps", 150, "gradient-ascent steps")
	fl.Float64Var(&opt.LR, "lr", 0.05, "Adam's learning rate (pixels in [0, 1])")
	fl.IntVar(&opt.Jitter, "jitter", 0, "largest random shift per step in pixels (0: input/16, negative: none)")
	fl.IntVar(&opt.BlurEvery, "blur-every", 4, "blur every N steps (negative: never)")
	fl.Float64Var(&opt.Sigma, "sigma", 0.5, "σ of the blur in pixels")
	fl.Uint64Var(&opt.Seed, "seed", 0, "seed of the starting noise and the jitter")
	return cmd
}

func visSaliencyCmd() *cobra.Command {
	var (
		pf        pipelineFlags
		a, b, out string
		layer     string
	)
	cmd := &cobra.Command{
		Use:   "saliency --a A.jpg --b B.jpg --out F.png",
		Short: "Which pixels of photo A made the distance d(A, B) what it is: |∂d/∂A| and Grad-CAM",
		Long: `Saliency of a verification decision for the pretrained descriptor (MobileFaceNet, the default, or dlib's
ResNet with --descriptor dlib): the magnitude of the gradient of the
descriptor distance d(A, B) with respect to photo A's pixels, and a Grad-CAM map of the similarity −d at
--layer, both drawn over photo A (the left and right halves of --out). JSON on stdout: the distance and
the fraction of each map inside A's face box.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a == "" || b == "" || out == "" {
				return fmt.Errorf("saliency needs --a, --b and --out")
			}
			ia, _, err := photo.DecodeFile(a, photo.Options{})
			if err != nil {
				return fmt.Errorf("photo A: %w", err)
			}
			ib, _, err := photo.DecodeFile(b, photo.Options{})
			if err != nil {
				return fmt.Errorf("photo B: %w", err)
			}
			p, err := pf.load(cmd)
			if err != nil {
				return err
			}
			x, err := visualize.NewExplainer(p, visualize.ExplainOptions{CAMLayer: layer})
			if err != nil {
				return err
			}
			e, err := x.Pair(cmd.Context(), ia, ib)
			if err != nil {
				return err
			}
			both := image.NewRGBA(image.Rect(0, 0, 2*e.W, e.H))
			draw.Draw(both, image.Rect(0, 0, e.W, e.H), e.SaliencyImage, image.Point{}, draw.Src)
			draw.Draw(both, image.Rect(e.W, 0, 2*e.W, e.H), e.GradCAMImage, image.Point{}, draw.Src)
			if err := writePNG(out, both); err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(e)
		},
	}
	pf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&a, "a", "", "photo A (the maps are drawn on it) (`FILE`)")
	fl.StringVar(&b, "b", "", "photo B (`FILE`)")
	fl.StringVar(&out, "out", "", "output PNG: saliency | Grad-CAM over photo A (`PATH`)")
	fl.StringVar(&layer, "layer", "", "Grad-CAM layer of the descriptor (`LAYER`; default "+visualize.DefaultCAMLayer+" for dlib's ResNet, PRelu_75 for MobileFaceNet)")
	return cmd
}

func visReportCmd() *cobra.Command {
	var (
		f      visFlags
		dir    string
		outDir string
		limit  int
		opt    visualize.ReportOptions
		layers string
	)
	cmd := &cobra.Command{
		Use:   "report --model M --images DIR --out DIR",
		Short: "Write a self-contained HTML page of all the visualisations, layer by layer",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" || outDir == "" {
				return fmt.Errorf("report needs --images and --out")
			}
			if layers != "" {
				opt.Layers = strings.Split(layers, ",")
			}
			n, err := f.net(cmd)
			if err != nil {
				return err
			}
			imgs, names, err := preparedDir(n, dir, limit)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return err
			}
			path := filepath.Join(outDir, "index.html")
			tmp, err := os.CreateTemp(outDir, ".index-*.html")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			began := time.Now()
			opt.Progress = func(what string) { fmt.Fprintf(os.Stderr, "%5.1f s  %s\n", time.Since(began).Seconds(), what) }
			if err := n.Report(cmd.Context(), tmp, imgs, names, opt); err != nil {
				tmp.Close()
				return err
			}
			if err := tmp.Close(); err != nil {
				return err
			}
			if err := os.Chmod(tmp.Name(), 0o644); err != nil {
				return err
			}
			if err := os.Rename(tmp.Name(), path); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "wrote %s in %.1f s\n", path, time.Since(began).Seconds())
			return nil
		},
	}
	f.register(cmd, false, false)
	fl := cmd.Flags()
	fl.StringVar(&dir, "images", "", "folder of images (`DIR`)")
	fl.StringVar(&outDir, "out", "", "output folder (index.html) (`PATH`)")
	fl.IntVar(&limit, "limit", 24, "read at most this many images (0: all)")
	fl.StringVar(&layers, "layers", "", "comma-separated layers to show (default: four spread over the network) (`LIST`)")
	fl.IntVar(&opt.Units, "units", 6, "units per layer for the top patches")
	fl.IntVar(&opt.Maximize, "maximize", 3, "units per layer to maximise")
	fl.IntVar(&opt.MaximizeSteps, "steps", 40, "maximisation steps")
	return cmd
}

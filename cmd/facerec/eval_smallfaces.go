package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/facerec/facerec/eval"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/photo"
	"github.com/spf13/cobra"
)

// smallFacesReport is what `facerec eval small-faces` prints.
type smallFacesReport struct {
	Seed    uint64         `json:"seed"`
	MinIoU  float64        `json:"min_iou"`
	Sources int            `json:"source_faces"`
	Runs    []smallFaceRun `json:"runs"`
}

type smallFaceRun struct {
	Config  string            `json:"config"`
	Options face.Options      `json:"options"`
	Frames  []eval.FrameScore `json:"frames"`
}

func evalSmallFacesCmd() *cobra.Command {
	var (
		pf       pipelineFlags
		root     string
		people   int
		sizesF   string
		resF     string
		frames   int
		seed     uint64
		minIoU   float64
		baseline bool
		saveDir  string
	)
	cmd := &cobra.Command{
		Use:   "small-faces --root DIR",
		Short: "Detection rate by face size and time per frame on synthetic frames of LFW faces pasted into textured backgrounds",
		Long: `Pastes real faces (the first photo of --people people of --root, cut around the box the
detector finds on the photo alone) at the --sizes (box width in pixels) into synthetic
backgrounds of each --resolutions, several per frame, from --seed; runs Detect (detector and
landmarks) on every frame and counts a pasted face found when a detected box overlaps its box
by IoU >= --min-iou (one box per face), and times each call (wall time, and CPU time summed
over the cores where the system reports it). With --baseline the same frames are also run with
the small-face search off (--small-face-size -1), for a before/after from one run. The table
goes to stderr, the JSON report to stdout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sizes, err := parseInts(sizesF)
			if err != nil {
				return fmt.Errorf("--sizes: %w", err)
			}
			for _, s := range sizes {
				if s < 8 || s > 4000 {
					return fmt.Errorf("--sizes: %d outside 8..4000 pixels", s)
				}
			}
			res, err := parseResolutions(resF)
			if err != nil {
				return fmt.Errorf("--resolutions: %w", err)
			}
			if frames < 1 || people < 1 {
				return errors.New("--frames and --people must be positive")
			}
			if minIoU <= 0 || minIoU > 1 {
				return fmt.Errorf("--min-iou %v outside (0, 1]", minIoU)
			}
			p, err := pf.load(cmd)
			if err != nil {
				return err
			}
			sources, err := smallFaceSources(cmd.Context(), p, root, people, seed)
			if err != nil {
				return err
			}
			configs := []struct {
				name string
				opt  face.Options
			}{{"default", pf.opt}}
			if baseline {
				o := pf.opt
				o.SmallFaceSize = -1
				configs = append([]struct {
					name string
					opt  face.Options
				}{{"tiles off", o}}, configs...)
			}
			dir, err := modelDir(cmd)
			if err != nil {
				return err
			}
			pipes := make([]*face.Pipeline, len(configs))
			for i, c := range configs {
				if c.opt == pf.opt {
					pipes[i] = p
				} else if pipes[i], err = face.Load(cmd.Context(), dir, c.opt, os.Stderr); err != nil {
					return err
				}
			}
			rep := smallFacesReport{Seed: seed, MinIoU: minIoU, Sources: len(sources)}
			for i, c := range configs {
				rep.Runs = append(rep.Runs, smallFaceRun{Config: c.name, Options: pipes[i].Options()})
			}
			for ri, r := range res {
				rng := rand.New(rand.NewPCG(seed, uint64(ri)))
				set, err := smallFaceFrames(r, sizes, frames, sources, rng)
				if err != nil {
					return err
				}
				if saveDir != "" {
					if err := saveFrame(saveDir, set[0], r); err != nil {
						return err
					}
				}
				for i := range configs {
					bar := newBar(len(set), fmt.Sprintf("%d×%d %s", r.X, r.Y, configs[i].name))
					detect := func(ctx context.Context, img image.Image) ([]face.Rect, error) {
						defer bar.Add(1)
						fs, err := pipes[i].Detect(ctx, img)
						boxes := make([]face.Rect, len(fs))
						for j, f := range fs {
							boxes[j] = f.Box
						}
						return boxes, err
					}
					s, err := eval.ScoreFrames(cmd.Context(), set, detect, eval.ScoreOptions{MinIoU: minIoU, CPUClock: processCPUTime})
					if err != nil {
						return err
					}
					rep.Runs[i].Frames = append(rep.Runs[i].Frames, s)
				}
			}
			writeSmallFacesTable(os.Stderr, &rep, sizes)
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		},
	}
	pf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&root, "root", "", "folder of <name>/<name>_NNNN.jpg images to take the faces from (e.g. lfw/deepfunneled) (`DIR`)")
	fl.IntVar(&people, "people", 60, "how many people's first photo to paste faces from")
	fl.StringVar(&sizesF, "sizes", "40,56,80,115,160,226,300", "face box widths to paste, in pixels, a comma-separated `LIST`")
	fl.StringVar(&resF, "resolutions", "640x480,1280x720,1920x1080,3840x2160", "frame sizes, a comma-separated `LIST` of WxH")
	fl.IntVar(&frames, "frames", 6, "frames per resolution")
	fl.Uint64Var(&seed, "seed", 1, "seed of the photos, the backgrounds and the placements")
	fl.Float64Var(&minIoU, "min-iou", 0.3, "IoU with the pasted face's box from which a detection counts as finding it")
	fl.BoolVar(&baseline, "baseline", false, "also run every frame with the small-face search off (--small-face-size -1), for a before/after")
	fl.StringVar(&saveDir, "save-frames", "", "write the first frame of each resolution as a PNG into this `DIR`")
	cmd.MarkFlagRequired("root")
	return cmd
}

// smallFaceSources is the first photo of n people of root (drawn with
// seed, by name order) with the box of the face the detector finds on it
// alone; photos without exactly one face are passed over.
func smallFaceSources(ctx context.Context, p *face.Pipeline, root string, n int, seed uint64) ([]eval.SourceFace, error) {
	dirs, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range dirs {
		if d.IsDir() {
			names = append(names, d.Name())
		}
	}
	slices.Sort(names)
	rand.New(rand.NewPCG(seed, 0x5ace)).Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	var out []eval.SourceFace
	for _, name := range names {
		if len(out) == n {
			break
		}
		files, err := filepath.Glob(filepath.Join(root, name, "*.jpg"))
		if err != nil || len(files) == 0 {
			continue
		}
		slices.Sort(files)
		img, _, err := photo.DecodeFile(files[0], photo.Options{})
		if err != nil {
			return nil, err
		}
		f, err := p.DetectSubject(ctx, img)
		if errors.Is(err, face.ErrNoFace) || errors.Is(err, face.ErrAmbiguous) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", files[0], err)
		}
		// A bystander pasted with the face would be an unlabelled face
		// in the frame: a photo with more than one face is passed over.
		if all, err := p.Detect(ctx, img); err != nil || len(all) != 1 {
			if err != nil {
				return nil, fmt.Errorf("%s: %w", files[0], err)
			}
			continue
		}
		out = append(out, eval.SourceFace{Image: img, Box: f.Box})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no face found in the photos of %s", root)
	}
	return out, nil
}

// smallFaceFrames synthesises n frames of size r. Each frame gets one face
// of every size per megapixel (at least one set), placed largest first so
// that the large ones find room, the set rotated frame by frame so that in
// a small frame every size gets its turn first.
func smallFaceFrames(r image.Point, sizes []int, n int, sources []eval.SourceFace, rng *rand.Rand) ([]*eval.SyntheticFrame, error) {
	sets := max(1, r.X*r.Y/1_000_000)
	desc := slices.Clone(sizes)
	slices.Sort(desc)
	slices.Reverse(desc)
	var out []*eval.SyntheticFrame
	for i := range n {
		want := []int{desc[i%len(desc)]}
		for range sets {
			want = append(want, desc...)
		}
		want = slices.Delete(want, 1+i%len(desc), 2+i%len(desc)) // the first set's copy of the one placed first
		fr, err := eval.SynthesizeFrame(r.X, r.Y, sources, want, rng)
		if err != nil {
			return nil, err
		}
		out = append(out, fr)
	}
	return out, nil
}

func saveFrame(dir string, fr *eval.SyntheticFrame, r image.Point) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("small-faces-%dx%d.png", r.X, r.Y)))
	if err != nil {
		return err
	}
	if err := png.Encode(f, fr.Image); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeSmallFacesTable writes the report as a Markdown table: one row per
// frame size and configuration, the detection rate of each face size
// (found/pasted; "–" where none of that size fitted) and the time per frame.
func writeSmallFacesTable(w io.Writer, rep *smallFacesReport, sizes []int) {
	if len(rep.Runs) == 0 {
		return
	}
	head, sep := "| frame | detection |", "|---|---|"
	for _, s := range sizes {
		head += fmt.Sprintf(" %d px |", s)
		sep += "---:|"
	}
	fmt.Fprintln(w, head+" false pos. | ms/frame | CPU ms/frame |")
	fmt.Fprintln(w, sep+"---:|---:|---:|")
	for fi := range rep.Runs[0].Frames {
		for _, run := range rep.Runs {
			fs := run.Frames[fi]
			fmt.Fprintf(w, "| %d×%d | %s |", fs.Width, fs.Height, run.Config)
			for _, size := range sizes {
				i := slices.IndexFunc(fs.Sizes, func(r eval.SizeRate) bool { return r.Size == size })
				if i < 0 {
					fmt.Fprint(w, " – |")
					continue
				}
				fmt.Fprintf(w, " %d/%d |", fs.Sizes[i].Found, fs.Sizes[i].Faces)
			}
			cpu := "–"
			if fs.CPUMsMean > 0 {
				cpu = fmt.Sprintf("%.0f", fs.CPUMsMean)
			}
			fmt.Fprintf(w, " %d | %.0f | %s |\n", fs.FalsePositives, fs.MsMean, cpu)
		}
	}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func parseResolutions(s string) ([]image.Point, error) {
	var out []image.Point
	for _, f := range strings.Split(s, ",") {
		ws, hs, ok := strings.Cut(strings.TrimSpace(f), "x")
		w, err1 := strconv.Atoi(ws)
		h, err2 := strconv.Atoi(hs)
		if !ok || err1 != nil || err2 != nil || w < 1 || h < 1 || w > 8192 || h > 8192 {
			return nil, fmt.Errorf("%q is not WxH up to 8192x8192 (e.g. 1920x1080)", f)
		}
		out = append(out, image.Pt(w, h))
	}
	return out, nil
}

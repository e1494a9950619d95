package main

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/internal/parallel"
	"github.com/facerec/facerec/photo"
	"github.com/spf13/cobra"
)

// faceJSON is one face in the output of detect and embed.
type faceJSON struct {
	Box       [4]float64   `json:"box"` // x, y, w, h in pixels
	Score     float64      `json:"score"`
	Landmarks [][2]float64 `json:"landmarks"`
	Model     string       `json:"model,omitempty"`
	Embedding []float32    `json:"embedding,omitempty"`
}

func toJSON(f *face.Face, withEmbedding bool) faceJSON {
	j := faceJSON{Box: roundBox([4]float64{f.Box.X, f.Box.Y, f.Box.W, f.Box.H}), Score: round(f.Score, scoreDecimals)}
	for _, p := range f.Landmarks {
		j.Landmarks = append(j.Landmarks, [2]float64{round(p.X, pxDecimals), round(p.Y, pxDecimals)})
	}
	if withEmbedding {
		j.Model, j.Embedding = f.Descriptor.Model, f.Descriptor.Vector
	}
	return j
}

// imageResult is what processing one file gave.
type imageResult struct {
	img   *image.RGBA
	faces []face.Face
	err   error
}

// forEachImage decodes and runs the pipeline over files on all cores,
// calling emit in input order (so output lines follow the arguments) for
// each file that worked. A file that failed is reported on stderr and the
// others go on; the result is then a *partialError counting them with
// the earlier failures (paths that expandPhotos could not read).
func forEachImage(ctx context.Context, p *face.Pipeline, files []string, earlier int, describe bool, emit func(i int, r imageResult) error) error {
	results := make([]chan imageResult, len(files))
	for i := range results {
		results[i] = make(chan imageResult, 1)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // an emit error stops the work
	go parallel.For(ctx, len(files), 0, func(i int) {
		var r imageResult
		r.img, _, r.err = photo.DecodeFile(files[i], photo.Options{})
		if r.err == nil {
			if describe {
				r.faces, r.err = p.Faces(ctx, r.img)
			} else {
				r.faces, r.err = p.Detect(ctx, r.img)
			}
			if r.err != nil {
				r.err = fmt.Errorf("%s: %w", files[i], r.err)
			}
		}
		results[i] <- r
	})
	bar := newPhotoBar(len(files), "images")
	failed := 0
	for i := range files {
		var r imageResult
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			bar.clear()
			fmt.Fprintln(os.Stderr, "facerec:", r.err) // photo errors name the file
			failed++
		} else if err := emit(i, r); err != nil {
			return err
		}
		bar.add()
	}
	what := "images"
	if earlier > 0 {
		what = "inputs" // a path that gave no image is one too
	}
	return partial(failed+earlier, len(files)+earlier, what)
}

// expandImages is expandPhotos for the commands that read images: the
// problems reported on stderr, their count returned.
func expandImages(args []string, stderr io.Writer) ([]string, int) {
	files, problems := expandPhotos(args, stderr)
	for _, err := range problems {
		fmt.Fprintln(stderr, "facerec:", err)
	}
	return files, len(problems)
}

func detectCmd() *cobra.Command {
	var (
		pf     pipelineFlags
		draw   string
		format formatFlag
	)
	cmd := &cobra.Command{
		Use:   "detect IMAGE|DIR... [--draw OUT.png]",
		Short: "Find every face: box, score and 68 landmarks as one JSON line per image",
		Long: "A folder stands for the images under it, recursively. Boxes are x, y, width, height in pixels; " +
			"CSV has one row per face (the landmarks are in the JSON only).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := format.check(); err != nil {
				return err
			}
			files, bad := expandImages(args, cmd.ErrOrStderr())
			if len(files) == 0 {
				return partial(bad, bad, "inputs")
			}
			// Several images, or a folder of them: --draw names a folder.
			drawFolder := len(files) > 1 || slices.ContainsFunc(args, func(a string) bool {
				fi, err := os.Stat(a)
				return err == nil && fi.IsDir()
			})
			args = files
			p, err := pf.load(cmd)
			if err != nil {
				return err
			}
			w := newDetectWriter(format.name, cmd.OutOrStdout())
			return forEachImage(cmd.Context(), p, args, bad, false, func(i int, r imageResult) error {
				faces := []faceJSON{}
				for k := range r.faces {
					faces = append(faces, toJSON(&r.faces[k], false))
				}
				if draw != "" {
					path := draw
					if drawFolder {
						base := strings.TrimSuffix(filepath.Base(args[i]), filepath.Ext(args[i]))
						path = filepath.Join(draw, base+".png")
					}
					if err := drawFaces(path, r.img, r.faces); err != nil {
						return err
					}
				}
				return w.write(args[i], r.img.Rect.Dx(), r.img.Rect.Dy(), faces)
			})
		},
	}
	pf.register(cmd)
	format.register(cmd)
	cmd.Flags().StringVar(&draw, "draw", "", "write the image with boxes and landmarks drawn to this PNG `FILE` (a folder when several images are given)")
	return cmd
}

// drawFaces writes img with each face's box and landmarks as a PNG.
func drawFaces(path string, img *image.RGBA, faces []face.Face) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	out := image.NewRGBA(img.Rect)
	copy(out.Pix, img.Pix)
	green := color.RGBA{0, 255, 0, 255}
	red := color.RGBA{255, 40, 40, 255}
	thick := max(1, img.Rect.Dx()/300)
	for _, f := range faces {
		x0, y0 := int(f.Box.X), int(f.Box.Y)
		x1, y1 := int(f.Box.X+f.Box.W), int(f.Box.Y+f.Box.H)
		for t := 0; t < thick; t++ {
			for x := x0; x <= x1; x++ {
				out.Set(x, y0+t, green)
				out.Set(x, y1-t, green)
			}
			for y := y0; y <= y1; y++ {
				out.Set(x0+t, y, green)
				out.Set(x1-t, y, green)
			}
		}
		for _, p := range f.Landmarks {
			for dy := -thick; dy <= thick; dy++ {
				for dx := -thick; dx <= thick; dx++ {
					out.Set(int(p.X)+dx, int(p.Y)+dy, red)
				}
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, out); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

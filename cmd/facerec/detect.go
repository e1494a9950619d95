package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
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
	j := faceJSON{Box: [4]float64{f.Box.X, f.Box.Y, f.Box.W, f.Box.H}, Score: f.Score}
	for _, p := range f.Landmarks {
		j.Landmarks = append(j.Landmarks, [2]float64{p.X, p.Y})
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
// others go on; the result is then errReported.
func forEachImage(ctx context.Context, p *face.Pipeline, files []string, describe bool, emit func(i int, r imageResult) error) error {
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
	var bar interface{ Add(int) error }
	if len(files) > 20 {
		bar = newBar(len(files), "images")
	}
	failed := false
	for i := range files {
		var r imageResult
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			fmt.Fprintln(os.Stderr, r.err) // photo errors name the file
			failed = true
		} else if err := emit(i, r); err != nil {
			return err
		}
		if bar != nil {
			bar.Add(1)
		}
	}
	if failed {
		return errReported
	}
	return nil
}

func detectCmd() *cobra.Command {
	var (
		pf   pipelineFlags
		draw string
	)
	cmd := &cobra.Command{
		Use:   "detect IMAGE... [--draw OUT.png]",
		Short: "Find every face: box, score and 68 landmarks as one JSON line per image",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := pf.load(cmd)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(os.Stdout)
			return forEachImage(cmd.Context(), p, args, false, func(i int, r imageResult) error {
				out := struct {
					File   string     `json:"file"`
					Width  int        `json:"width"`
					Height int        `json:"height"`
					Faces  []faceJSON `json:"faces"`
				}{File: args[i], Width: r.img.Rect.Dx(), Height: r.img.Rect.Dy(), Faces: []faceJSON{}}
				for k := range r.faces {
					out.Faces = append(out.Faces, toJSON(&r.faces[k], false))
				}
				if draw != "" {
					path := draw
					if len(args) > 1 { // several images: --draw names a folder
						base := strings.TrimSuffix(filepath.Base(args[i]), filepath.Ext(args[i]))
						path = filepath.Join(draw, base+".png")
					}
					if err := drawFaces(path, r.img, r.faces); err != nil {
						return err
					}
				}
				return enc.Encode(out)
			})
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&draw, "draw", "", "write the image with boxes and landmarks drawn (a folder when several images are given)")
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

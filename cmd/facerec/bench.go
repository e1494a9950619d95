package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
	"github.com/facerec/facerec/tensor/gemm"
	"github.com/spf13/cobra"
)

// benchReport is what `facerec bench` prints.
type benchReport struct {
	Kernel     string  `json:"gemm_kernel"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	Input      string  `json:"input"`
	Runs       int     `json:"runs"`
	P50        float64 `json:"descriptor_ms_p50"`
	P90        float64 `json:"descriptor_ms_p90"`
	Mean       float64 `json:"descriptor_ms_mean"`
	AllocsFace float64 `json:"allocs_per_face"`
	BytesFace  float64 `json:"bytes_per_face"`
	FacesSec   float64 `json:"faces_per_sec_all_cores"`
	// Pipeline times detect + landmarks + align + descriptor on a photo.
	Pipeline []pipelineTiming `json:"pipeline,omitempty"`
	// Reference holds face-api's timings (tfjs-wasm) from the same run.
	Reference []refTiming `json:"reference,omitempty"`
}

type pipelineTiming struct {
	Config string  `json:"config"`
	Photo  string  `json:"photo"`
	Faces  int     `json:"faces"`
	P50    float64 `json:"ms_p50"`
	P90    float64 `json:"ms_p90"`
}

type refTiming struct {
	Name   string  `json:"name"`
	Median float64 `json:"median_ms"`
	Ratio  float64 `json:"reference_over_facerec_p50"`
}

func benchCmd() *cobra.Command {
	var (
		runs   int
		input  string
		oracle string
		photoF string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Time dlib's descriptor (the one face-api runs): ms per face on one thread (p50, p90), faces per second on all cores; with --photo the pipelines",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// dlib's ResNet: the descriptor face-api runs, timed beside it.
			m, err := loadPretrained(cmd, face.DescriptorDlib)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			crop := syntheticCrop()
			r := benchReport{Kernel: gemm.Kernel(), GOMAXPROCS: runtime.GOMAXPROCS(0), Input: "synthetic 150x150", Runs: runs}
			if input != "" {
				if crop, err = readCrop(input); err != nil {
					return err
				}
				r.Input = input
			}
			for i := 0; i < 3; i++ { // warm up the arenas and caches
				if _, err := m.Describe(ctx, []*tensor.Tensor{crop}); err != nil {
					return err
				}
			}
			fmt.Fprintf(os.Stderr, "timing %d descriptors on one goroutine (kernel %s)...\n", runs, r.Kernel)
			ms := make([]float64, runs)
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			for i := range ms {
				t0 := time.Now()
				if _, err := m.Describe(ctx, []*tensor.Tensor{crop}); err != nil {
					return err
				}
				ms[i] = float64(time.Since(t0).Microseconds()) / 1000
			}
			runtime.ReadMemStats(&m1)
			r.AllocsFace = float64(m1.Mallocs-m0.Mallocs) / float64(runs)
			r.BytesFace = float64(m1.TotalAlloc-m0.TotalAlloc) / float64(runs)
			slices.Sort(ms)
			r.P50, r.P90 = ms[runs/2], ms[runs*9/10]
			for _, v := range ms {
				r.Mean += v / float64(runs)
			}

			batch := make([]*tensor.Tensor, 4*runs)
			for i := range batch {
				batch[i] = crop
			}
			fmt.Fprintf(os.Stderr, "timing %d descriptors on %d goroutines...\n", len(batch), r.GOMAXPROCS)
			t0 := time.Now()
			if _, err := m.Describe(ctx, batch); err != nil {
				return err
			}
			r.FacesSec = float64(len(batch)) / time.Since(t0).Seconds()

			if photoF != "" {
				if err := benchPipelines(cmd, photoF, runs, &r); err != nil {
					return err
				}
			}
			if oracle != "" {
				if err := runOracleBench(oracle, runs, &r); err != nil {
					return err
				}
			}
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(r)
		},
	}
	cmd.Flags().IntVar(&runs, "runs", 50, "timed descriptors")
	cmd.Flags().StringVar(&input, "crop", "", "time the descriptor on this face crop `FILE` (default: a synthetic 150x150 pattern)")
	cmd.Flags().StringVar(&photoF, "photo", "", "also time the whole pipeline (tiny detector, landmarks, alignment, descriptor) on this `PHOTO`")
	cmd.Flags().StringVar(&oracle, "oracle", "", "also time face-api on tfjs-wasm, in the same run, from `DIR`: a writable copy of shared/oracle after npm ci")
	return cmd
}

// syntheticCrop is the oracle's test pattern (7x + 13y + 31c) mod 256.
func syntheticCrop() *tensor.Tensor {
	t := tensor.New(150, 150, 3)
	for y := 0; y < 150; y++ {
		for x := 0; x < 150; x++ {
			for c := 0; c < 3; c++ {
				t.Data[(y*150+x)*3+c] = float32((x*7 + y*13 + c*31) % 256)
			}
		}
	}
	return t
}

// benchPipelines times the default pipeline and face-api's own chain
// (tiny detector at 416, one landmark pass, face-api's crop) on one photo.
func benchPipelines(cmd *cobra.Command, path string, runs int, r *benchReport) error {
	img, _, err := photo.DecodeFile(path, photo.Options{})
	if err != nil {
		return err
	}
	dir, err := modelDir(cmd)
	if err != nil {
		return err
	}
	measure := func(name string, run func() (int, error)) error {
		var faces int
		for i := 0; i < 3; i++ {
			if faces, err = run(); err != nil {
				return err
			}
		}
		fmt.Fprintf(os.Stderr, "timing %d pipeline runs: %s...\n", runs, name)
		ms := make([]float64, runs)
		for i := range ms {
			t0 := time.Now()
			if _, err := run(); err != nil {
				return err
			}
			ms[i] = float64(time.Since(t0).Microseconds()) / 1000
		}
		slices.Sort(ms)
		r.Pipeline = append(r.Pipeline, pipelineTiming{name, path, faces, ms[runs/2], ms[runs*9/10]})
		return nil
	}
	load := func(o face.Options) (*face.Pipeline, error) { return face.Load(cmd.Context(), dir, o, os.Stderr) }
	faces := func(p *face.Pipeline) func() (int, error) {
		return func() (int, error) {
			fs, err := p.Faces(cmd.Context(), img)
			return len(fs), err
		}
	}
	for _, c := range []struct {
		name string
		opt  face.Options
	}{
		{"default: mobilefacenet (tiny at the photo's size, 256 to 416, + 160, 2 landmark passes, arcface alignment)", face.Options{}},
		{"face-api chain (tiny 416, 1 landmark pass, face-api crop, dlib descriptor)", face.Options{Descriptor: face.DescriptorDlib, Align: face.AlignFaceAPI, CoarseInputSize: -1, Upscale: true, MaxShapeError: -1}},
		{"dlib (tiny at the photo's size, 256 to 416, + 160, 2 landmark passes, dlib alignment)", face.Options{Descriptor: face.DescriptorDlib}},
		{"default with the photo upscaled to 416 (--upscale)", face.Options{Upscale: true}},
	} {
		p, err := load(c.opt)
		if err != nil {
			return err
		}
		if err := measure(c.name, faces(p)); err != nil {
			return err
		}
	}
	// Both descriptors of every face, found once: what fusion costs.
	p, err := load(face.Options{})
	if err != nil {
		return err
	}
	q, err := load(face.Options{Descriptor: face.DescriptorDlib})
	if err != nil {
		return err
	}
	return measure("fusion (default + dlib descriptor of each face)", func() (int, error) {
		fs, err := p.Faces(cmd.Context(), img)
		for _, f := range fs {
			if err == nil {
				_, err = q.Describe(cmd.Context(), img, f)
			}
		}
		return len(fs), err
	})
}

// runOracleBench times face-api's descriptor and tiny pipeline with the
// oracle's bench.js, in the same run.
func runOracleBench(dir string, runs int, r *benchReport) error {
	fmt.Fprintln(os.Stderr, "timing the reference (face-api on tfjs-wasm) with bench.js...")
	var out, errb bytes.Buffer
	c := exec.Command("node", filepath.Join(dir, "bench.js"), "--backend", "wasm", "--only", "desc,pipe", "--runs", fmt.Sprint(runs))
	c.Dir, c.Stdout, c.Stderr = dir, &out, &errb
	if err := c.Run(); err != nil {
		return fmt.Errorf("oracle bench: %w: %s", err, errb.String())
	}
	var res struct {
		Results []struct {
			Name   string  `json:"name"`
			Median float64 `json:"median"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res.Results) == 0 {
		return fmt.Errorf("oracle bench: unexpected output %q", out.String())
	}
	for _, x := range res.Results {
		t := refTiming{Name: x.Name, Median: x.Median}
		switch {
		case strings.HasPrefix(x.Name, "descriptor"):
			t.Ratio = x.Median / r.P50
		case strings.Contains(x.Name, "tiny416") && len(r.Pipeline) > 1:
			t.Ratio = x.Median / r.Pipeline[1].P50
		}
		r.Reference = append(r.Reference, t)
	}
	return nil
}

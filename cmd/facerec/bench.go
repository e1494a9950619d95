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
	"time"

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
	Reference  *struct {
		Name   string  `json:"name"`
		Median float64 `json:"median_ms"`
		Speed  float64 `json:"speedup_p50"`
	} `json:"reference,omitempty"`
}

func benchCmd() *cobra.Command {
	var (
		runs   int
		input  string
		oracle string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Time the face descriptor: ms per face on one thread (p50, p90) and faces per second on all cores",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			emb, err := loadEmbedder(cmd)
			if err != nil {
				return err
			}
			crop := syntheticCrop()
			r := benchReport{Kernel: gemm.Kernel(), GOMAXPROCS: runtime.GOMAXPROCS(0), Input: "synthetic 150x150", Runs: runs}
			if input != "" {
				if crop, err = readCrop(input); err != nil {
					return err
				}
				r.Input = input
			}
			for i := 0; i < 3; i++ { // warm up the arenas and caches
				if _, err := emb.EmbedCrop(crop); err != nil {
					return err
				}
			}
			fmt.Fprintf(os.Stderr, "timing %d descriptors on one goroutine (kernel %s)...\n", runs, r.Kernel)
			ms := make([]float64, runs)
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			for i := range ms {
				t0 := time.Now()
				if _, err := emb.EmbedCrop(crop); err != nil {
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
			emb.EmbedCrops(batch)
			r.FacesSec = float64(len(batch)) / time.Since(t0).Seconds()

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
	cmd.Flags().StringVar(&input, "crop", "", "face crop to time (default: a synthetic 150x150 pattern)")
	cmd.Flags().StringVar(&oracle, "oracle", "", "a writable copy of shared/oracle with `npm ci` done: also time face-api on tfjs-wasm, in the same run")
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

// runOracleBench times face-api's descriptor with the oracle's bench.js.
func runOracleBench(dir string, runs int, r *benchReport) error {
	fmt.Fprintln(os.Stderr, "timing the reference (face-api on tfjs-wasm) with bench.js...")
	var out, errb bytes.Buffer
	c := exec.Command("node", filepath.Join(dir, "bench.js"), "--backend", "wasm", "--only", "desc", "--runs", fmt.Sprint(runs))
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
	r.Reference = &struct {
		Name   string  `json:"name"`
		Median float64 `json:"median_ms"`
		Speed  float64 `json:"speedup_p50"`
	}{res.Results[0].Name, res.Results[0].Median, res.Results[0].Median / r.P50}
	return nil
}

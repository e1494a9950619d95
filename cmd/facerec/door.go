package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/eval"
	"github.com/facerec/facerec/face"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// doorModel is one scored configuration of a door evaluation.
type doorModel struct {
	name, id    string           // id: what its calibration calibrates
	dev, test   *eval.DoorScores // enrolled with jitter
	devP, testP *eval.DoorScores // enrolled without
	cal         *face.Calibration
	mean, std   float64
}

func evalDoorCmd() *cobra.Command {
	var (
		pf          pipelineFlags
		lfw, root   string
		descriptors string
		out, cache  string
		farFlag     string
		calFile     string
		pairsFiles  []string
		strangers   float64
		seed        uint64
		quality     bool
		qualityT    string
	)
	cmd := &cobra.Command{
		Use:   "door (--lfw DIR | --root DIR)",
		Short: "Open-set identification at a door: enrol one photo per person, probe with their other photos and with strangers'; right- and wrong-person rates at 1% and 0.1% strangers let in, calibrated thresholds, fusion",
		Long: `door measures what a door does: one photo of each enrolled person is enrolled (with the enrolment
jitter, as enroll does), their other photos are genuine attempts, and photos of people never enrolled are
strangers' attempts. Each descriptor model is scored alone and fused.

With --lfw (a folder holding deepfunneled/ and View 1's people files) the development set is
peopleDevTrain's identities and the report set peopleDevTest's: people with two or more photos are
enrolled, people with one photo are strangers. Everything chosen (calibration, fusion weights, margin)
is fitted on the development set only; the report set is measured with it.

With --root (a folder of <person>/<photos>, e.g. AT&T) a share of the people are strangers and the
default decision is the one facerec ships (the calibration an --lfw run made, face/calibration). With
--out it also writes site-calibration-<model>.json, the impostor distances of these photos: a door whose
photos are not like LFW's (other cameras, light, people) passes it as --calibration to serve, identify and
verify, so that --far holds for its own population.

Descriptors are cached in --cache (keyed by the models and options, and by each file's size and time).

With --quality the photo-quality gate is measured too (docs/analysis.md): each enrolled person re-enrolled from
their first photo the gate accepts, against their first photo with a face, on the same attempts; then the
probes the gate would answer "try again". The quality measures are cached with the descriptors, so
--quality-thresholds can be varied without describing the photos again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (lfw == "") == (root == "") {
				return errors.New("give one of --lfw and --root")
			}
			far, err := face.ParseFAR(farFlag)
			if err != nil {
				return fmt.Errorf("--far: %w", err)
			}
			names := strings.Split(descriptors, ",")
			dir, err := modelDir(cmd)
			if err != nil {
				return err
			}
			var probe, enrol []*face.Pipeline
			for _, n := range names {
				o := pf.opt
				o.Descriptor, o.Align = n, ""
				if strings.HasSuffix(n, ".safetensors") {
					// A trained network (facerec train): it brings
					// its own crop.
					o.Descriptor, o.Model = "", n
				}
				p, err := face.Load(cmd.Context(), dir, o, os.Stderr)
				if err != nil {
					return err
				}
				e, err := p.ForEnrolment(pf.enrollJitter)
				if err != nil {
					return err
				}
				probe, enrol = append(probe, p), append(enrol, e)
			}
			var qt analysis.QualityThresholds
			var qa *analysis.Analyzer
			if quality {
				if qt, err = analysis.ParseQualityThresholds(qualityT); err != nil {
					return fmt.Errorf("--quality-thresholds: %w", err)
				}
				// The measures are cached, not the reasons: the
				// thresholds apply afterwards, so trying others costs
				// no describing.
				if qa, err = analysis.Load(cmd.Context(), dir, analysis.Options{}, os.Stderr); err != nil {
					return err
				}
			}
			described := map[string]*describedSplit{}
			var dev, test eval.DoorSplit
			if lfw != "" {
				if dev, err = lfwSplit(lfw, "peopleDevTrain.txt"); err != nil {
					return err
				}
				if test, err = lfwSplit(lfw, "peopleDevTest.txt"); err != nil {
					return err
				}
			} else {
				if test, err = eval.FolderDoorSplit(root, strangers, seed); err != nil {
					return err
				}
			}
			describe := func(d eval.SubjectDescriber, files []string, what string) (*eval.Described, error) {
				c, err := eval.OpenDescriptorCache(cache, d.Key())
				if err != nil {
					return nil, err
				}
				var bar *progressbar.ProgressBar
				return eval.DescribeAll(cmd.Context(), files, d, c, func(done, total int) {
					if bar == nil {
						bar = newBar(total, what)
					}
					bar.Set(done)
				})
			}
			scores := func(name string, split eval.DoorSplit) (jit, plain []*eval.DoorScores, err error) {
				if len(split.Enrol) == 0 {
					return nil, nil, nil
				}
				var files []string
				for _, p := range split.Probes() {
					files = append(files, p.Path)
				}
				var enrolFiles []string
				for _, p := range split.Enrol {
					enrolFiles = append(enrolFiles, p.Path)
				}
				pd := eval.SubjectDescriber{Pipelines: probe}
				if qa != nil {
					pd.Quality = qa.Quality
				}
				all := append(enrolFiles, files...)
				pvd, err := describe(pd, all, "describing")
				if err != nil {
					return nil, nil, err
				}
				described[name] = &describedSplit{split: split, files: all, d: pvd}
				evd, err := describe(eval.SubjectDescriber{Pipelines: enrol}, enrolFiles, "enrolling")
				if err != nil {
					return nil, nil, err
				}
				pv, ev := pvd.Vectors, evd.Vectors
				n := len(enrolFiles)
				add := func(m int, metric face.Metric) error {
					s, err := eval.NewDoorScores(split, ev[m], pv[m][n:], metric)
					if err != nil {
						return err
					}
					sp, err := eval.NewDoorScores(split, pv[m][:n], pv[m][n:], metric)
					if err != nil {
						return err
					}
					jit, plain = append(jit, s), append(plain, sp)
					return nil
				}
				for m, p := range probe {
					if err := add(m, p.Model().Metric()); err != nil {
						return nil, nil, err
					}
				}
				// A Euclidean model scored by cosine too: which metric
				// serves a door better is an open-set question.
				for m, p := range probe {
					if p.Model().Metric() == face.Euclidean {
						if err := add(m, face.Cosine); err != nil {
							return nil, nil, err
						}
					}
				}
				return jit, plain, nil
			}
			devJ, devP, err := scores("dev", dev)
			if err != nil {
				return err
			}
			testJ, testP, err := scores("test", test)
			if err != nil {
				return err
			}
			var models []*doorModel
			for m, n := range names {
				models = append(models, &doorModel{name: n, id: probe[m].Model().ID()})
			}
			for m, n := range names {
				if probe[m].Model().Metric() == face.Euclidean {
					models = append(models, &doorModel{name: n + " cosine", id: probe[m].Model().ID() + " cosine"})
				}
			}
			for m, dm := range models {
				dm.test, dm.testP = testJ[m], testP[m]
				if devJ != nil {
					dm.dev, dm.devP = devJ[m], devP[m]
				}
			}
			rep := &doorReport{Far: far, site: root}
			if calFile != "" {
				if lfw != "" {
					return errors.New("--calibration is for --root: with --lfw the calibration is fitted on peopleDevTrain")
				}
				if rep.calibration, err = readCalibration(calFile); err != nil {
					return err
				}
			}
			if err := rep.run(cmd, models, probe, out); err != nil {
				return err
			}
			if quality {
				if rep.Quality, err = qualityGates(described, models[:len(probe)], probe, qt, far, out); err != nil {
					return err
				}
			}
			for _, pf := range pairsFiles {
				if lfw == "" {
					break
				}
				all := eval.SubjectDescriber{Pipelines: probe}
				if qa != nil {
					all.Quality = qa.Quality // the same cache as the door's
				}
				if err := rep.pairs(filepath.Join(lfw, pf), filepath.Join(lfw, "deepfunneled"), names, probe, func(files []string) ([][][]float32, error) {
					d, err := describe(all, files, "describing")
					if err != nil {
						return nil, err
					}
					return d.Vectors, nil
				}); err != nil {
					return err
				}
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		},
	}
	pf.register(cmd)
	pf.registerEnroll(cmd)
	for _, f := range []string{"descriptor", "align", "model"} {
		cmd.Flags().Lookup(f).Hidden = true // --descriptors chooses them
	}
	fl := cmd.Flags()
	fl.StringVar(&lfw, "lfw", "", "LFW folder holding deepfunneled/, peopleDevTrain.txt and peopleDevTest.txt (`DIR`)")
	fl.StringVar(&root, "root", "", "folder of <person>/<photos> (e.g. AT&T's s1..s40) (`DIR`)")
	fl.StringVar(&descriptors, "descriptors", "dlib,mobilefacenet", "descriptor models to score, a comma-separated `LIST` of dlib, mobilefacenet or a network of facerec train (a .safetensors path), each alone, and fused when two")
	fl.StringVar(&out, "out", "", "folder for summary.json, det.png, probes.csv and the calibration-*.json files (`PATH`)")
	fl.StringSliceVar(&pairsFiles, "pairs", []string{"pairsDevTest.txt", "pairs.txt"}, "with --lfw: also score these pairs `FILES` (in the --lfw folder) with each model and the fusion, 10-fold")
	fl.StringVar(&cache, "cache", "", "folder to keep computed descriptors in between runs (empty: none) (`DIR`)")
	fl.StringVar(&calFile, "calibration", "", "with --root: decide the default with this `FILE` (a site-calibration-*.json of other photos) instead of the shipped LFW calibration")
	fl.StringVar(&farFlag, "far", face.DefaultPreset, "target share (`RATE`) of strangers' attempts let in, for the calibrated default decision: strict (0.1%), balanced (1%), lenient (5%) or a number")
	fl.Float64Var(&strangers, "strangers", 0.5, "with --root: share of the people never enrolled")
	fl.Uint64Var(&seed, "seed", 1, "with --root: picks the strangers")
	fl.BoolVar(&quality, "quality", false, "also measure the photo-quality gate: enrolment refusing poor photos (the person's next acceptable photo enrolled instead) and probes answered try again; the quality measures are cached with the descriptors")
	fl.StringVar(&qualityT, "quality-thresholds", "", "with --quality: the gate's thresholds, a `LIST` name=value,... as enroll's --quality-thresholds (empty: analysis.DefaultQuality)")
	return cmd
}

func lfwSplit(dir, peopleFile string) (eval.DoorSplit, error) {
	f, err := os.Open(filepath.Join(dir, peopleFile))
	if err != nil {
		return eval.DoorSplit{}, err
	}
	defer f.Close()
	people, err := eval.ParsePeople(f)
	if err != nil {
		return eval.DoorSplit{}, fmt.Errorf("%s: %w", peopleFile, err)
	}
	return eval.LFWDoorSplit(filepath.Join(dir, "deepfunneled"), people), nil
}

// doorReport is what eval door prints.
type doorReport struct {
	Far     float64            `json:"target_far"`
	Fusion  *face.Fusion       `json:"fusion,omitempty"`
	Pairs   []doorPairs        `json:"pairs,omitempty"`
	Margins map[string]float64 `json:"margins"`
	Results []eval.DoorResult  `json:"results"`
	Scaling []doorScaling      `json:"gallery_size_scaling,omitempty"`
	Quality *doorQuality       `json:"quality_gate,omitempty"`
	// site is --root: its photos are also measured for a calibration of
	// the site's own (site-calibration-*.json, for --calibration).
	site string
	// calibration replaces the shipped one of its model (--calibration).
	calibration *face.Calibration
}

// doorScaling is the calibrated decision's stranger rate at a gallery
// size: does the target hold as the gallery grows?
type doorScaling struct {
	Config    string  `json:"config"`
	Enrolled  int     `json:"enrolled"`
	Threshold float64 `json:"threshold"`
	FAR       float64 `json:"stranger_accepted"`
	Right     float64 `json:"right_person"`
}

func (r *doorReport) run(cmd *cobra.Command, models []*doorModel, pipes []*face.Pipeline, out string) error {
	r.Margins = map[string]float64{}
	configs := slices.Clone(models) // and the fusion, when there is one
	for _, dm := range models {
		if dm.dev != nil {
			var err error
			imp := dm.dev.Impostor()
			dm.mean, dm.std = eval.ZStats(imp)
			if dm.cal, err = face.FitCalibration(dm.id, "LFW peopleDevTrain open set", imp); err != nil {
				return err
			}
		} else if r.calibration != nil && r.calibration.Score == dm.id {
			dm.cal = r.calibration
		} else {
			dm.cal = face.CalibrationOf(dm.id) // the one facerec ships
		}
	}
	if len(pipes) == 2 && models[0].dev != nil {
		// Fusion weights: the best right-person rate at 1% strangers on
		// the development set, over a grid.
		fusion := func(w float64) face.Fusion {
			return face.Fusion{
				Models:  []string{pipes[0].Model().ID(), pipes[1].Model().ID()},
				Mean:    []float64{models[0].mean, models[1].mean},
				Std:     []float64{models[0].std, models[1].std},
				Weights: []float64{w, 1 - w},
			}
		}
		bestW, best := 0.5, -1.0
		for w := 0.1; w < 0.95; w += 0.1 {
			s, err := eval.FuseDoorScores(fusion(w), models[0].dev, models[1].dev)
			if err != nil {
				return err
			}
			if v := s.AtFAR(0.01, 0).Right; v > best {
				bestW, best = w, v
			}
		}
		f := fusion(math.Round(bestW*10) / 10)
		r.Fusion = &f
		fmt.Fprintf(os.Stderr, "fusion weights chosen on the development set: %v\n", f.Weights)
		if out != "" {
			if err := writeJSONFile(filepath.Join(out, "fusion.json"), f); err != nil {
				return err
			}
		}
		fuse := func(a, b *eval.DoorScores) *eval.DoorScores {
			s, err := eval.FuseDoorScores(f, a, b)
			if err != nil {
				panic(err) // same protocol by construction
			}
			return s
		}
		c := &doorModel{name: "fusion", dev: fuse(models[0].dev, models[1].dev), test: fuse(models[0].test, models[1].test),
			devP: fuse(models[0].devP, models[1].devP), testP: fuse(models[0].testP, models[1].testP)}
		var err error
		if c.cal, err = face.FitCalibration(f.ID(), "LFW peopleDevTrain open set", c.dev.Impostor()); err != nil {
			return err
		}
		configs = append(configs, c)
	}
	var curves = map[string][]eval.DoorRates{}
	for _, c := range configs {
		margin := 0.0
		switch {
		case c.dev != nil:
			margin = chooseMargin(c.dev)
			r.Margins[c.name] = margin
			if c.cal != nil {
				c.cal.Margin = margin
			}
		case c.cal != nil:
			margin = c.cal.Margin
		}
		var def *eval.DoorRule
		if c.cal != nil {
			tau, err := c.cal.Threshold(r.Far, len(c.test.Enrolled))
			if err != nil {
				return err
			}
			def = &eval.DoorRule{Threshold: tau}
		}
		r.Results = append(r.Results, c.test.Summarise(c.name, 0, def))
		if margin > 0 {
			var dm *eval.DoorRule
			if def != nil {
				dm = &eval.DoorRule{Threshold: def.Threshold, Margin: margin}
			}
			r.Results = append(r.Results, c.test.Summarise(c.name+" +margin", margin, dm))
		}
		r.Results = append(r.Results, c.testP.Summarise(c.name+" (no enrolment jitter)", 0, def))
		if c.dev != nil {
			r.Results = append(r.Results, c.dev.Summarise(c.name+" [dev]", 0, nil))
		}
		curves[c.name] = c.test.Curve(0)
		if c.cal != nil {
			r.Scaling = append(r.Scaling, scaling(c.name, c.test, c.cal, r.Far)...)
		}
		if out != "" && c.dev != nil {
			if err := writeJSONFile(filepath.Join(out, "calibration-"+c.name+".json"), c.cal); err != nil {
				return err
			}
		}
		if out != "" && r.site != "" && c.id != "" && !strings.HasSuffix(c.id, " cosine") {
			// The site's own impostor distances: every enrolled person
			// against every other person's photos, as enrolled here.
			site, err := face.FitCalibration(c.id, "facerec eval door --root "+r.site, c.test.Impostor())
			if err != nil {
				return err
			}
			site.Margin = chooseMargin(c.test)
			path := filepath.Join(out, "site-calibration-"+c.name+".json")
			if err := writeJSONFile(path, site); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "wrote %s (%d impostor distances): pass it as --calibration to serve, identify and verify\n", path, site.Pairs)
		}
	}
	fmt.Fprintln(os.Stderr, doorTable(r.Results))
	if out == "" {
		return nil
	}
	if err := writeJSONFile(filepath.Join(out, "summary.json"), r); err != nil {
		return err
	}
	if err := eval.PlotDoor(filepath.Join(out, "det.png"), curves); err != nil {
		return err
	}
	return writeProbesCSV(filepath.Join(out, "probes.csv"), configs[len(configs)-1].name, configs[len(configs)-1].test, r.Results)
}

// chooseMargin picks on the development set the runner-up margin that
// most lowers the wrong-person rate at 1% strangers while costing at most
// half a point of right-person rate; 0 when none does.
func chooseMargin(dev *eval.DoorScores) float64 {
	base := dev.AtFAR(0.01, 0)
	imp := dev.Impostor()
	_, std := eval.ZStats(imp)
	best, bestWrong := 0.0, base.Wrong
	for _, k := range []float64{0.05, 0.1, 0.2, 0.3, 0.5} {
		r := dev.AtFAR(0.01, k*std)
		if r.Right >= base.Right-0.005 && r.Wrong < bestWrong {
			best, bestWrong = k*std, r.Wrong
		}
	}
	return best
}

// scaling measures the calibrated threshold's stranger rate on random
// galleries of growing size.
func scaling(name string, s *eval.DoorScores, cal *face.Calibration, far float64) []doorScaling {
	var out []doorScaling
	rng := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{10, 30, 100, 300, len(s.Enrolled)} {
		if n > len(s.Enrolled) {
			continue
		}
		var fars, rights []float64
		reps := 1
		if n < len(s.Enrolled) {
			reps = 5
		}
		tau, _ := cal.Threshold(far, n)
		for range reps {
			cols := rng.Perm(len(s.Enrolled))[:n]
			slices.Sort(cols)
			rt := s.Subset(cols).Rates(eval.DoorRule{Threshold: tau})
			fars, rights = append(fars, rt.FAR), append(rights, rt.Right)
		}
		out = append(out, doorScaling{Config: name, Enrolled: n, Threshold: tau, FAR: mean(fars), Right: mean(rights)})
	}
	return out
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func doorTable(rs []eval.DoorResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-36s %8s %7s | %-20s | %-20s | %-28s\n", "config", "enrolled", "rank-1", "at 1% strangers", "at 0.1% strangers", "default (calibrated)")
	fmt.Fprintf(&b, "%-36s %8s %7s | %9s %10s | %9s %10s | %9s %8s %9s\n", "", "", "", "right", "wrong", "right", "wrong", "right", "wrong", "strangers")
	pct := func(v float64) string { return strconv.FormatFloat(100*v, 'f', 2, 64) + "%" }
	for _, r := range rs {
		d := "-"
		if r.Default != nil {
			d = fmt.Sprintf("%9s %8s %9s", pct(r.Default.Right), pct(r.Default.Wrong), pct(r.Default.FAR))
		}
		fmt.Fprintf(&b, "%-36s %8d %7s | %9s %10s | %9s %10s | %s\n", r.Config, r.Enrolled, pct(r.Rank1),
			pct(r.AtFAR1.Right), pct(r.AtFAR1.Wrong), pct(r.AtFAR01.Right), pct(r.AtFAR01.Wrong), d)
	}
	return b.String()
}

func writeJSONFile(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(raw, '\n'), 0o644)
}

// writeProbesCSV writes every probe of a configuration with its outcome
// under the default rule of that configuration's result.
func writeProbesCSV(path, config string, s *eval.DoorScores, rs []eval.DoorResult) error {
	rule := eval.DoorRule{Threshold: math.Inf(-1)}
	for _, r := range rs {
		if r.Config == config && r.Default != nil {
			rule = r.Default.DoorRule
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"photo", "person", "enrolled", "face_found", "nearest", "score", "runner_up_score", "accepted", "correct", "config", "threshold"})
	num := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'f', 4, 64)
	}
	for i, o := range s.Outcomes(rule) {
		p := s.Probes[i]
		w.Write([]string{p.Photo.Path, p.Photo.Person, strconv.FormatBool(p.Known), strconv.FormatBool(p.Found),
			o.BestPerson, num(o.Best), num(o.Second), strconv.FormatBool(o.Accepted), strconv.FormatBool(o.Correct), config, num(rule.Threshold)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// doorPairs is a pairs file's 10-fold accuracy for one configuration.
type doorPairs struct {
	File     string  `json:"file"`
	Config   string  `json:"config"`
	Accuracy float64 `json:"mean_accuracy"`
	Std      float64 `json:"std_accuracy"`
	Wrong    int     `json:"wrong"`
	Pairs    int     `json:"pairs"`
	NoFace   int     `json:"no_face"`
}

// pairs scores a pairs file with each model's distance and with the
// fusion, from the same plain descriptors the door used.
func (r *doorReport) pairs(path, root string, names []string, pipes []*face.Pipeline, describe func([]string) ([][][]float32, error)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	pf, err := eval.ParsePairs(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	index := map[string]int{}
	var files []string
	for _, p := range pf.Pairs {
		for _, rel := range []string{p.PathA(), p.PathB()} {
			if _, ok := index[rel]; !ok {
				index[rel] = len(files)
				files = append(files, filepath.Join(root, rel))
			}
		}
	}
	vs, err := describe(files)
	if err != nil {
		return err
	}
	fold := pf.FoldIndex()
	if pf.Folds == 1 {
		for i := range fold {
			fold[i] = i % 10 // as eval lfw splits View 1
		}
	}
	score := func(config string, dist func(a, b int) float64) error {
		ds := make([]float64, len(pf.Pairs))
		for i, p := range pf.Pairs {
			ds[i] = dist(index[p.PathA()], index[p.PathB()])
		}
		sum, err := eval.Summarize(ds, pf.Same(), fold)
		if err != nil {
			return err
		}
		wrong := int(math.Round((1 - sum.MeanAccuracy) * float64(sum.Pairs)))
		r.Pairs = append(r.Pairs, doorPairs{File: filepath.Base(path), Config: config, Accuracy: sum.MeanAccuracy, Std: sum.StdAccuracy, Wrong: wrong, Pairs: sum.Pairs, NoFace: sum.NoFace})
		fmt.Fprintf(os.Stderr, "%s, %s: %.2f%% ± %.2f%% (%d pairs, about %d wrong)\n", filepath.Base(path), config, 100*sum.MeanAccuracy, 100*sum.StdAccuracy, sum.Pairs, wrong)
		return nil
	}
	modelDist := func(m int, a, b int) float64 {
		va, vb := vs[m][a], vs[m][b]
		if va == nil || vb == nil {
			return math.NaN()
		}
		return pipes[m].Model().Metric().Distance(va, vb)
	}
	for m := range pipes {
		if err := score(names[m], func(a, b int) float64 { return modelDist(m, a, b) }); err != nil {
			return err
		}
	}
	if r.Fusion != nil {
		return score("fusion", func(a, b int) float64 {
			ds := make([]float64, len(pipes))
			for m := range pipes {
				ds[m] = modelDist(m, a, b)
			}
			return r.Fusion.Score(ds)
		})
	}
	return nil
}

package main

import (
	"encoding/csv"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/eval"
	"github.com/facerec/facerec/face"
)

// describedSplit is one split of eval door with what the probe pipeline
// found in each of its photos (enrolment photos first).
type describedSplit struct {
	split eval.DoorSplit
	files []string
	d     *eval.Described
}

// doorQuality is eval door --quality's report: what the photo-quality
// gate does to the door.
type doorQuality struct {
	Thresholds analysis.QualityThresholds `json:"thresholds"`
	Gates      []doorGate                 `json:"gates"`
}

// doorGate is the gate on one split for one model. Baseline and Gated
// enrol the same people (Baseline from their first photo with a face,
// Gated from their first acceptable one) and are measured on the same
// attempts: every photo neither enrols.
type doorGate struct {
	Split string `json:"split"`
	Model string `json:"model"`
	// Photos and PoorPhotos count the photos with a face and those the
	// gate calls poor, Reasons how often each reason applied to them.
	Photos     int            `json:"photos"`
	PoorPhotos int            `json:"poor_photos"`
	Reasons    map[string]int `json:"reasons"`
	// EnrolRefused, Replaced and NoneAccepted are eval.EnrolGate's.
	EnrolRefused int `json:"enrolment_photos_refused"`
	Replaced     int `json:"people_enrolled_from_a_later_photo"`
	NoneAccepted int `json:"people_without_an_acceptable_photo"`
	// TryAgain counts the attempts (of the gated protocol) a door with
	// the gate answers "try again": genuine and strangers'.
	TryAgainGenuine   int               `json:"try_again_genuine"`
	TryAgainStrangers int               `json:"try_again_strangers"`
	Results           []eval.DoorResult `json:"results"`
	// PerReason is the enrolment gate with one reason alone.
	PerReason []doorGateReason `json:"per_reason"`
}

type doorGateReason struct {
	Reason       string  `json:"reason"`
	EnrolRefused int     `json:"enrolment_photos_refused"`
	Replaced     int     `json:"people_enrolled_from_a_later_photo"`
	Right1       float64 `json:"right_at_1pct"`
	Right01      float64 `json:"right_at_0.1pct"`
	RightDefault float64 `json:"right_at_default"`
	FARDefault   float64 `json:"strangers_at_default"`
	Base1        float64 `json:"baseline_right_at_1pct"`
	Base01       float64 `json:"baseline_right_at_0.1pct"`
	BaseDefault  float64 `json:"baseline_right_at_default"`
}

// qualityGates measures the gate t on every described split for each
// model (models[m] is probe[m]'s), with the default rule of the model's
// calibration at far; with out, it writes quality.csv (every photo's
// measures) there.
func qualityGates(described map[string]*describedSplit, models []*doorModel, probe []*face.Pipeline, t analysis.QualityThresholds, far float64, out string) (*doorQuality, error) {
	rep := &doorQuality{Thresholds: t}
	for _, name := range []string{"dev", "test"} {
		ds := described[name]
		if ds == nil {
			continue
		}
		index := map[string]int{}
		for i, f := range ds.files {
			index[f] = i
		}
		quality := func(p eval.DoorPhoto) *analysis.Quality { return ds.d.Quality[index[p.Path]] }
		for m, pipe := range probe {
			dm := models[m]
			vec := func(p eval.DoorPhoto) []float32 { return ds.d.Vectors[m][index[p.Path]] }
			hasFace := func(p eval.DoorPhoto) bool { return vec(p) != nil }
			good := func(t analysis.QualityThresholds) func(eval.DoorPhoto) bool {
				return func(p eval.DoorPhoto) bool {
					q := quality(p)
					return vec(p) != nil && q != nil && len(t.Reasons(*q)) == 0
				}
			}
			scoresOf := func(s eval.DoorSplit) (*eval.DoorScores, error) {
				var enrol, probes [][]float32
				for _, p := range s.Enrol {
					enrol = append(enrol, vec(p))
				}
				for _, p := range s.Probes() {
					probes = append(probes, vec(p))
				}
				return eval.NewDoorScores(s, enrol, probes, pipe.Model().Metric())
			}
			def := func(n int) (*eval.DoorRule, error) {
				if dm.cal == nil {
					return nil, nil
				}
				tau, err := dm.cal.Threshold(far, n)
				if err != nil {
					return nil, err
				}
				return &eval.DoorRule{Threshold: tau}, nil
			}
			// compare measures the enrolment gate ok against the
			// baseline on their common attempts.
			compare := func(ok func(eval.DoorPhoto) bool) (eval.EnrolGate, *eval.DoorScores, *eval.DoorScores, error) {
				base := ds.split.GateEnrolment(hasFace)
				gated := ds.split.GateEnrolment(ok)
				b, g := eval.CommonProbes(base.Split, gated.Split)
				bs, err := scoresOf(b)
				if err != nil {
					return gated, nil, nil, err
				}
				gs, err := scoresOf(g)
				return gated, bs, gs, err
			}
			// The baseline's own no-face refusals are not the gate's.
			noFace := ds.split.GateEnrolment(hasFace).Refused
			gate := doorGate{Split: name, Model: dm.name, Reasons: map[string]int{}}
			for _, p := range append(slices.Clip(ds.split.Enrol), ds.split.Probes()...) {
				if q := quality(p); q != nil && vec(p) != nil {
					gate.Photos++
					rs := t.Reasons(*q)
					if len(rs) > 0 {
						gate.PoorPhotos++
					}
					for _, r := range rs {
						gate.Reasons[r]++
					}
				}
			}
			ok := good(t)
			eg, bs, gs, err := compare(ok)
			if err != nil {
				return nil, err
			}
			gate.EnrolRefused, gate.Replaced, gate.NoneAccepted = eg.Refused-noFace, eg.Replaced, eg.NoneAccepted
			d, err := def(len(bs.Enrolled))
			if err != nil {
				return nil, err
			}
			label := fmt.Sprintf("%s %s", dm.name, name)
			gate.Results = append(gate.Results,
				bs.Summarise(label+" baseline", 0, d),
				gs.Summarise(label+" enrolment gate", 0, d))
			poor := func(p eval.DoorProbe) bool { return p.Found && !ok(p.Photo) }
			for _, p := range gs.Probes {
				if poor(p) {
					if p.Known {
						gate.TryAgainGenuine++
					} else {
						gate.TryAgainStrangers++
					}
				}
			}
			gate.Results = append(gate.Results,
				gs.RefuseProbes(poor).Summarise(label+" + probes gated (try again = shut)", 0, d),
				gs.WithoutProbes(poor).Summarise(label+" + probes gated (try again left out)", 0, d))
			for _, r := range analysis.Reasons {
				one := t
				one.Ignore = slices.DeleteFunc(slices.Clone(analysis.Reasons), func(x string) bool { return x == r })
				eg, bs, gs, err := compare(good(one))
				if err != nil {
					return nil, err
				}
				d, err := def(len(bs.Enrolled))
				if err != nil {
					return nil, err
				}
				br, gr := bs.Summarise("", 0, d), gs.Summarise("", 0, d)
				pr := doorGateReason{Reason: r, EnrolRefused: eg.Refused - noFace, Replaced: eg.Replaced,
					Right1: gr.AtFAR1.Right, Right01: gr.AtFAR01.Right, Base1: br.AtFAR1.Right, Base01: br.AtFAR01.Right}
				if gr.Default != nil {
					pr.RightDefault, pr.FARDefault, pr.BaseDefault = gr.Default.Right, gr.Default.FAR, br.Default.Right
				}
				gate.PerReason = append(gate.PerReason, pr)
			}
			fmt.Fprintf(os.Stderr, "\nquality gate, %s: %d of %d photos poor (%v); enrolment: %d photos refused, %d people enrolled from a later photo, %d with none acceptable; try again: %d genuine, %d strangers' attempts\n",
				label, gate.PoorPhotos, gate.Photos, gate.Reasons, gate.EnrolRefused, gate.Replaced, gate.NoneAccepted, gate.TryAgainGenuine, gate.TryAgainStrangers)
			fmt.Fprintln(os.Stderr, doorTable(gate.Results))
			fmt.Fprintf(os.Stderr, "%-14s %8s %8s | %-17s | %-17s | %-17s\n", "one reason", "refused", "replaced", "right at 1%", "right at 0.1%", "right at default")
			pct := func(v float64) string { return strconv.FormatFloat(100*v, 'f', 2, 64) }
			for _, r := range gate.PerReason {
				fmt.Fprintf(os.Stderr, "%-14s %8d %8d | %7s → %7s | %7s → %7s | %7s → %7s\n", r.Reason, r.EnrolRefused, r.Replaced,
					pct(r.Base1), pct(r.Right1), pct(r.Base01), pct(r.Right01), pct(r.BaseDefault), pct(r.RightDefault))
			}
			rep.Gates = append(rep.Gates, gate)
		}
	}
	if out != "" {
		if err := writeQualityCSV(filepath.Join(out, "quality.csv"), described, t); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// writeQualityCSV writes every described photo's quality measures and
// reasons under t.
func writeQualityCSV(path string, described map[string]*describedSplit, t analysis.QualityThresholds) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"split", "photo", "eye_distance", "sharpness", "rel_sharpness", "brightness", "contrast", "clipped",
		"eye_openness", "yaw", "pitch", "roll", "cut_off", "reasons"})
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', 5, 64) }
	for _, name := range slices.Sorted(maps.Keys(described)) {
		ds := described[name]
		for i, file := range ds.files {
			q := ds.d.Quality[i]
			if q == nil {
				continue
			}
			w.Write([]string{name, file, num(q.EyeDistance), num(q.Sharpness), num(q.RelSharpness), num(q.Brightness),
				num(q.Contrast), num(q.Clipped), num(q.EyeOpenness), num(q.Pose.Yaw), num(q.Pose.Pitch), num(q.Pose.Roll),
				strconv.FormatBool(q.CutOff), strings.Join(t.Reasons(*q), " ")})
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

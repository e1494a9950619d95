package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/recognition"
	"github.com/spf13/cobra"
)

// Output precision: pixels to a tenth (the detector is not finer), scores
// and distances to what separates decisions (τ is given to 3 decimals).
const (
	pxDecimals    = 1
	scoreDecimals = 3
	distDecimals  = 4
)

// round rounds v to d decimals.
func round(v float64, d int) float64 {
	p := math.Pow10(d)
	return math.Round(v*p) / p
}

func roundBox(b [4]float64) [4]float64 {
	for i := range b {
		b[i] = round(b[i], pxDecimals)
	}
	return b
}

// formatFlag is --format of the commands whose results people read as
// well as programs.
type formatFlag struct{ name string }

func (f *formatFlag) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.name, "format", "json", "results on stdout as `json|csv|text`: JSON lines (one per input), CSV with a header (one row per face; a photo without one gets a row with empty face fields), or text for people")
}

// check validates the flag; call it before any work.
func (f *formatFlag) check() error {
	switch f.name {
	case "json", "csv", "text":
		return nil
	}
	return usageErrorf("--format must be json, csv or text, got %q", f.name)
}

// fmtFloat writes v with at most d decimals and no trailing zeros.
func fmtFloat(v float64, d int) string { return strconv.FormatFloat(round(v, d), 'f', -1, 64) }

// csvWriter writes a header before its first row, so a run that fails
// before any result prints nothing.
type csvWriter struct {
	w      *csv.Writer
	header []string
	wrote  bool
}

func newCSV(w io.Writer, header ...string) *csvWriter {
	return &csvWriter{w: csv.NewWriter(w), header: header}
}

func (c *csvWriter) row(fields ...string) error {
	if !c.wrote {
		c.wrote = true
		if err := c.w.Write(c.header); err != nil {
			return err
		}
	}
	if err := c.w.Write(fields); err != nil {
		return err
	}
	c.w.Flush() // a row per result as it comes, like the JSON lines
	return c.w.Error()
}

// identifyWriter prints identify's results in the chosen format.
type identifyWriter struct {
	format string
	out    io.Writer
	enc    *json.Encoder
	csv    *csvWriter
}

func newIdentifyWriter(format string, out io.Writer) *identifyWriter {
	return &identifyWriter{format: format, out: out, enc: json.NewEncoder(out),
		csv: newCSV(out, "photo", "face", "x", "y", "w", "h", "score", "id", "name", "distance", "nearest_id", "nearest_name", "nearest_distance")}
}

// write prints one photo's faces, rounded.
func (w *identifyWriter) write(path string, faces []recognition.FaceResult) error {
	for i := range faces {
		f := &faces[i]
		f.Box, f.Score = roundBox(f.Box), round(f.Score, scoreDecimals)
		if f.Match != nil {
			m := *f.Match
			m.Distance = round(m.Distance, distDecimals)
			f.Match = &m
		}
		for k := range f.Candidates {
			f.Candidates[k].Distance = round(f.Candidates[k].Distance, distDecimals)
		}
		if f.Verdict != nil {
			v := *f.Verdict
			v.Threshold = round(v.Threshold, distDecimals)
			if v.Confidence != nil {
				c := round(*v.Confidence, distDecimals)
				v.Confidence = &c
			}
			if v.Margin != nil {
				m := round(*v.Margin, distDecimals)
				v.Margin = &m
			}
			f.Verdict = &v
		}
	}
	switch w.format {
	case "csv":
		if len(faces) == 0 { // a row all the same, so that every photo is in the table
			return w.csv.row(path, "", "", "", "", "", "", "", "", "", "", "", "")
		}
		for i, f := range faces {
			row := []string{path, strconv.Itoa(i + 1), fmtFloat(f.Box[0], pxDecimals), fmtFloat(f.Box[1], pxDecimals),
				fmtFloat(f.Box[2], pxDecimals), fmtFloat(f.Box[3], pxDecimals), fmtFloat(f.Score, scoreDecimals), "", "", ""}
			if f.Match != nil {
				row[7], row[8], row[9] = f.Match.ID, f.Match.Name, fmtFloat(f.Match.Distance, distDecimals)
			}
			if len(f.Candidates) > 0 {
				c := f.Candidates[0]
				row = append(row, c.ID, c.Name, fmtFloat(c.Distance, distDecimals))
			} else {
				row = append(row, "", "", "")
			}
			if err := w.csv.row(row...); err != nil {
				return err
			}
		}
		return nil
	case "text":
		if len(faces) == 0 {
			_, err := fmt.Fprintf(w.out, "%s: no face\n", path)
			return err
		}
		fmt.Fprintf(w.out, "%s: %s\n", path, plural(len(faces), "face"))
		for i, f := range faces {
			who := "unknown (nobody enrolled)"
			switch {
			case f.Verdict != nil && f.Verdict.Refused == recognition.RefusedPoorQuality && f.Quality != nil:
				who = "try again (the photo is too poor: " + strings.Join(f.Quality.Reasons, ", ") + ")"
			case f.Verdict != nil && f.Verdict.Refused == recognition.RefusedNotLive:
				who = "refused (not live)"
			case f.Match != nil:
				who = fmt.Sprintf("%s (distance %s)", f.Match.Name, fmtFloat(f.Match.Distance, distDecimals))
			case len(f.Candidates) > 0:
				who = fmt.Sprintf("unknown (nearest: %s at %s)", f.Candidates[0].Name, fmtFloat(f.Candidates[0].Distance, distDecimals))
			}
			if _, err := fmt.Fprintf(w.out, "  face %d at %s: %s\n", i+1, boxText(f.Box), who); err != nil {
				return err
			}
		}
		return nil
	}
	return w.enc.Encode(struct {
		Photo string                   `json:"photo"`
		Faces []recognition.FaceResult `json:"faces"`
	}{path, faces})
}

// boxText is a box for people: x,y of its top-left corner and its size.
func boxText(b [4]float64) string {
	return fmt.Sprintf("x %s y %s, %s×%s px", fmtFloat(b[0], pxDecimals), fmtFloat(b[1], pxDecimals), fmtFloat(b[2], pxDecimals), fmtFloat(b[3], pxDecimals))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// writeVerify prints verify's decision in the chosen format.
func writeVerify(format string, out io.Writer, a, b, model string, d face.Decision) error {
	d.Distance, d.Threshold = round(d.Distance, distDecimals), round(d.Threshold, distDecimals)
	if d.Probability != nil {
		p := round(*d.Probability, distDecimals)
		d.Probability = &p
	}
	by := "threshold"
	if d.Probability != nil {
		by = "head"
	}
	switch format {
	case "csv":
		p := ""
		if d.Probability != nil {
			p = fmtFloat(*d.Probability, distDecimals)
		}
		c := newCSV(out, "a", "b", "model", "distance", "threshold", "same", "decided_by", "probability", "refused", "quality_reasons")
		return c.row(a, b, model, fmtFloat(d.Distance, distDecimals), fmtFloat(d.Threshold, distDecimals), strconv.FormatBool(d.Same), by, p,
			d.Refused, strings.Join(d.QualityReasons, " "))
	case "text":
		verdict := "different people"
		if d.Same {
			verdict = "same person"
		}
		var why string
		switch {
		case d.Refused == recognition.RefusedPoorQuality:
			verdict, why = "try again", "the photo B is too poor: "+strings.Join(d.QualityReasons, ", ")
		case d.Refused != "":
			why = "refused: " + d.Refused
		case d.Probability != nil:
			why = fmt.Sprintf("P(same) %s from the head; distance %s", fmtFloat(*d.Probability, distDecimals), fmtFloat(d.Distance, distDecimals))
		case d.Same:
			why = fmt.Sprintf("distance %s < threshold %s", fmtFloat(d.Distance, distDecimals), fmtFloat(d.Threshold, distDecimals))
		default:
			why = fmt.Sprintf("distance %s ≥ threshold %s", fmtFloat(d.Distance, distDecimals), fmtFloat(d.Threshold, distDecimals))
		}
		_, err := fmt.Fprintf(out, "%s: %s (%s)\n", verdict, why, model)
		return err
	}
	res := map[string]any{
		"a": a, "b": b, "model": model,
		"distance": d.Distance, "threshold": d.Threshold, "same": d.Same, "decided_by": by,
	}
	if d.Probability != nil {
		res["probability"] = *d.Probability
	}
	if d.Confidence != nil {
		res["confidence"] = round(*d.Confidence, distDecimals)
	}
	if d.Refused != "" {
		res["refused"] = d.Refused
	}
	if d.Liveness != nil {
		res["liveness"] = round(*d.Liveness, distDecimals)
	}
	if len(d.QualityReasons) > 0 {
		res["quality_reasons"] = d.QualityReasons
	}
	return json.NewEncoder(out).Encode(res)
}

// detectWriter prints detect's faces in the chosen format.
type detectWriter struct {
	format string
	out    io.Writer
	enc    *json.Encoder
	csv    *csvWriter
}

func newDetectWriter(format string, out io.Writer) *detectWriter {
	return &detectWriter{format: format, out: out, enc: json.NewEncoder(out),
		csv: newCSV(out, "file", "width", "height", "face", "x", "y", "w", "h", "score")}
}

// write prints one image's faces (already rounded by toJSON).
func (w *detectWriter) write(file string, width, height int, faces []faceJSON) error {
	switch w.format {
	case "csv": // one row per face (an empty one for an image without); the landmarks only in JSON
		if len(faces) == 0 {
			return w.csv.row(file, strconv.Itoa(width), strconv.Itoa(height), "", "", "", "", "", "")
		}
		for i, f := range faces {
			if err := w.csv.row(file, strconv.Itoa(width), strconv.Itoa(height), strconv.Itoa(i+1),
				fmtFloat(f.Box[0], pxDecimals), fmtFloat(f.Box[1], pxDecimals), fmtFloat(f.Box[2], pxDecimals), fmtFloat(f.Box[3], pxDecimals),
				fmtFloat(f.Score, scoreDecimals)); err != nil {
				return err
			}
		}
		return nil
	case "text":
		if len(faces) == 0 {
			_, err := fmt.Fprintf(w.out, "%s (%d×%d): no face\n", file, width, height)
			return err
		}
		fmt.Fprintf(w.out, "%s (%d×%d): %s\n", file, width, height, plural(len(faces), "face"))
		for i, f := range faces {
			if _, err := fmt.Fprintf(w.out, "  face %d at %s, score %s\n", i+1, boxText(f.Box), fmtFloat(f.Score, scoreDecimals)); err != nil {
				return err
			}
		}
		return nil
	}
	return w.enc.Encode(struct {
		File   string     `json:"file"`
		Width  int        `json:"width"`
		Height int        `json:"height"`
		Faces  []faceJSON `json:"faces"`
	}{file, width, height, faces})
}

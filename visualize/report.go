package visualize

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"html/template"
	"image"
	"image/png"
	"io"
	"strings"
	"time"

	"github.com/facerec/facerec/tensor"
)

// ReportOptions tune Report. The zero value means four layers spread over
// the network, six units per layer, nine patches per unit, 40 maximisation
// steps for three units per layer.
type ReportOptions struct {
	Layers        []string // nil: four spatial layers spread over the network
	Units         int      // units (channels) per layer for the top patches
	Maximize      int      // units per layer to maximise
	MaximizeSteps int
	// Progress, when set, is called with a short description of each part
	// as it starts.
	Progress func(what string)
}

type reportLayer struct {
	Name        string
	Shape       []int
	Field       string
	Activations template.URL
	Patches     template.URL
	PatchUnits  []int
	Maximized   []reportImage
	Highlighted bool
}

type reportImage struct {
	Caption string
	Src     template.URL
}

// Report writes a self-contained HTML page (every image inline as a data
// URL) that shows the network layer by layer: the layer table with shapes
// and receptive fields, the first layer's filters, and for each chosen
// layer the feature maps of the first image, the top patches of some units
// over all images and images maximising some units. images are prepared
// pixels (Prepare) and names their labels.
func (n *Net) Report(ctx context.Context, w io.Writer, images []*tensor.Tensor, names []string, opt ReportOptions) error {
	if len(images) == 0 {
		return fmt.Errorf("visualize: report: no images")
	}
	progress := opt.Progress
	if progress == nil {
		progress = func(string) {}
	}
	began := time.Now()
	layers, err := n.Layers()
	if err != nil {
		return err
	}
	chosen := opt.Layers
	if chosen == nil {
		// The blocks' outputs where the network names them (…/out), else
		// every spatial layer.
		var sp, outs []string
		for _, l := range layers {
			if len(l.Shape) == 4 {
				sp = append(sp, l.Name)
				if strings.HasSuffix(l.Name, "/out") {
					outs = append(outs, l.Name)
				}
			}
		}
		if len(outs) >= 4 {
			sp = outs
		}
		for _, f := range []float64{0.1, 0.35, 0.6, 0.85} {
			name := sp[min(int(f*float64(len(sp))), len(sp)-1)]
			if len(chosen) == 0 || chosen[len(chosen)-1] != name {
				chosen = append(chosen, name)
			}
		}
	}
	units, maxUnits, steps := opt.Units, opt.Maximize, opt.MaximizeSteps
	if units == 0 {
		units = 6
	}
	if maxUnits == 0 {
		maxUnits = 3
	}
	if steps == 0 {
		steps = 40
	}
	data := struct {
		Model     string
		Input     int
		Images    []string
		Thumbs    []reportImage
		Table     []reportLayer
		Filters   template.URL
		Layers    []reportLayer
		Seconds   string
		Generated string
	}{Model: n.Name, Input: n.Input, Images: names}
	for i, img := range images {
		src, err := dataURL(pixelsImage(img))
		if err != nil {
			return err
		}
		data.Thumbs = append(data.Thumbs, reportImage{Caption: names[i], Src: src})
	}
	isChosen := map[string]bool{}
	for _, c := range chosen {
		isChosen[c] = true
	}
	for _, l := range layers {
		data.Table = append(data.Table, reportLayer{Name: l.Name, Shape: l.Shape, Field: fieldText(l), Highlighted: isChosen[l.Name]})
	}
	if n.Stem != nil {
		progress("filters")
		f, err := n.Filters()
		if err != nil {
			return err
		}
		if data.Filters, err = dataURL(f); err != nil {
			return err
		}
	}
	for _, name := range chosen {
		if err := ctx.Err(); err != nil {
			return err
		}
		progress("layer " + name)
		rl := reportLayer{Name: name}
		act, err := n.Activations(images[0], name, 32)
		if err != nil {
			return err
		}
		if rl.Activations, err = dataURL(act); err != nil {
			return err
		}
		for u := 0; u < units; u++ {
			rl.PatchUnits = append(rl.PatchUnits, u)
		}
		patches, err := n.TopPatches(images, name, rl.PatchUnits, 9)
		if err != nil {
			return err
		}
		if rl.Patches, err = dataURL(PatchGrid(images, patches, 48)); err != nil {
			return err
		}
		for u := 0; u < maxUnits; u++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			m, err := n.Maximize(name, u, MaximizeOptions{Steps: steps, Seed: uint64(u)})
			if err != nil {
				return err
			}
			src, err := dataURL(m.Image)
			if err != nil {
				return err
			}
			rl.Maximized = append(rl.Maximized, reportImage{Caption: fmt.Sprintf("unit %d: %.3g → %.3g", u, m.Start, m.Final), Src: src})
		}
		data.Layers = append(data.Layers, rl)
	}
	data.Seconds = fmt.Sprintf("%.1f", time.Since(began).Seconds())
	data.Generated = time.Now().UTC().Format(time.RFC3339)
	return reportTemplate.Execute(w, data)
}

func fieldText(l Layer) string {
	f := l.Field
	return fmt.Sprintf("%d×%d, jump %d, first centre (%g, %g)", f.Size[0], f.Size[1], f.Jump[0], f.Start[0], f.Start[1])
}

// dataURL encodes img as a PNG data URL.
func dataURL(img image.Image) (template.URL, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())), nil
}

var reportTemplate = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>facerec visualize: {{.Model}}</title>
<style>
body { font: 15px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: left; }
tr.chosen { background: #fff4d6; }
img { image-rendering: pixelated; max-width: 100%; }
figure { display: inline-block; margin: 0 1em 1em 0; vertical-align: top; }
figcaption { font-size: 12px; color: #555; }
section { border-top: 2px solid #333; margin-top: 2em; }
</style></head><body>
<h1>What the layers of <code>{{.Model}}</code> see</h1>
<p>Input {{.Input}}×{{.Input}}; {{len .Images}} images; made by <code>facerec visualize report</code> in {{.Seconds}} s ({{.Generated}}).</p>
<h2>Images</h2>
<div id="images">{{range .Thumbs}}<figure><img src="{{.Src}}" alt="{{.Caption}}" width="96"><figcaption>{{.Caption}}</figcaption></figure>{{end}}</div>
<h2>Layers</h2>
<p>Receptive field: the input pixels a unit sees (rows × columns), the input pixels between neighbouring units, and the centre of the first unit's field. Highlighted layers are shown below.</p>
<table id="layers"><tr><th>layer</th><th>output</th><th>receptive field</th></tr>
{{range .Table}}<tr{{if .Highlighted}} class="chosen"{{end}}><td>{{.Name}}</td><td>{{.Shape}}</td><td>{{.Field}}</td></tr>
{{end}}</table>
{{if .Filters}}<h2>First-layer filters</h2><img id="filters" src="{{.Filters}}" alt="filters of the first convolution">{{end}}
{{range .Layers}}<section class="layer">
<h2>{{.Name}}</h2>
<figure><img class="activations" src="{{.Activations}}" alt="feature maps of {{.Name}}"><figcaption>feature maps of the first image (first 32 channels, each on its own scale)</figcaption></figure>
<figure><img class="patches" src="{{.Patches}}" alt="top patches of {{.Name}}"><figcaption>top 9 patches per unit (rows: units {{.PatchUnits}}), cut by the receptive field</figcaption></figure>
<div>{{range .Maximized}}<figure><img class="maximized" src="{{.Src}}" alt="maximised {{.Caption}}" width="150"><figcaption>{{.Caption}} (mean activation, grey start → optimised)</figcaption></figure>{{end}}</div>
</section>
{{end}}
</body></html>
`))

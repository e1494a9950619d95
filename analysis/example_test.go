package analysis_test

import (
	"context"
	"fmt"
	"log"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/model/registry"
	"github.com/facerec/facerec/photo"
)

// Analyse the faces of a photo, and refuse one that looks like a spoof.
// (Not run by go test: it needs the models and a photo.)
func Example() {
	ctx := context.Background()
	dir, err := registry.Dir()
	if err != nil {
		log.Fatal(err)
	}
	p, err := face.Load(ctx, dir, face.DefaultOptions(), nil)
	if err != nil {
		log.Fatal(err)
	}
	// Liveness and quality only: fr_liveness is fetched on first use.
	a, err := analysis.Load(ctx, dir, analysis.Options{Liveness: true}, nil)
	if err != nil {
		log.Fatal(err)
	}
	img, _, err := photo.DecodeFile("door.jpg", photo.Options{})
	if err != nil {
		log.Fatal(err)
	}
	faces, err := p.Detect(ctx, img)
	if err != nil {
		log.Fatal(err)
	}
	results, err := a.Analyze(ctx, img, faces)
	if err != nil {
		log.Fatal(err)
	}
	for i, r := range results {
		switch {
		case !r.Liveness.Live:
			fmt.Printf("face %d: refused, liveness %.2f < %.2f\n", i, r.Liveness.Score, r.Liveness.Threshold)
		case !r.Quality.OK:
			fmt.Printf("face %d: try again (%v)\n", i, r.Quality.Reasons)
		default:
			fmt.Printf("face %d: yaw %.0f°, sharpness %.0f\n", i, r.Pose.Yaw, r.Quality.Sharpness)
		}
	}
}

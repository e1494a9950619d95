package analysis

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/photo"
)

// TestGenderSampleReport measures the gender network on the first five
// LFW photos of each hand-labelled identity of testdata/gender_labels.tsv
// (the "dev" people chose the channel order, the "test" people only
// measure), and prints the age network's spread, which no label here can
// check. A measurement: it runs only with FACEREC_GENDER_REPORT=1.
func TestGenderSampleReport(t *testing.T) {
	if os.Getenv("FACEREC_GENDER_REPORT") == "" {
		t.Skip("a measurement: set FACEREC_GENDER_REPORT=1")
	}
	b, err := os.ReadFile(filepath.Join("testdata", "gender_labels.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, p, a := reportModels(t, Options{AgeGender: true})
	root := filepath.Join("..", "..", "shared", "data", "lfw", "deepfunneled")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("needs LFW: %v", err)
	}
	type sample struct {
		male  bool
		value float64
	}
	split := map[string][]sample{}
	ages := map[string][]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		fs := strings.Fields(line)
		if len(fs) != 3 || strings.HasPrefix(fs[0], "#") {
			continue
		}
		for i := 1; i <= 5; i++ {
			img, _, err := photo.DecodeFile(filepath.Join(root, fs[0], fmt.Sprintf("%s_%04d.jpg", fs[0], i)), photo.Options{})
			if err != nil {
				t.Fatal(err)
			}
			f, err := p.DetectSubject(ctx, img)
			if err != nil {
				continue
			}
			rs, err := a.Analyze(ctx, img, []face.Face{f})
			if err != nil {
				t.Fatal(err)
			}
			split[fs[2]] = append(split[fs[2]], sample{fs[1] == "M", rs[0].Gender.Value})
			ages[fs[2]] = append(ages[fs[2]], *rs[0].Age)
		}
	}
	// The threshold that is right most often on the dev people.
	best, bestRight := 0.5, -1
	for _, c := range split["dev"] {
		right := 0
		for _, x := range split["dev"] {
			if x.male == (x.value > c.value) {
				right++
			}
		}
		if right > bestRight {
			best, bestRight = c.value, right
		}
	}
	t.Logf("the dev people's best threshold: %.3f (GenderThreshold is %.3f)", best, GenderThreshold)
	for _, name := range []string{"dev", "test"} {
		s := split[name]
		right, rightT, pairs, wins := 0, 0, 0, 0.0
		for _, x := range s {
			if x.male == (x.value > 0.5) {
				right++
			}
			if x.male == (x.value > GenderThreshold) {
				rightT++
			}
			for _, y := range s {
				if x.male && !y.male {
					pairs++
					switch {
					case x.value > y.value:
						wins++
					case x.value == y.value:
						wins += 0.5
					}
				}
			}
		}
		ag := ages[name]
		sort.Float64s(ag)
		t.Logf("%s: %d photos, gender right at 0.5: %d (%.0f%%), at GenderThreshold: %d (%.0f%%), AUC %.3f; age estimates min %.0f, median %.0f, max %.0f (unlabelled)",
			name, len(s), right, 100*float64(right)/float64(len(s)), rightT, 100*float64(rightT)/float64(len(s)), wins/float64(pairs), ag[0], ag[len(ag)/2], ag[len(ag)-1])
	}
}

package visualize

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/facerec/facerec/internal/sharedtest"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/tensor"
)

// BenchmarkReport is one `facerec visualize report` of the descriptor with
// its defaults (four layers, six units' top patches, three maximised units
// of 40 steps each per layer) over six LFW photos.
func BenchmarkReport(b *testing.B) {
	n := testNet(b, "descriptor")
	lfw := sharedtest.Path(b, "data", "lfw", "deepfunneled")
	var imgs []*tensor.Tensor
	var names []string
	for _, name := range []string{"Aaron_Peirsol", "Abdullah_Gul", "AJ_Cook", "Aaron_Eckhart", "Colin_Powell", "George_W_Bush"} {
		img, _, err := photo.DecodeFile(filepath.Join(lfw, name, name+"_0001.jpg"), photo.Options{})
		if err != nil {
			b.Skip(err)
		}
		p, err := n.Prepare(img)
		if err != nil {
			b.Fatal(err)
		}
		imgs, names = append(imgs, p), append(names, name)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := n.Report(context.Background(), io.Discard, imgs, names, ReportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

package recognition

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
)

// OpenGallery opens store for the descriptors of model m: the one way the
// command line, the server and the Go API open a gallery. Faces stored
// under one of m's legacy IDs (face.LegacyIDs: the same weights under the
// name an older facerec gave them) are adopted first, with a line to log
// (may be nil). When faces remain that m never described, the error wraps
// gallery.ErrModelMismatch and names both models; the Gallery of the faces
// it could load comes with it, for callers that only list, delete or
// re-embed.
func OpenGallery(ctx context.Context, store gallery.Store, m face.DescriptorModel, log io.Writer) (*gallery.Gallery, error) {
	g, err := gallery.Open(ctx, store, m.ID(), m.Dim())
	if !errors.Is(err, gallery.ErrModelMismatch) || g == nil {
		return g, err
	}
	adopted := 0
	for _, legacy := range face.LegacyIDs(m) {
		n, aerr := g.Adopt(ctx, legacy)
		if aerr != nil {
			return g, aerr
		}
		adopted += n
	}
	if adopted == 0 {
		return g, err
	}
	if log != nil {
		fmt.Fprintf(log, "gallery: %d faces stored under the old name of model %s now carry its ID\n", adopted, m.ID())
	}
	return gallery.Open(ctx, store, m.ID(), m.Dim())
}

package gallery_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/facerec/facerec/gallery"
)

// A server and another process (here, a second handle) on one SQLite
// file: what the other enrols, the server's index holds after a Sync. A
// server runs Follow, which syncs every DefaultFollowInterval.
func ExampleGallery_Sync() {
	dir, _ := os.MkdirTemp("", "gallery")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "gallery.db")
	ctx := context.Background()
	var closers []func() error
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	open := func() *gallery.Gallery {
		s, err := gallery.OpenSQLite(path, gallery.Options{})
		if err != nil {
			panic(err)
		}
		g, err := gallery.Open(ctx, s, "model@1", 2)
		if err != nil {
			panic(err)
		}
		closers = append(closers, s.Close)
		return g
	}
	server, other := open(), open()

	f := gallery.Face{Descriptors: map[string][]float32{"model@1": {0.6, 0.8}}, Score: 0.9}
	p, _, err := other.Enroll(ctx, "Ada", nil, f)
	if err != nil {
		panic(err)
	}
	people, _ := server.Size()
	fmt.Println("before Sync:", people, "people")
	n, err := server.Sync(ctx)
	if err != nil {
		panic(err)
	}
	m, _ := server.Search([]float32{0.6, 0.8}, 1)
	fmt.Println("Sync reloaded", n, "person; nearest is Ada:", m[0].PersonID == p.ID)
	// Output:
	// before Sync: 0 people
	// Sync reloaded 1 person; nearest is Ada: true
}

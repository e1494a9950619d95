package server_test

import (
	"errors"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/server"
)

func TestEnrollmentFace(t *testing.T) {
	box := func(side float64) face.Face { return face.Face{Box: model.Rect{W: side, H: side}} }
	cases := []struct {
		name  string
		sides []float64
		want  int   // index of the chosen face
		err   error // or the error
	}{
		{"none", nil, 0, server.ErrNoFace},
		{"one", []float64{30}, 0, nil},
		{"crowd behind", []float64{20, 100, 49, 10}, 1, nil},          // 49² < 100²/4
		{"two alike", []float64{100, 90}, 0, server.ErrMultipleFaces}, // side by side
		{"exactly a quarter", []float64{100, 50}, 0, server.ErrMultipleFaces},
		{"just under a quarter", []float64{49.9, 100}, 1, nil},
	}
	for _, c := range cases {
		faces := make([]face.Face, len(c.sides))
		for i, s := range c.sides {
			faces[i] = box(s)
		}
		got, err := server.EnrollmentFace(faces)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: error %v, want %v", c.name, err, c.err)
			}
			continue
		}
		if err != nil || got != &faces[c.want] {
			t.Errorf("%s: got %v, %v; want face %d", c.name, got, err, c.want)
		}
	}
}

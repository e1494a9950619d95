package server_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/recognition"
)

// ?far= asks for a calibrated decision at another rate of strangers let
// in: any key may make the door stricter, only a full key more lenient.
func TestIdentifyFARParameter(t *testing.T) {
	imp := make([]float32, 1000)
	for i := range imp {
		imp[i] = 2 * float32(i+1) / 1000 // impostor distances uniform on (0, 2]
	}
	cal, err := face.FitCalibration(fakeModel, "test", imp)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOptions{svc: func(c *recognition.Config) {
		c.Decision.Calibration, c.Decision.FAR = cal, 0.01
	}})
	h.enroll("person 1", onePerson(t, 1))
	threshold := func(key, query string, want int, code ...string) float64 {
		t.Helper()
		body, ct := multipartBody(t, file("photo", onePerson(t, 1)))
		var out struct {
			Faces []struct {
				Threshold  float64  `json:"threshold"`
				Confidence *float64 `json:"confidence"`
			} `json:"faces"`
		}
		r := h.do(http.MethodPost, "/v1/identify"+query, key, ct, body)
		if want != http.StatusOK {
			r.wantError(t, want, code[0])
			return 0
		}
		r.decode(t, want, &out)
		if len(out.Faces) != 1 || out.Faces[0].Confidence == nil {
			t.Fatalf("%s: %+v, want one face with a confidence", query, out)
		}
		return out.Faces[0].Threshold
	}
	base := threshold(h.recKey, "", http.StatusOK)
	if strict := threshold(h.recKey, "?far=strict", http.StatusOK); !(strict < base) {
		t.Errorf("strict threshold %v, the server's %v: want stricter", strict, base)
	}
	threshold(h.recKey, "?far=lenient", http.StatusForbidden, "forbidden")
	if lenient := threshold(h.fullKey, "?far=lenient", http.StatusOK); !(lenient > base) {
		t.Errorf("lenient threshold %v, the server's %v: want looser", lenient, base)
	}
	for _, bad := range []string{"abc", "0", "2"} {
		threshold(h.fullKey, fmt.Sprint("?far=", bad), http.StatusBadRequest, "invalid_field")
	}
}

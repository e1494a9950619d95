// Package recognition is facerec's recognition service. It composes a face
// pipeline, a gallery and a decision into what a door needs: enrol a person
// from a photo, say who is in a photo (or that nobody known is), verify a
// claimed identity, compare two photos. The Go API (package facerec), the
// HTTP server (package server) and the command line are thin adapters over
// a Service, so each of these operations, and the choice of the face that
// counts in a photo, is written once, here.
//
// Two face-choice policies exist, and each operation says which it uses:
//
//   - every face in the frame (Identify): a door camera sees whoever is
//     there, and each of them is looked up;
//   - the subject of a labelled photo (Enroll, AddFace, Verify, Compare): a
//     photo meant to show one person, whose face is chosen by
//     face.Pipeline.Subject, which refuses a photo where two faces could be
//     that person (face.ErrAmbiguous) rather than guess.
package recognition

import (
	"context"
	"errors"
	"fmt"
	"image"
	"maps"
	"math"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
)

// Recognizer finds faces and describes them; *face.Pipeline is one.
type Recognizer interface {
	// Faces returns every face of img with its descriptor.
	Faces(ctx context.Context, img image.Image) ([]face.Face, error)
	// Subject returns the face a labelled photo is about, with its
	// descriptor, or face.ErrNoFace, or the face and an error wrapping
	// face.ErrAmbiguous.
	Subject(ctx context.Context, img image.Image) (face.Face, error)
}

// Config configures a Service.
type Config struct {
	// Recognizer describes the photos to recognise (identify, verify,
	// compare). Required.
	Recognizer Recognizer
	// Enroller describes the photos that add faces to the gallery; nil
	// means Recognizer. Typically the same pipeline with jitter
	// (face.Pipeline.ForEnrolment): a gallery descriptor is computed once,
	// while the door check must be fast.
	Enroller Recognizer
	// Gallery is searched and enrolled into; nil allows only Compare.
	Gallery *gallery.Gallery
	// Decision is the rule of the descriptor model (face.RuleOf the
	// pipeline's model: its calibrated threshold for the gallery's size,
	// or its fixed one). Required: its Model is the model every descriptor
	// must come from.
	Decision face.Rule
	// Head, when set, decides Compare instead of the threshold (a
	// logistic head trained with facerec train-head, as
	// face.LoadLogisticHead reads it).
	Head *face.LogisticHead
	// Liveness, when set, is required at the door: Identify refuses a
	// face that scores below LivenessThreshold (0: the default,
	// DefaultLivenessThreshold) with the reason RefusedNotLive.
	Liveness          LivenessChecker
	LivenessThreshold float64
	// Quality, when set, measures the photo quality of every face
	// enrolled and every face at the door. EnrolQuality says what
	// Enroll and AddFace do with a poor photo (refuse: a *QualityError,
	// wrapping ErrPoorQuality, with the reasons; warn: enrol it, the
	// quality reported to Photo.OnQuality), DoorQuality what Identify,
	// Verify and CompareProbe do with a poor probe (refuse: the answer
	// RefusedPoorQuality, "try again"; warn: decide as usual, the
	// quality in the answer). Empty modes are QualityRefuse.
	Quality      QualityChecker
	EnrolQuality QualityMode
	DoorQuality  QualityMode
}

// Service is the recognition service. It is safe for concurrent use.
type Service struct {
	cfg Config
}

// ErrNoGallery is returned by the gallery operations of a Service made
// without a gallery.
var ErrNoGallery = errors.New("recognition: no gallery")

// New checks cfg and builds the service. The gallery must search the
// decision's model, by Euclidean distance (the index's metric), which a
// cosine model's unit descriptors are converted from.
func New(cfg Config) (*Service, error) {
	if cfg.Recognizer == nil {
		return nil, errors.New("recognition: no recognizer")
	}
	if cfg.Enroller == nil {
		cfg.Enroller = cfg.Recognizer
	}
	d := cfg.Decision
	if d.Model == "" || d.Max <= 0 {
		return nil, fmt.Errorf("recognition: decision %+v names no model or has no positive threshold", d)
	}
	if g := cfg.Gallery; g != nil {
		if g.Model() != d.Model {
			return nil, fmt.Errorf("recognition: %w: the gallery holds descriptors of %q, the descriptor model is %q",
				gallery.ErrModelMismatch, g.Model(), d.Model)
		}
		if d.Metric != face.Euclidean && d.Metric != face.Cosine {
			return nil, fmt.Errorf("recognition: the gallery searches by Euclidean distance, which orders %s distances of unit vectors only for euclidean and cosine models", d.Metric)
		}
	}
	return &Service{cfg: cfg}, nil
}

// Gallery returns the service's gallery (nil without one), for the
// operations that need no recognition: listing, deleting, export.
func (s *Service) Gallery() *gallery.Gallery { return s.cfg.Gallery }

// Photo is a photo to enrol: the decoded image and, when the gallery keeps
// enrolment photos (for a later re-embedding), the file's bytes.
type Photo struct {
	Image image.Image
	Data  []byte
	// Face, when set, is the face to enrol instead of the subject that
	// face.Pipeline.Subject would choose: the face found whose box overlaps
	// it most (ErrNoFaceAt when none overlaps enough), taken even when the
	// photo is ambiguous, because a person picked it (see Choices).
	Face *face.Rect
	// Meta, when set on the first photo of an Enroll, is called with the
	// face chosen in it before anything is stored; what it returns is
	// stored as the new person's metadata beside Enroll's meta (the
	// server's face thumbnails). AddFace does not call it.
	Meta func(img image.Image, f face.Face) map[string]string
	// OnQuality, when set, is called with the quality of the face chosen
	// in the photo when the service measures it (Config.Quality), before
	// anything is stored, in warn mode as in refuse mode: how a caller
	// reports a warning.
	OnQuality func(q analysis.Quality)
}

// subject describes the subject of a photo with rec and checks its model.
func (s *Service) subject(ctx context.Context, rec Recognizer, img image.Image) (face.Face, error) {
	f, err := rec.Subject(ctx, img)
	if err != nil {
		return face.Face{}, err
	}
	if f.Descriptor.Model != s.cfg.Decision.Model {
		return face.Face{}, fmt.Errorf("recognition: %w: descriptor made by %q, the service uses %q",
			face.ErrModelMismatch, f.Descriptor.Model, s.cfg.Decision.Model)
	}
	return f, nil
}

// galleryFace is the gallery's record of an enrolment photo's subject,
// and that face.
func (s *Service) galleryFace(ctx context.Context, p Photo) (gallery.Face, face.Face, error) {
	var f face.Face
	var err error
	if p.Face != nil {
		f, err = s.chosenFace(ctx, s.cfg.Enroller, p)
	} else {
		f, err = s.subject(ctx, s.cfg.Enroller, p.Image)
	}
	if err != nil {
		return gallery.Face{}, face.Face{}, err
	}
	if err := s.checkEnrolQuality(ctx, p, f); err != nil {
		return gallery.Face{}, face.Face{}, err
	}
	// The store keeps Photo only when it was opened to keep photos.
	return gallery.Face{
		Descriptors: map[string][]float32{f.Descriptor.Model: f.Descriptor.Vector},
		Score:       f.Score,
		Photo:       p.Data,
	}, f, nil
}

// Enroll creates a person from one or more photos of them: the subject of
// each (face.Pipeline.Subject) is described by the Enroller and stored.
// Every photo is described before anything is stored, so a photo without
// a clear face refuses the whole enrolment.
func (s *Service) Enroll(ctx context.Context, name string, meta map[string]string, photos ...Photo) (gallery.Person, error) {
	g := s.cfg.Gallery
	if g == nil {
		return gallery.Person{}, ErrNoGallery
	}
	if len(photos) == 0 {
		return gallery.Person{}, fmt.Errorf("recognition: enroll %q: %w: no photo", name, gallery.ErrInvalid)
	}
	faces := make([]gallery.Face, len(photos))
	for i, p := range photos {
		f, chosen, err := s.galleryFace(ctx, p)
		if err != nil {
			return gallery.Person{}, photoError(i, len(photos), err)
		}
		faces[i] = f
		if i == 0 && p.Meta != nil {
			if extra := p.Meta(p.Image, chosen); len(extra) > 0 {
				meta = maps.Clone(meta)
				if meta == nil {
					meta = map[string]string{}
				}
				maps.Copy(meta, extra)
			}
		}
	}
	person, _, err := g.Enroll(ctx, name, meta, faces[0])
	if err != nil {
		return gallery.Person{}, err
	}
	for _, f := range faces[1:] {
		if _, err := g.AddFace(ctx, person.ID, f); err != nil {
			return person, fmt.Errorf("recognition: enrolled %s, but adding a face failed: %w", person.ID, err)
		}
	}
	if len(faces) > 1 {
		return g.Person(ctx, person.ID)
	}
	return person, nil
}

// PhotoError says which photo of several an operation failed on (Index
// counts from 0, in the order they were given).
type PhotoError struct {
	Index, Of int
	Err       error
}

func (e *PhotoError) Error() string { return fmt.Sprintf("photo %d of %d: %v", e.Index+1, e.Of, e.Err) }

func (e *PhotoError) Unwrap() error { return e.Err }

// photoError names the photo of several that failed.
func photoError(i, n int, err error) error {
	if n == 1 {
		return err
	}
	return &PhotoError{Index: i, Of: n, Err: err}
}

// AddFace adds the subject of a photo to an enrolled person and returns
// the person as now stored (gallery.ErrNotFound for an unknown one, checked
// before the photo is described).
func (s *Service) AddFace(ctx context.Context, personID string, p Photo) (gallery.Person, error) {
	g := s.cfg.Gallery
	if g == nil {
		return gallery.Person{}, ErrNoGallery
	}
	if _, err := g.Person(ctx, personID); err != nil {
		return gallery.Person{}, err
	}
	f, _, err := s.galleryFace(ctx, p)
	if err != nil {
		return gallery.Person{}, err
	}
	if _, err := g.AddFace(ctx, personID, f); err != nil {
		return gallery.Person{}, fmt.Errorf("recognition: adding a face to %s: %w", personID, err)
	}
	return g.Person(ctx, personID)
}

// Match is an enrolled person a face was compared with.
type Match struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Distance float64 `json:"distance"`
}

// FaceResult is what identification says about one face of a photo.
type FaceResult struct {
	// Box is x, y, width, height in pixels of the (upright) photo.
	Box   [4]float64 `json:"box"`
	Score float64    `json:"score"`
	// Match is the enrolled person, or nil for a stranger: nobody within
	// the threshold, or a runner-up too close to tell them apart.
	Match *Match `json:"match"`
	// Candidates are the nearest people, nearest first, whether or not
	// within the threshold.
	Candidates []Match `json:"candidates"`
	// Verdict is the rule's judgement of the nearest candidate: the
	// threshold in force for this gallery's size, the calibrated
	// confidence, the margin to the runner-up and why a close one was
	// refused; absent when the gallery is empty or the face has no
	// candidate.
	*face.Verdict
	// Liveness is the face's liveness score when the service requires
	// one (Config.Liveness).
	Liveness *float64 `json:"liveness,omitempty"`
	// Quality is the face's photo quality when the service measures it
	// (Config.Quality); a poor one is refused RefusedPoorQuality in
	// refuse mode.
	Quality *analysis.Quality `json:"quality,omitempty"`
}

// Identify looks up every face of img (the every-face policy): for each,
// its k nearest enrolled people and the match when the nearest is within
// the decision's threshold. A person deleted while the search ran is left
// out rather than reported without a name.
func (s *Service) Identify(ctx context.Context, img image.Image, k int) ([]FaceResult, error) {
	g := s.cfg.Gallery
	if g == nil {
		return nil, ErrNoGallery
	}
	faces, err := s.cfg.Recognizer.Faces(ctx, img)
	if err != nil {
		return nil, err
	}
	out := make([]FaceResult, 0, len(faces))
	people, _ := g.Size()        // the chances a stranger has of being taken for someone
	names := map[string]string{} // one lookup per person, however often they appear
	name := func(id string) (string, bool, error) {
		if n, ok := names[id]; ok {
			return n, true, nil
		}
		p, err := g.Person(ctx, id)
		if errors.Is(err, gallery.ErrNotFound) {
			return "", false, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("looking up person %s: %w", id, err)
		}
		names[id] = p.Name
		return p.Name, true, nil
	}
	for i := range faces {
		f := &faces[i]
		r := FaceResult{Box: [4]float64{f.Box.X, f.Box.Y, f.Box.W, f.Box.H}, Score: f.Score, Candidates: []Match{}}
		if f.Descriptor.Model != g.Model() {
			return nil, fmt.Errorf("recognition: face %d: %w: descriptor made by %q, the gallery holds %q",
				i, face.ErrModelMismatch, f.Descriptor.Model, g.Model())
		}
		// The gallery would read a bad descriptor as "unknown"; it would
		// be a bug upstream, not a stranger, so Search refuses it.
		// The rule looks at the runner-up, so at least two are searched.
		cands, err := g.Search(f.Descriptor.Vector, max(k, 2))
		if err != nil {
			return nil, fmt.Errorf("recognition: face %d: %w", i, err)
		}
		var found []Match
		for _, c := range cands {
			n, ok, err := name(c.PersonID)
			if err != nil {
				return nil, err
			}
			if ok {
				found = append(found, Match{ID: c.PersonID, Name: n, Distance: s.cfg.Decision.Metric.FromEuclidean(c.Distance)})
			}
		}
		if len(found) > 0 {
			second := math.NaN()
			if len(found) > 1 {
				second = found[1].Distance
			}
			v := s.cfg.Decision.Identify(found[0].Distance, second, people)
			r.Verdict = &v
			if v.Accepted {
				r.Match = &found[0]
			}
		}
		if err := s.checkDoorQuality(ctx, img, *f, &r); err != nil {
			return nil, fmt.Errorf("recognition: face %d: %w", i, err)
		}
		// After the quality: a face that is both poor and not live is
		// refused as not live, the reason that matters to the door.
		if err := s.checkLive(ctx, img, *f, i, &r); err != nil {
			return nil, err
		}
		r.Candidates = append(r.Candidates, found[:min(k, len(found))]...)
		out = append(out, r)
	}
	return out, nil
}

// Verify compares the subject of img with an enrolled person's nearest
// face: is this the person they claim to be? It fails with
// gallery.ErrNotFound for an unknown person (checked first), and with the
// face-choice errors of Subject.
func (s *Service) Verify(ctx context.Context, personID string, img image.Image) (face.Decision, error) {
	g := s.cfg.Gallery
	if g == nil {
		return face.Decision{}, ErrNoGallery
	}
	if _, err := g.Person(ctx, personID); err != nil {
		return face.Decision{}, err
	}
	f, err := s.subject(ctx, s.cfg.Recognizer, img)
	if err != nil {
		return face.Decision{}, err
	}
	m, err := g.Nearest(ctx, personID, f.Descriptor.Vector)
	if err != nil {
		return face.Decision{}, fmt.Errorf("recognition: verifying %s: %w", personID, err)
	}
	d := s.cfg.Decision.Apply(s.cfg.Decision.Metric.FromEuclidean(m.Distance)) // a claim is a search of one
	if err := s.checkClaim(ctx, img, f, &d); err != nil {
		return face.Decision{}, err
	}
	return d, nil
}

// checkClaim applies the door's checks of a claim's probe: its quality,
// then its liveness (whose refusal wins).
func (s *Service) checkClaim(ctx context.Context, img image.Image, f face.Face, d *face.Decision) error {
	if err := s.checkClaimQuality(ctx, img, f, d); err != nil {
		return err
	}
	return s.checkLiveClaim(ctx, img, f, d)
}

// CompareProbe is Compare for a probe against a reference photo (a
// passport photo, a badge): the door's checks of Verify, liveness and the
// probe's quality, apply to probe, not to ref.
func (s *Service) CompareProbe(ctx context.Context, ref, probe image.Image) (face.Decision, error) {
	var fs [2]face.Face
	for i, img := range []image.Image{ref, probe} {
		f, err := s.subject(ctx, s.cfg.Recognizer, img)
		if err != nil {
			return face.Decision{}, photoError(i, 2, err)
		}
		fs[i] = f
	}
	d, err := s.Decider().Decide(fs[0].Descriptor, fs[1].Descriptor)
	if err != nil {
		return face.Decision{}, err
	}
	if err := s.checkClaim(ctx, probe, fs[1], &d); err != nil {
		return face.Decision{}, photoError(1, 2, err)
	}
	return d, nil
}

// Compare decides whether the subjects of two photos are the same person,
// with the head when the service has one, else the threshold.
func (s *Service) Compare(ctx context.Context, a, b image.Image) (face.Decision, error) {
	var ds [2]face.Descriptor
	for i, img := range []image.Image{a, b} {
		f, err := s.subject(ctx, s.cfg.Recognizer, img)
		if err != nil {
			return face.Decision{}, photoError(i, 2, err)
		}
		ds[i] = f.Descriptor
	}
	return s.Decider().Decide(ds[0], ds[1])
}

// Decider is the service's decision for a pair of descriptors.
func (s *Service) Decider() face.Decider {
	if s.cfg.Head != nil {
		return face.Head{Threshold: s.cfg.Decision.Threshold, Head: s.cfg.Head}
	}
	return s.cfg.Decision
}

// Faces finds and describes every face of img as Identify does (the
// door's pipeline), without searching the gallery: what a check over
// several frames (the server's liveness challenge) needs.
func (s *Service) Faces(ctx context.Context, img image.Image) ([]face.Face, error) {
	return s.cfg.Recognizer.Faces(ctx, img)
}

// Rule is the service's decision rule.
func (s *Service) Rule() face.Rule { return s.cfg.Decision }

// WithRule returns the service deciding with r instead (same recognizer
// and gallery): a request asking for a stricter door. r must be for the
// service's model.
func (s *Service) WithRule(r face.Rule) (*Service, error) {
	if r.Model != s.cfg.Decision.Model || r.Max <= 0 {
		return nil, fmt.Errorf("recognition: rule for %q, the service's model is %q", r.Model, s.cfg.Decision.Model)
	}
	cfg := s.cfg
	cfg.Decision = r
	return &Service{cfg: cfg}, nil
}

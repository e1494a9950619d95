package server

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/jpeg"

	"golang.org/x/image/draw"

	"github.com/facerec/facerec/face"
)

// Thumbnails, when Config.Thumbnails allows them: a small JPEG of the
// enrolled face, kept as the person's metadata under ThumbnailKey
// (base64), so that it goes wherever the person goes (exports too) and
// goes away with them.
const (
	ThumbnailKey  = "thumbnail"
	thumbnailSide = 96 // pixels
	thumbnailJPEG = 80 // quality
)

// thumbnail cuts the square around a face (the box and a fifth more on
// each side, clamped to the photo) and scales it to thumbnailSide.
func thumbnail(img image.Image, box face.Rect) (string, bool) {
	side := max(box.W, box.H) * 1.4
	cx, cy := box.X+box.W/2, box.Y+box.H/2
	b := img.Bounds()
	r := image.Rect(int(cx-side/2), int(cy-side/2), int(cx+side/2), int(cy+side/2)).Add(b.Min).Intersect(b)
	if r.Dx() < 4 || r.Dy() < 4 {
		return "", false
	}
	w, h := thumbnailSide, thumbnailSide
	if r.Dx() > r.Dy() {
		h = max(1, thumbnailSide*r.Dy()/r.Dx())
	} else if r.Dy() > r.Dx() {
		w = max(1, thumbnailSide*r.Dx()/r.Dy())
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, r, draw.Src, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: thumbnailJPEG}); err != nil {
		return "", false
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), true
}

// thumbnailMeta is the recognition.Photo.Meta of an enrolment when
// thumbnails are on.
func thumbnailMeta(img image.Image, f face.Face) map[string]string {
	t, ok := thumbnail(img, f.Box)
	if !ok {
		return nil
	}
	return map[string]string{ThumbnailKey: t}
}

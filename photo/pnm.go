package photo

import (
	"errors"
	"fmt"
	"image"
	"math"
)

// This file is a strict decoder for the Netpbm formats PBM, PGM and PPM, in
// their plain (P1-P3) and raw (P4-P6) forms, with 8- and 16-bit samples.
//
// github.com/spakin/netpbm v1.3.2 was considered, but its header reader
// loops forever, growing memory, on a comment cut off by the end of the input
// (for example "P5\n#abc"), so it cannot be given untrusted data.

// pnmHeader is a parsed Netpbm header.
type pnmHeader struct {
	kind          byte // '1'-'6'
	width, height int
	maxval        int // 1 for PBM
	data          int // offset of the first raster byte
}

var errPNMTruncated = errors.New("truncated raster data")

// isPNMSpace is Netpbm's notion of whitespace.
func isPNMSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// pnmScanner reads the whitespace- and comment-separated tokens of a Netpbm
// header or plain raster.
type pnmScanner struct {
	data []byte
	pos  int
}

// skip moves past whitespace and comments ('#' to the end of the line).
func (s *pnmScanner) skip() {
	for s.pos < len(s.data) {
		switch c := s.data[s.pos]; {
		case isPNMSpace(c):
			s.pos++
		case c == '#':
			for s.pos < len(s.data) && s.data[s.pos] != '\n' && s.data[s.pos] != '\r' {
				s.pos++
			}
		default:
			return
		}
	}
}

// number reads an unsigned decimal number after skipping whitespace and
// comments. Values that do not fit in an int32 saturate at math.MaxInt32,
// which every limit in the package rejects.
func (s *pnmScanner) number() (int, error) {
	s.skip()
	start := s.pos
	v := 0
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		v = min(v*10+int(s.data[s.pos]-'0'), math.MaxInt32)
		s.pos++
	}
	switch {
	case s.pos == start && s.pos == len(s.data):
		return 0, errPNMTruncated
	case s.pos == start:
		return 0, fmt.Errorf("unexpected byte %q where a number should be", s.data[s.pos])
	case s.pos < len(s.data) && !isPNMSpace(s.data[s.pos]) && s.data[s.pos] != '#':
		return 0, fmt.Errorf("unexpected byte %q after a number", s.data[s.pos])
	}
	return v, nil
}

// parsePNMHeader parses the header of a PBM, PGM or PPM file.
func parsePNMHeader(data []byte) (pnmHeader, error) {
	if len(data) < 3 || data[0] != 'P' || data[1] < '1' || data[1] > '6' || !isPNMSpace(data[2]) {
		return pnmHeader{}, errors.New("not a PBM, PGM or PPM header")
	}
	h := pnmHeader{kind: data[1], maxval: 1}
	s := pnmScanner{data: data, pos: 2}
	var err error
	if h.width, err = s.number(); err != nil {
		return pnmHeader{}, fmt.Errorf("width: %w", err)
	}
	if h.height, err = s.number(); err != nil {
		return pnmHeader{}, fmt.Errorf("height: %w", err)
	}
	if h.kind != '1' && h.kind != '4' {
		if h.maxval, err = s.number(); err != nil {
			return pnmHeader{}, fmt.Errorf("maxval: %w", err)
		}
		if h.maxval < 1 || h.maxval > 65535 {
			return pnmHeader{}, fmt.Errorf("maxval %d is outside 1..65535", h.maxval)
		}
	}
	if h.kind >= '4' {
		// Exactly one whitespace byte separates a raw header from the raster.
		if s.pos >= len(data) || !isPNMSpace(data[s.pos]) {
			return pnmHeader{}, errors.New("no whitespace between header and raster")
		}
		s.pos++
	}
	h.data = s.pos
	return h, nil
}

func pnmConfig(data []byte) (image.Config, error) {
	h, err := parsePNMHeader(data)
	if err != nil {
		return image.Config{}, err
	}
	return image.Config{Width: h.width, Height: h.height}, nil
}

// pnmDecode decodes a PBM or PGM to an *image.Gray and a PPM to an opaque
// *image.RGBA. Samples are scaled from 0..maxval to 0..255 with rounding.
// Its caller has already checked width*height against the pixel limit.
func pnmDecode(data []byte) (image.Image, error) {
	h, err := parsePNMHeader(data)
	if err != nil {
		return nil, err
	}
	w, ht := h.width, h.height
	if w <= 0 || ht <= 0 {
		return nil, fmt.Errorf("image is %dx%d pixels", w, ht)
	}
	channels := 1
	if h.kind == '3' || h.kind == '6' {
		channels = 3
	}
	n := w * ht * channels
	// Check the raster can possibly be there before allocating for it, so
	// that a tiny file claiming a big image costs nothing.
	var need int
	switch h.kind {
	case '1':
		need = n // one digit a pixel
	case '2', '3':
		need = 2*n - 1 // a digit and a separator a sample
	case '4':
		need = (w + 7) / 8 * ht
	case '5', '6':
		need = n
		if h.maxval > 255 {
			need = 2 * n
		}
	}
	raster := data[h.data:]
	if len(raster) < need {
		return nil, errPNMTruncated
	}
	// samples holds the raster as 0..255, before it is laid out as an image.
	samples := make([]uint8, n)
	switch h.kind {
	case '4':
		// Rows of w bits, padded to a whole byte; 1 is black.
		rowBytes := (w + 7) / 8
		for y := 0; y < ht; y++ {
			row := raster[y*rowBytes:]
			for x := 0; x < w; x++ {
				if row[x/8]&(0x80>>(x%8)) == 0 {
					samples[y*w+x] = 0xff
				}
			}
		}
	case '1':
		// ASCII '0' (white) and '1' (black); digits need no separator.
		s := pnmScanner{data: raster}
		for i := range samples {
			s.skip()
			if s.pos >= len(raster) {
				return nil, errPNMTruncated
			}
			switch raster[s.pos] {
			case '0':
				samples[i] = 0xff
			case '1':
			default:
				return nil, fmt.Errorf("unexpected byte %q in plain PBM raster", raster[s.pos])
			}
			s.pos++
		}
	case '5', '6':
		scale := pnmScale(h.maxval)
		if h.maxval < 256 {
			for i := range samples {
				v := raster[i]
				if int(v) > h.maxval {
					return nil, fmt.Errorf("sample %d exceeds maxval %d", v, h.maxval)
				}
				samples[i] = scale[v]
			}
		} else {
			for i := range samples {
				v := int(raster[2*i])<<8 | int(raster[2*i+1])
				if v > h.maxval {
					return nil, fmt.Errorf("sample %d exceeds maxval %d", v, h.maxval)
				}
				samples[i] = scale[v]
			}
		}
	case '2', '3':
		scale := pnmScale(h.maxval)
		s := pnmScanner{data: raster}
		for i := range samples {
			v, err := s.number()
			if err != nil {
				return nil, fmt.Errorf("sample %d: %w", i, err)
			}
			if v > h.maxval {
				return nil, fmt.Errorf("sample %d exceeds maxval %d", v, h.maxval)
			}
			samples[i] = scale[v]
		}
	}
	rect := image.Rect(0, 0, w, ht)
	if channels == 1 {
		return &image.Gray{Pix: samples, Stride: w, Rect: rect}, nil
	}
	img := image.NewRGBA(rect)
	for i, j := 0, 0; i < len(samples); i, j = i+3, j+4 {
		img.Pix[j], img.Pix[j+1], img.Pix[j+2], img.Pix[j+3] = samples[i], samples[i+1], samples[i+2], 0xff
	}
	return img, nil
}

// pnmScale maps every sample value 0..maxval to 0..255, rounding to nearest.
func pnmScale(maxval int) []uint8 {
	t := make([]uint8, maxval+1)
	for v := range t {
		t[v] = uint8((v*255 + maxval/2) / maxval)
	}
	return t
}

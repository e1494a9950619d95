#!/bin/sh
# Makes the gallery of docs/style.md with the command itself (run from the
# module root after `go build -o /tmp/facerec ./cmd/facerec`; the inputs come
# from `go run docs/style/gen.go`). Each run's wall time goes to
# docs/style/timings.txt.
set -e
F=${FACEREC:-/tmp/facerec}
D=docs/style
: > $D/timings.txt
run() {
	name=$1; shift
	start=$(date +%s.%N)
	$F style --content $D/content-scene.png --out $D/g-$name.png --size 256 --iterations 150 "$@" 2>/dev/null
	end=$(date +%s.%N)
	echo "$name $(echo "$end - $start" | bc) s: facerec style --content $D/content-scene.png --out $D/g-$name.png --size 256 --iterations 150 $*" >> $D/timings.txt
}
run mosaic --style $D/style-mosaic.png
run marble --style $D/style-marble.png
run stripes --style $D/style-stripes.png
run mosaic-luminance --style $D/style-mosaic.png --colour luminance
run blend --style $D/style-mosaic.png --style $D/style-marble.png --blend 0.5,0.5

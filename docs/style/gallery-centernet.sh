#!/bin/sh
# Makes the centernet gallery of docs/style.md with the command itself (run
# from the module root after `go build -o /tmp/facerec ./cmd/facerec`, with
# centernet installed: `facerec models pull centernet`). Each run's wall
# time goes to docs/style/timings-centernet.txt.
set -e
F=${FACEREC:-/tmp/facerec}
D=docs/style
: > $D/timings-centernet.txt
run() {
	name=$1; shift
	start=$(date +%s.%N)
	$F style --features centernet --content $D/content-scene.png --out $D/cn-$name.png --size 256 --iterations 150 "$@" 2>/dev/null
	end=$(date +%s.%N)
	echo "$name $(echo "$end - $start" | bc) s: facerec style --features centernet --content $D/content-scene.png --out $D/cn-$name.png --size 256 --iterations 150 $*" >> $D/timings-centernet.txt
}
run mosaic --style $D/style-mosaic.png
run marble --style $D/style-marble.png
run stripes --style $D/style-stripes.png
run mosaic-luminance --style $D/style-mosaic.png --colour luminance
run blend --style $D/style-mosaic.png --style $D/style-marble.png --blend 0.5,0.5

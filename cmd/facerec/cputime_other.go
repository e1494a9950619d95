//go:build !unix

package main

import "time"

// processCPUTime is unknown here: eval small-faces reports wall time only.
var processCPUTime func() time.Duration

package model

import "github.com/facerec/facerec/model/registry"

// Dir returns the model directory, as registry.Dir does.
//
// It is here only for LoadEmbedNet, which finds the pretrained backbone
// through it; new code should call registry.Dir. Remove it once
// LoadEmbedNet does.
func Dir() (string, error) { return registry.Dir() }

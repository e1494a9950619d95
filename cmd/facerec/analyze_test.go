package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/facerec/facerec/analysis"
)

func TestAnalysisOptions(t *testing.T) {
	for list, want := range map[string]analysis.Options{
		"none":                  {},
		"liveness":              {Liveness: true},
		"liveness, eyes":        {Liveness: true, Eyes: true},
		"pose":                  {Pose: true},
		"age-gender,expression": {AgeGender: true, Expression: true},
		"all":                   analysis.All(),
	} {
		got, err := analysisOptions(list)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("analysisOptions(%q) = %+v, %v; want %+v", list, got, err, want)
		}
	}
	if _, err := analysisOptions("liveness,age"); err == nil || !strings.Contains(err.Error(), `"age"`) {
		t.Errorf("an unknown network: %v", err)
	}
	if _, err := runCommand(t, analyzeCmd(), "", "--networks", "bogus", "x.jpg"); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("analyze --networks bogus: %v", err)
	}
	if _, err := runCommand(t, analyzeCmd(), ""); err == nil {
		t.Error("analyze without a photo succeeded")
	}
}

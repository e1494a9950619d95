package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/facerec/facerec/audit"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/photo"
	"github.com/spf13/cobra"
)

// reembedCmd describes the kept enrolment photos with another model, so a
// gallery moves to it without re-enrolling anyone.
func reembedCmd() *cobra.Command {
	var (
		pf pipelineFlags
		gf galleryFlags
		af auditFlags
	)
	cmd := &cobra.Command{
		Use:   "reembed [--model PATH]",
		Short: "Describe every kept enrolment photo with the pipeline's model (--model, else the pretrained one). JSON {model, reembedded, people, faces}",
		Long: "A gallery stores descriptors per model: re-embedding adds the new model's descriptor to each face " +
			"that lacks one, from the photo kept at enrolment (enrol with --keep-photos), and leaves the old ones, " +
			"so servers still on the old model keep working until they move. Each photo is described as at " +
			"enrolment (--enroll-jitter). Faces without a kept photo are reported: re-enrol those people.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := pf.load(cmd)
			if err != nil {
				return err
			}
			enroll, err := p.ForEnrolment(pf.enrollJitter)
			if err != nil {
				return err
			}
			gf.keepPhotos = true // photos are what it reads
			g, err := gf.open(cmd, p.Model(), true)
			if err != nil {
				return err
			}
			defer g.Close()
			log, err := af.open()
			if err != nil {
				return err
			}
			defer log.Close()
			bar := newBar(-1, "faces")
			n, err := g.Reembed(cmd.Context(), func(data []byte) ([]float32, error) {
				defer bar.Add(1)
				img, _, err := photo.Decode(bytes.NewReader(data), photo.Options{})
				if err != nil {
					return nil, fmt.Errorf("kept photo: %w", err)
				}
				f, err := enroll.Subject(cmd.Context(), img)
				if err != nil && !errors.Is(err, face.ErrAmbiguous) {
					// The photo was enrolled, so its subject was clear then:
					// the same policy picks it again.
					return nil, err
				}
				return f.Descriptor.Vector, nil
			})
			bar.Finish()
			if n > 0 {
				if lerr := cliChange(log, cmd, audit.ActionReembed, "", n); lerr != nil {
					return errors.Join(err, lerr)
				}
			}
			if err != nil && !errors.Is(err, gallery.ErrModelMismatch) {
				return fmt.Errorf("re-embedding stopped after %d faces: %w", n, err)
			}
			people, faces := g.Size()
			fmt.Fprintf(cmd.ErrOrStderr(), "re-embedded %d faces with %s\n", n, p.Model().ID())
			if jerr := json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{
				"model": p.Model().ID(), "reembedded": n, "people": people, "faces": faces,
			}); jerr != nil {
				return jerr
			}
			return err // faces without a kept photo: said, and the exit status says it too
		},
	}
	pf.register(cmd)
	pf.registerEnroll(cmd)
	gf.registerDB(cmd)
	af.register(cmd, "the re-embedding (one record: how many faces)")
	return cmd
}

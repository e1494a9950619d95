package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/facerec/facerec/analysis"
	"github.com/facerec/facerec/audit"
	"github.com/facerec/facerec/face"
	"github.com/facerec/facerec/gallery"
	"github.com/facerec/facerec/model"
	"github.com/facerec/facerec/photo"
	"github.com/facerec/facerec/recognition"
	"github.com/facerec/facerec/server"
	"github.com/spf13/cobra"
)

// galleryFlags are the options of every command that uses the gallery.
type galleryFlags struct {
	db         string
	keepPhotos bool
	keys       string
}

func (f *galleryFlags) register(cmd *cobra.Command) {
	f.registerDB(cmd)
	cmd.Flags().BoolVar(&f.keepPhotos, "keep-photos", false, "store enrolment photos too, so the gallery can be re-embedded by a later model")
}

// registerDB adds --db alone.
func (f *galleryFlags) registerDB(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.db, "db", "", "gallery `FILE|URL`: a SQLite file or a postgres:// URL (default gallery.db in $XDG_DATA_HOME/facerec or the user config dir)")
}

// registerKeys adds --keys, for the commands that use API keys.
func (f *galleryFlags) registerKeys(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.keys, "keys", "", "API keys `FILE` (default: beside the SQLite file as DB.keys.json; with PostgreSQL, keys.json in the data dir)")
}

// dataDir is where the gallery lives by default: $XDG_DATA_HOME/facerec,
// else the user config dir's facerec folder.
func dataDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "facerec"), nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the data dir (use --db): %w", err)
	}
	return filepath.Join(d, "facerec"), nil
}

// dbPath resolves --db.
func (f *galleryFlags) dbPath() (string, error) {
	if f.db != "" {
		return f.db, nil
	}
	dir, err := dataDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "gallery.db"), nil
}

// keysPath resolves --keys: beside the database file, or in the data dir
// for PostgreSQL (each API node then has its own keys file).
func (f *galleryFlags) keysPath() (string, error) {
	if f.keys != "" {
		return f.keys, nil
	}
	db, err := f.dbPath()
	if err != nil {
		return "", err
	}
	if !gallery.IsPostgresURL(db) {
		return db + ".keys.json", nil
	}
	dir, err := dataDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "keys.json"), nil
}

// openedGallery is a gallery with the store it must close.
type openedGallery struct {
	*gallery.Gallery
	store gallery.Store
}

// Close closes the store.
func (g *openedGallery) Close() error { return g.store.Close() }

// open opens the gallery for the descriptors of m; the caller closes it.
// Faces that m never described (enrolled with another model) make it fail
// with a message naming both models, unless lenient: the commands that
// only list, delete, export or re-embed work on every face.
func (f *galleryFlags) open(cmd *cobra.Command, m face.DescriptorModel, lenient bool) (*openedGallery, error) {
	return f.openWith(cmd, lenient, func(ctx context.Context, store gallery.Store) (*gallery.Gallery, error) {
		return recognition.OpenGallery(ctx, store, m, cmd.ErrOrStderr())
	})
}

// openLenient opens the gallery for commands that list, delete or export
// people and load no network: they see every face, whatever model
// described it.
func (f *galleryFlags) openLenient(cmd *cobra.Command) (*openedGallery, error) {
	return f.openWith(cmd, true, func(ctx context.Context, store gallery.Store) (*gallery.Gallery, error) {
		// The index is not searched; any model will do to open it.
		return gallery.Open(ctx, store, face.PretrainedID, model.DescriptorSize)
	})
}

// openWith opens the store --db names and the gallery over it with open.
func (f *galleryFlags) openWith(cmd *cobra.Command, lenient bool, open func(context.Context, gallery.Store) (*gallery.Gallery, error)) (*openedGallery, error) {
	db, err := f.dbPath()
	if err != nil {
		return nil, err
	}
	store, err := gallery.OpenURL(cmd.Context(), db, gallery.Options{KeepPhotos: f.keepPhotos})
	if err != nil {
		return nil, fmt.Errorf("opening the gallery: %w", err)
	}
	g, err := open(cmd.Context(), store)
	if lenient && errors.Is(err, gallery.ErrModelMismatch) && g != nil {
		err = nil
	}
	if err != nil {
		store.Close()
		if errors.Is(err, gallery.ErrModelMismatch) {
			return nil, fmt.Errorf("opening the gallery %s: %w (facerec gallery reembed, with the same --model, does that for photos enrolled with --keep-photos)", db, err)
		}
		return nil, fmt.Errorf("opening the gallery %s: %w", db, err)
	}
	return &openedGallery{Gallery: g, store: store}, nil
}

// readPhoto reads and decodes a photo file, keeping its bytes.
func readPhoto(path string) (recognition.Photo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return recognition.Photo{}, err
	}
	img, _, err := photo.Decode(bytes.NewReader(data), photo.Options{})
	if err != nil {
		return recognition.Photo{}, fmt.Errorf("%s: %w", path, err)
	}
	return recognition.Photo{Image: img, Data: data}, nil
}

func enrollCmd() *cobra.Command {
	var (
		pf      pipelineFlags
		gf      galleryFlags
		name    string
		folders string
		af      auditFlags
	)
	cmd := &cobra.Command{
		Use:   "enroll --name NAME PHOTO... | enroll --folders DIR",
		Short: "Enrol people from their photos: one JSON line {id, name, faces} per person",
		Long: "--name NAME PHOTO...: one person; the first usable photo creates them, the others add faces.\n" +
			"--folders DIR: everyone in DIR, as face_recognition's known_people: a photo Name.jpg is a person named " +
			"Name, a sub-folder Name/ is a person named Name with every photo in it (both: one person).\n\n" +
			"Each photo must show the person at its centre; a photo in which another face could as well be " +
			"the person is refused. A photo that fails is reported and skipped, the rest go on (exit status 1 " +
			"and a last line saying how many failed).",
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case folders != "" && (name != "" || len(args) > 0):
				return errors.New("--folders enrols everyone in the folder by name: give no --name and no photos with it")
			case folders == "" && len(args) == 0:
				return errors.New("give --name NAME and the photos, or --folders DIR")
			case folders == "" && strings.TrimSpace(name) == "":
				return errors.New("--name is required with photos")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var people []knownPerson
			if folders != "" {
				var err error
				if people, err = knownPeople(folders); err != nil {
					return err
				}
				if len(people) == 0 {
					return fmt.Errorf("%s: nobody to enrol (no Name.jpg photo and no Name/ sub-folder with photos)", folders)
				}
			} else {
				people = []knownPerson{{name, args}}
			}
			// The gallery's rule, checked before the models take seconds to load.
			for i, p := range people {
				n, err := gallery.CleanName(p.name)
				if err != nil {
					reason := strings.TrimPrefix(err.Error(), gallery.ErrInvalid.Error()+": ")
					if folders == "" {
						return usageErrorf("--name: %s", reason)
					}
					return fmt.Errorf("%s: the name %q: %s (rename the file or folder)", folders, p.name, reason)
				}
				people[i].name = n
			}
			p, g, err := pf.loadWithGallery(cmd, &gf)
			if err != nil {
				return err
			}
			defer g.Close()
			if err := pf.loadQuality(cmd); err != nil {
				return err
			}
			svc, err := pf.service(p, g)
			if err != nil {
				return err
			}
			log, err := af.open()
			if err != nil {
				return err
			}
			defer log.Close()
			return enrollPeople(cmd, svc, people, log)
		},
	}
	pf.register(cmd)
	pf.registerEnroll(cmd)
	pf.registerQuality(cmd, true, false)
	gf.register(cmd)
	cmd.Flags().StringVar(&name, "name", "", "the person's `NAME` (with their photos)")
	cmd.Flags().StringVar(&folders, "folders", "", "enrol everyone in `DIR`: Name.jpg photos and Name/ sub-folders of photos")
	af.register(cmd, "each enrolment and added face")
	return cmd
}

// enrollPeople enrols each person from their photos, one JSON line per
// person enrolled; a photo that fails is reported on stderr and the rest
// go on. Each enrolment and added face goes to log (nil: none); one that
// cannot be logged stops the command.
func enrollPeople(cmd *cobra.Command, svc *recognition.Service, people []knownPerson, log *audit.Log) error {
	stderr := cmd.ErrOrStderr()
	total := 0
	for _, p := range people {
		total += len(p.photos)
	}
	bar := newPhotoBar(total, "photos")
	report := func(err error) {
		bar.clear()
		fmt.Fprintln(stderr, "facerec:", err)
	}
	out := json.NewEncoder(cmd.OutOrStdout())
	failed, nobody := 0, 0
	for _, kp := range people {
		if len(kp.photos) == 0 {
			report(fmt.Errorf("%s: no photo to enrol (an empty folder?)", kp.name))
			nobody++
			continue
		}
		var person *gallery.Person
		var warnings []qualityWarning
		for _, path := range kp.photos {
			ph, err := readPhoto(path)
			if err == nil {
				ph.OnQuality = func(q analysis.Quality) {
					if !q.OK {
						warnings = append(warnings, qualityWarning{Photo: path, Reasons: q.Reasons})
					}
				}
				var np gallery.Person
				action := audit.ActionEnroll
				if person == nil {
					np, err = svc.Enroll(cmd.Context(), kp.name, nil, ph)
				} else {
					action = audit.ActionAddFace
					np, err = svc.AddFace(cmd.Context(), person.ID, ph)
				}
				switch {
				case err == nil:
					person = &np
					if err := cliChange(log, cmd, action, np.ID, 0); err != nil {
						return err
					}
					if n := len(warnings); n > 0 && warnings[n-1].Photo == path {
						report(fmt.Errorf("%s: warning: %v: %s (enrolled anyway: --quality warn)", path, recognition.ErrPoorQuality, strings.Join(warnings[n-1].Reasons, ", ")))
					}
				case errors.Is(err, recognition.ErrPoorQuality):
					warnings = slices.DeleteFunc(warnings, func(w qualityWarning) bool { return w.Photo == path })
					err = fmt.Errorf("%s: %w (refused: --quality refuse; --quality warn enrols it anyway)", path, err)
				default:
					err = fmt.Errorf("%s: %w", path, err)
				}
			}
			if err != nil {
				if cmd.Context().Err() != nil {
					return cmd.Context().Err()
				}
				report(err)
				failed++
			}
			bar.add()
		}
		if person == nil {
			if len(people) > 1 {
				report(fmt.Errorf("%s: not enrolled: none of their photos could be used", kp.name))
			}
			nobody++
			continue
		}
		if err := out.Encode(enrolled{*person, warnings}); err != nil {
			return err
		}
	}
	if nobody == len(people) {
		if len(people) == 1 {
			return partial(failed, failed, "photos")
		}
		return fmt.Errorf("nobody enrolled: all %d photos failed", total)
	}
	switch {
	case failed == 0 && nobody == 0:
		return nil
	case len(people) == 1:
		return partial(failed, total, "photos")
	}
	msg := fmt.Sprintf("partial success: %d of %d people enrolled", len(people)-nobody, len(people))
	if failed > 0 {
		msg += fmt.Sprintf("; %d of %d photos failed (named above)", failed, total)
	}
	return errors.New(msg)
}

// qualityWarning is a photo enrolled in spite of its quality (--quality
// warn).
type qualityWarning struct {
	Photo   string   `json:"photo"`
	Reasons []string `json:"reasons"`
}

// enrolled is enroll's line: the person as stored, and the photos
// enrolled with a quality warning.
type enrolled struct {
	gallery.Person
	QualityWarnings []qualityWarning `json:"quality_warnings,omitempty"`
}

func identifyCmd() *cobra.Command {
	var (
		pf     pipelineFlags
		gf     galleryFlags
		k      int
		format formatFlag
	)
	cmd := &cobra.Command{
		Use:   "identify PHOTO|DIR...",
		Short: "Who is in each photo? One JSON line per photo: {photo, faces: [{box, match|null, candidates}]}",
		Long: "A folder stands for the photos under it, recursively (by their extension). A photo that fails is " +
			"reported and skipped, the rest go on (exit status 1 and a last line saying how many failed).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if k < 1 {
				return usageErrorf("--k must be at least 1, got %d", k)
			}
			if err := format.check(); err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			files, problems := expandPhotos(args, stderr)
			for _, err := range problems {
				fmt.Fprintln(stderr, "facerec:", err)
			}
			total, what := len(files)+len(problems), "photos"
			if len(problems) > 0 {
				what = "inputs" // a path that gave no photo is one too
			}
			if len(files) == 0 {
				return partial(len(problems), total, what)
			}
			p, g, err := pf.loadWithGallery(cmd, &gf)
			if err != nil {
				return err
			}
			defer g.Close()
			if err := pf.loadLiveness(cmd); err != nil {
				return err
			}
			if err := pf.loadQuality(cmd); err != nil {
				return err
			}
			svc, err := pf.service(p, g)
			if err != nil {
				return err
			}
			bar := newPhotoBar(len(files), "photos")
			w := newIdentifyWriter(format.name, cmd.OutOrStdout())
			failed := len(problems)
			for _, path := range files {
				ph, err := readPhoto(path)
				var res []recognition.FaceResult
				if err == nil {
					if res, err = svc.Identify(cmd.Context(), ph.Image, k); err != nil {
						err = fmt.Errorf("%s: %w", path, err)
					}
				}
				if err == nil {
					err = w.write(path, res)
				} else if cmd.Context().Err() == nil {
					bar.clear()
					fmt.Fprintln(stderr, "facerec:", err)
					failed++
					err = nil
				}
				if err != nil {
					return err
				}
				bar.add()
			}
			return partial(failed, total, what)
		},
	}
	pf.register(cmd)
	gf.registerDB(cmd)
	format.register(cmd)
	cmd.Flags().IntVar(&k, "k", 3, "candidates to list per face")
	pf.registerDecision(cmd)
	pf.registerLiveness(cmd)
	pf.registerQuality(cmd, false, true)
	return cmd
}

func peopleCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "people", Short: "List and remove enrolled people"}
	var lf galleryFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "One JSON line per enrolled person, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			g, err := lf.openLenient(cmd)
			if err != nil {
				return err
			}
			defer g.Close()
			out := json.NewEncoder(cmd.OutOrStdout())
			const page = 1000
			for offset := 0; ; offset += page {
				people, total, err := g.People(cmd.Context(), page, offset)
				if err != nil {
					return err
				}
				for _, p := range people {
					if err := out.Encode(p); err != nil {
						return err
					}
				}
				if len(people) < page || offset+page >= total {
					return nil
				}
			}
		},
	}
	lf.registerDB(list)
	var (
		rf  galleryFlags
		raf auditFlags
	)
	rm := &cobra.Command{
		Use:   "rm ID...",
		Short: "Remove people with all their faces (and photos)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := rf.openLenient(cmd)
			if err != nil {
				return err
			}
			defer g.Close()
			log, err := raf.open()
			if err != nil {
				return err
			}
			defer log.Close()
			failed := false
			for _, id := range args {
				if err := g.DeletePerson(cmd.Context(), id); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "facerec: %s: %v\n", id, err)
					failed = true
					continue
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "removed %s\n", id)
				if err := cliChange(log, cmd, audit.ActionDelete, id, 0); err != nil {
					return err
				}
			}
			if failed {
				return errReported
			}
			return nil
		},
	}
	rf.registerDB(rm)
	raf.register(rm, "each deletion")
	cmd.AddCommand(list, rm)
	return cmd
}

func galleryCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "gallery", Short: "Export, import and re-embed the gallery"}
	var (
		ef, imf       galleryFlags
		efile, imfile string
		imodel        string
		iaf           auditFlags
	)
	export := &cobra.Command{
		Use:   "export",
		Short: "Write every person with their faces as JSON lines (stdout, or --file)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			g, err := ef.openLenient(cmd)
			if err != nil {
				return err
			}
			defer g.Close()
			var w io.Writer = cmd.OutOrStdout()
			if efile != "" {
				f, err := os.OpenFile(efile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
				if err != nil {
					return err
				}
				defer func() {
					if cerr := f.Close(); err == nil && cerr != nil {
						err = cerr
					}
				}()
				w = f
			}
			return g.Export(cmd.Context(), w)
		},
	}
	ef.registerDB(export)
	export.Flags().StringVar(&efile, "file", "", "write to `FILE` instead of stdout (created 0600: descriptors are biometric data)")
	imp := &cobra.Command{
		Use:   "import",
		Short: "Read people with their faces as JSON lines from `gallery export` (stdin, or --file)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := loadDescriptor(cmd, imodel)
			if err != nil {
				return err
			}
			g, err := imf.open(cmd, m, true)
			if err != nil {
				return err
			}
			defer g.Close()
			var r io.Reader = cmd.InOrStdin()
			if imfile != "" {
				f, err := os.Open(imfile)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			log, err := iaf.open()
			if err != nil {
				return err
			}
			defer log.Close()
			n, err := g.Import(cmd.Context(), r)
			fmt.Fprintf(cmd.ErrOrStderr(), "imported %d people\n", n)
			if n > 0 {
				if lerr := cliChange(log, cmd, audit.ActionImport, "", n); lerr != nil {
					return errors.Join(err, lerr)
				}
			}
			if err != nil {
				return fmt.Errorf("import stopped after %d people: %w", n, err)
			}
			return nil
		},
	}
	imf.register(imp)
	imp.Flags().StringVar(&imfile, "file", "", "read `FILE` instead of stdin")
	registerModel(imp, &imodel)
	iaf.register(imp, "the import (one record: how many people)")
	cmd.AddCommand(export, imp, reembedCmd(), galleryBackupCmd())
	return cmd
}

// galleryBackupCmd is `facerec gallery backup OUT`.
func galleryBackupCmd() *cobra.Command {
	var f galleryFlags
	cmd := &cobra.Command{
		Use:   "backup OUT",
		Short: "Write a consistent copy of the SQLite gallery to the new file OUT, while it is in use. JSON {backup, people, bytes}",
		Long: "The copy (SQLite's VACUUM INTO) is one snapshot: every enrolment or deletion made meanwhile is wholly in it or not at all. " +
			"It is compacted, keeps no trace of deleted people, and is created 0600. To restore: stop the servers, remove the " +
			"gallery's -wal and -shm files, and put the copy in the gallery file's place (or point --db at it). " +
			"For PostgreSQL use pg_dump.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := f.dbPath()
			if err != nil {
				return err
			}
			if gallery.IsPostgresURL(db) {
				return errors.New("gallery backup copies a SQLite gallery; back up PostgreSQL with pg_dump")
			}
			if _, err := os.Stat(db); err != nil {
				return fmt.Errorf("no gallery to back up: %w", err)
			}
			store, err := gallery.OpenSQLite(db, gallery.Options{})
			if err != nil {
				return fmt.Errorf("opening the gallery: %w", err)
			}
			defer store.Close()
			people, err := store.Backup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			st, err := os.Stat(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "backed up %s to %s\n", db, args[0])
			return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"backup": args[0], "people": people, "bytes": st.Size()})
		},
	}
	f.registerDB(cmd)
	return cmd
}

func keysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the API keys of `facerec serve`",
		Long: "Keys are stored hashed (SHA-256) in a keys file beside the gallery; the key itself is shown once, " +
			"at creation. FACEREC_API_KEY, when set, is a further key with full access.",
	}
	var (
		cf    galleryFlags
		scope string
	)
	create := &cobra.Command{
		Use:   "create --scope recognize|full",
		Short: "Create a key and print it once: JSON {key, id, scope}",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := server.ParseScope(scope)
			if err != nil {
				return err
			}
			path, err := cf.keysPath()
			if err != nil {
				return err
			}
			key, info, err := server.CreateKey(path, sc)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "created a %s key in %s; it is shown only now, so store it safely (a running server picks it up at once; restart one that ran without keys)\n", sc, path)
			return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"key": key, "id": info.ID, "scope": info.Scope})
		},
	}
	cf.registerDB(create)
	cf.registerKeys(create)
	create.Flags().StringVar(&scope, "scope", "", "`recognize|full`: identify and verify only, or everything")
	var lf galleryFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "One JSON line per key: {id, scope, created} (never the key)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := lf.keysPath()
			if err != nil {
				return err
			}
			keys, err := server.ListKeys(path)
			if err != nil {
				return err
			}
			out := json.NewEncoder(cmd.OutOrStdout())
			for _, k := range keys {
				if err := out.Encode(map[string]any{"id": k.ID, "scope": k.Scope, "created": k.Created}); err != nil {
					return err
				}
			}
			return nil
		},
	}
	lf.registerDB(list)
	lf.registerKeys(list)
	var rf galleryFlags
	rm := &cobra.Command{
		Use:   "rm ID",
		Short: "Revoke a key by its id (or a unique prefix of it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := rf.keysPath()
			if err != nil {
				return err
			}
			k, err := server.RevokeKey(path, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "revoked %s key %s\n", k.Scope, k.ID)
			return nil
		},
	}
	rf.registerDB(rm)
	rf.registerKeys(rm)
	cmd.AddCommand(create, list, rm)
	return cmd
}

package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/facerec/facerec/server"
	"github.com/spf13/cobra"
)

func serveCmd() *cobra.Command {
	var (
		pf        pipelineFlags
		gf        galleryFlags
		addr      string
		logFormat string
		debug     bool
		cfg       server.Config
		analyze   string
		explain   bool
		rate      string
		af        auditFlags
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP API (enrol, identify, verify) until SIGINT or SIGTERM",
		Long: "Keys: FACEREC_API_KEY (full access) and the keys made with `facerec keys create`. " +
			"With no key at all, every request is allowed and only a loopback --addr is accepted.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var h slog.Handler
			opts := &slog.HandlerOptions{Level: slog.LevelInfo}
			if debug {
				opts.Level = slog.LevelDebug
			}
			switch logFormat {
			case "text":
				h = slog.NewTextHandler(cmd.ErrOrStderr(), opts)
			case "json":
				h = slog.NewJSONHandler(cmd.ErrOrStderr(), opts)
			default:
				return fmt.Errorf("--log-format must be text or json, got %q", logFormat)
			}
			cfg.Logger = slog.New(h)
			keysPath, err := gf.keysPath()
			if err != nil {
				return err
			}
			if cfg.RateLimit, err = server.ParseRate(rate); err != nil {
				return fmt.Errorf("--rate-limit: %w", err)
			}
			if cfg.Keys, err = server.NewKeys(os.Getenv("FACEREC_API_KEY"), keysPath); err != nil {
				return err
			}
			// Refuse a bad address before the models take seconds to load.
			if err := server.CheckAddr(addr, cfg.Keys); err != nil {
				return err
			}
			if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
				return fmt.Errorf("--tls-cert and --tls-key go together: give both, or neither for plain HTTP")
			}
			if cfg.TLSCertFile != "" {
				if _, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
					return fmt.Errorf("--tls-cert/--tls-key: %w", err)
				}
			}
			p, g, err := pf.loadWithGallery(cmd, &gf)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "models verified; descriptor model %s\n", p.Model().ID())
			defer g.Close()
			if err := pf.loadLiveness(cmd); err != nil {
				return err
			}
			if err := pf.loadQuality(cmd); err != nil {
				return err
			}
			if cfg.Service, err = pf.service(p, g); err != nil {
				return err
			}
			if cfg.Analysis, err = serverAnalysis(cmd, analyze, p); err != nil {
				return err
			}
			if explain {
				// A trained checkpoint or face-api's crop cannot be
				// explained; the server still serves it, without ?explain=1.
				if cfg.Explainer, err = server.NewExplainer(p); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "facerec: note: explanations (?explain=1) are off: %v\n", err)
				}
			}
			if cfg.Audit, err = af.open(); err != nil {
				return err
			}
			defer cfg.Audit.Close()
			s, err := server.New(cfg)
			if err != nil {
				return err
			}
			return s.ListenAndServe(ctx, addr)
		},
	}
	pf.register(cmd)
	pf.registerEnroll(cmd)
	gf.register(cmd)
	gf.registerKeys(cmd)
	fl := cmd.Flags()
	fl.StringVar(&addr, "addr", "127.0.0.1:8080", "listen on `HOST:PORT`")
	fl.StringVar(&logFormat, "log-format", "text", "log format on stderr: `text|json`")
	fl.BoolVar(&debug, "debug", false, "log health checks and metric scrapes too")
	pf.registerDecision(cmd)
	pf.registerLiveness(cmd)
	pf.registerQuality(cmd, true, true)
	fl.Int64Var(&cfg.MaxBodyBytes, "max-body", server.DefaultMaxBodyBytes, "largest request body, in bytes")
	fl.IntVar(&cfg.MaxPixels, "max-pixels", server.DefaultMaxPixels, "largest photo, in pixels (width×height)")
	fl.DurationVar(&cfg.RequestTimeout, "timeout", server.DefaultRequestTimeout, "time limit of one request")
	fl.IntVar(&cfg.Concurrency, "concurrency", 0, "photos recognised at once (default GOMAXPROCS)")
	fl.DurationVar(&cfg.QueueWait, "queue-wait", server.DefaultQueueWait, "how long a photo waits for a free slot before 503 busy")
	fl.BoolVar(&cfg.Thumbnails, "thumbnails", false, "keep a small face thumbnail of each new person (shown in the people list; stored with the person, exported with them)")
	fl.IntVar(&cfg.HistorySize, "history", server.DefaultHistorySize, "recent door decisions kept in memory for the page (negative: none)")
	fl.StringVar(&analyze, "analysis", "off", "enable POST /v1/analyze with these networks (as analyze --networks; none: quality and pose only; off: no endpoint) (`LIST`)")
	af.register(cmd, "every identification and verification decision and every change to the gallery, each written before the answer,")
	af.registerSync(cmd)
	fl.BoolVar(&explain, "explain", true, "let /v1/verify and /v1/compare explain a decision with ?explain=1 (heatmaps over photo A; costs about one more recognition in the request's slot)")
	fl.StringVar(&rate, "rate-limit", "off", "requests a second each API key may make on average, e.g. 5/s or 300/m (`RATE`; off: no limit; over it: 429 with Retry-After)")
	fl.IntVar(&cfg.RateBurst, "rate-burst", 0, "requests a key may make at once under --rate-limit (default twice the rate a second, at least 1)")
	fl.StringVar(&cfg.TLSCertFile, "tls-cert", "", "serve HTTPS with this PEM certificate (chain) `FILE` (with --tls-key)")
	fl.StringVar(&cfg.TLSKeyFile, "tls-key", "", "the PEM private key `FILE` of --tls-cert")
	return cmd
}

// Package browsertest runs the web page's end-to-end tests in a real
// headless Chromium, driven through the DevTools protocol by chromedp.
//
// Chromium is found as $FACEREC_CHROMIUM or on PATH (Debian's package is
// "chromium"). When it is missing the test is skipped, unless
// FACEREC_REQUIRE_SHARED=1 (set by CI), which turns the skip into a failure
// so that a broken install cannot pass as a green run.
//
// The webcam is Chromium's fake capture device playing a video file that
// the test writes (see WriteY4M), so the page's getUserMedia path runs
// exactly as with a real camera.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/facerec/facerec/internal/sharedtest"
)

// ExecPathEnv names an environment variable holding the browser to run,
// for machines where it is not on PATH under a usual name.
const ExecPathEnv = "FACEREC_CHROMIUM"

// ShotsEnv names an environment variable holding a folder where Screenshot
// also writes its PNGs, for a person to look at; tests always write theirs
// to a temporary folder too.
const ShotsEnv = "FACEREC_SCREENSHOTS"

// ExecPath finds Chromium: $FACEREC_CHROMIUM, else the first of chromium,
// chromium-browser, google-chrome-stable and google-chrome on PATH.
func ExecPath() (string, error) {
	if p := os.Getenv(ExecPathEnv); p != "" {
		full, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("browsertest: $%s=%s: %w", ExecPathEnv, p, err)
		}
		return full, nil
	}
	names := []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("browsertest: none of %s on PATH (Debian: apt-get install chromium; or set $%s)",
		strings.Join(names, ", "), ExecPathEnv)
}

// Options configures a browser.
type Options struct {
	// Camera is a video file (.y4m or .mjpeg) that the fake webcam plays
	// in a loop. Empty means the browser has no camera at all, so
	// getUserMedia fails as on a machine without one.
	Camera string
	// Width and Height are the window's size in CSS pixels (default
	// 1280×1000).
	Width, Height int
}

// Start launches headless Chromium with a fresh profile and returns the
// context of its first tab. The browser is closed when the test ends.
// Uncaught JavaScript exceptions and Content-Security-Policy violations in
// the page fail the test; other console messages are logged with t.Logf.
// In -short mode the test is skipped: a browser takes seconds to start.
func Start(t testing.TB, opt Options) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	exe, err := ExecPath()
	sharedtest.Need(t, "chromium", err)
	if opt.Width == 0 {
		opt.Width = 1280
	}
	if opt.Height == 0 {
		opt.Height = 1000
	}
	flags := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(opt.Width, opt.Height),
		// Nothing but the test server may be reached, and no background
		// traffic may slow or disturb the run.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		// Containers often have a tiny /dev/shm, which crashes the renderer.
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		// Ticks keep running at full rate in a headless, "hidden" tab.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("force-color-profile", "srgb"),
		// Grant the camera without a prompt.
		chromedp.Flag("use-fake-ui-for-media-stream", true),
	}
	if opt.Camera != "" {
		if _, err := os.Stat(opt.Camera); err != nil {
			t.Fatalf("browsertest: camera file: %v", err)
		}
		flags = append(flags,
			chromedp.Flag("use-fake-device-for-media-stream", true),
			chromedp.Flag("use-file-for-fake-video-capture", opt.Camera),
		)
	}
	var output tail
	flags = append(flags, chromedp.CombinedOutput(&output))

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), flags...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	console := chromedp.Console(ctx)
	if err := chromedp.Do(ctx); err != nil { // starts the browser and opens the tab
		cancel()
		cancelAlloc()
		t.Fatalf("browsertest: starting %s: %v\nbrowser output:\n%s", exe, err, output.String())
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	done := false
	wg.Go(func() {
		for m, err := range console {
			if err != nil {
				return // the context ended
			}
			mu.Lock()
			if !done {
				switch {
				case m.Type == chromedp.ConsoleException:
					t.Errorf("browser: uncaught exception: %s (%s:%d)", m.Text, m.URL, m.Line)
				case strings.Contains(m.Text, "Content Security Policy"):
					// The page broke its own policy: something it needs
					// is blocked.
					t.Errorf("browser: %s", m.Text)
				default:
					t.Logf("browser console.%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line)
				}
			}
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		// No more logging: t must not be used once the test has ended.
		mu.Lock()
		done = true
		mu.Unlock()
		cancel()
		cancelAlloc()
		wg.Wait()
		if t.Failed() {
			t.Logf("browser output (tail):\n%s", output.String())
		}
	})
	return ctx
}

// WaitText waits until the text of the element matching the CSS selector
// sel contains want, and returns that text. On timeout the error holds the
// element's last text, which usually says what went wrong instead (an
// error message on the page, say).
func WaitText(ctx context.Context, sel, want string, timeout time.Duration) (string, error) {
	const fn = `(sel, want) => {
		const el = document.querySelector(sel);
		const text = el ? el.textContent : "";
		return text.includes(want) ? text : false;
	}`
	tctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	got, err := chromedp.Run(tctx, chromedp.PollFunction[string](fn,
		chromedp.WithPollingArgs(sel, want),
		chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(timeout)))
	if err == nil {
		return got, nil
	}
	last, lerr := chromedp.Run(ctx, chromedp.Evaluate[string](
		fmt.Sprintf(`(document.querySelector(%q) || {textContent: "(no such element)"}).textContent`, sel)))
	if lerr != nil {
		last = "(unreadable: " + lerr.Error() + ")"
	}
	return "", fmt.Errorf("waiting %v for %q in %s: %w; its text is %q", timeout, want, sel, err, strings.TrimSpace(last))
}

// Screenshot captures the whole page as a PNG into the test's temporary
// folder (and into $FACEREC_SCREENSHOTS when set) and returns its path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("browsertest: screenshot: %v", err)
	}
	p := filepath.Join(t.TempDir(), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatalf("browsertest: screenshot: %v", err)
	}
	if dir := os.Getenv(ShotsEnv); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Errorf("browsertest: screenshot into $%s: %v", ShotsEnv, err)
		}
	}
	return p
}

// ScreenshotOf captures the element matching the CSS selector sel as a
// PNG, as Screenshot does the whole page: a small picture of one state of
// one part of the page.
func ScreenshotOf(t testing.TB, ctx context.Context, name, sel string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("browsertest: screenshot of %s: %v", sel, err)
	}
	p := filepath.Join(t.TempDir(), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatalf("browsertest: screenshot: %v", err)
	}
	if dir := os.Getenv(ShotsEnv); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Errorf("browsertest: screenshot into $%s: %v", ShotsEnv, err)
		}
	}
	return p
}

// AcceptDialogs accepts every alert, confirm and prompt the page opens
// from now until ctx ends, as a person clicking OK would. Without it a
// confirm blocks the page, and with it the click that opened it.
func AcceptDialogs(ctx context.Context) {
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return // the context ended
			}
			// An error here means the tab is gone; the waiting test
			// action fails and says so.
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
}

// tail keeps the last few KiB of the browser's output, for failures.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 8 << 10

func (b *tail) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > tailSize {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-tailSize:]...)
	}
	return len(p), nil
}

func (b *tail) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

package examples_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// Driving a headless Chromium for the tests that load an example's page
// (TestChatInBrowser, TestArenaInBrowser).

// findChromium returns a Chromium to drive, or skips the test when none can
// be had (.ci/run installs Debian's chromium when it is missing).
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium installed (.ci/run installs the chromium package): skipping the real-browser test")
	return ""
}

// skipShort skips a browser test under -short: a browser takes both cores
// of a small machine for seconds, which starves the timing-sensitive tests
// that go test runs in parallel with it. .ci/run runs these alone.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped with -short (a browser would starve the tests running beside it); .ci/run runs it alone: go test -run InBrowser ./examples")
	}
}

// start is when the running browser test began (for the step timings).
var start time.Time

// step logs how far into the test a step was done.
func step(t *testing.T, what string) {
	t.Helper()
	t.Logf("%6.2fs  %s", time.Since(start).Seconds(), what)
}

// openBrowser starts chromium headless and returns a tab in it, loaded
// with url. The browser lives until the test ends.
func openBrowser(t *testing.T, chromium, url string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(900, 640),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	// The first Run starts the browser, which lives as long as this context.
	tab, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(cancelTab)
	// (WaitVisible can hang with this Chromium; a poll on the DOM cannot.)
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		t.Fatalf("loading %s: %v", url, err)
	}
	step(t, "browser started, page loaded")
	return tab
}

// waitFor polls a JS predicate on tab until it holds.
func waitFor(t *testing.T, tab context.Context, what, pred string) {
	t.Helper()
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](pred, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		status, _ := chromedp.Run(tab, chromedp.Text(`#status`))
		t.Fatalf("page never showed %s (status %q): %v", what, status, err)
	}
	step(t, "page showed "+what)
}

// key is a key of the keyboard as the DevTools protocol names it.
type key struct {
	key, code, text string
	vk              int64 // Windows virtual key code, which Chromium maps to the key
}

var (
	keyArrowRight = key{key: "ArrowRight", code: "ArrowRight", vk: 39}
	keyS          = key{key: "s", code: "KeyS", text: "s", vk: 83}
)

// press holds k down (as a user does, until release): the page sees a
// keydown on whatever has the focus.
func press(t *testing.T, tab context.Context, k key) {
	t.Helper()
	dispatchKey(t, tab, input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: k.key, Code: k.code, Text: k.text, WindowsVirtualKeyCode: k.vk, NativeVirtualKeyCode: k.vk})
}

// release lets k up.
func release(t *testing.T, tab context.Context, k key) {
	t.Helper()
	dispatchKey(t, tab, input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: k.key, Code: k.code, WindowsVirtualKeyCode: k.vk, NativeVirtualKeyCode: k.vk})
}

// dispatchKey sends one key event. (chromedp.KeyEvent would press and
// release at once, too fast for a page that polls its held keys.)
func dispatchKey(t *testing.T, tab context.Context, p input.DispatchKeyEventParams) {
	t.Helper()
	err := chromedp.Do(tab, chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := cdp.Call(ctx, target, input.DispatchKeyEvent, p)
		return err
	}))
	if err != nil {
		t.Fatalf("key %s %s: %v", p.Type, p.Key, err)
	}
}

// screenshot saves what tab shows as name in the test's temp dir, and to
// the file $env names when it is set.
func screenshot(t *testing.T, tab context.Context, name, env string) {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if p := os.Getenv(env); p != "" {
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Errorf("%s: %v", env, err)
		}
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))
}

package examples_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/simpleserver-go/simpleserver"
	"github.com/simpleserver-go/simpleserver/proto"
)

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

// pageLine is one line of the chat page's log as the page shows it.
type pageLine struct {
	Class string `json:"class"`
	From  string `json:"from"`
	Body  string `json:"body"`
}

// readLog is what the page shows in #log, line by line.
const readLog = `[...document.querySelectorAll('#log li')].map(li => ({
	class: li.className,
	from: li.querySelector('.from').textContent,
	body: li.childNodes[1] ? li.childNodes[1].textContent : '',
}))`

// shows is a JS predicate: some log line has this body.
func shows(body string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#log li')].some(li => li.childNodes[1] && li.childNodes[1].textContent === %q)`, body)
}

// start is when the running browser test began (for the step timings).
var start time.Time

// waitFor polls a JS predicate on tab until it holds.
func waitFor(t *testing.T, tab context.Context, what, pred string) {
	t.Helper()
	defer func() { t.Logf("%6.2fs  page showed %s", time.Since(start).Seconds(), what) }()
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](pred, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		status, _ := chromedp.Run(tab, chromedp.Text(`#status`))
		t.Fatalf("page never showed %s (status %q): %v", what, status, err)
	}
}

// say puts body in the page's input and clicks Send with the mouse. (Not
// SendKeys: its key events hang with this headless Chromium.)
func say(t *testing.T, tab context.Context, body string) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.SetValue(`#text`, body), chromedp.Click(`#send`)); err != nil {
		t.Fatalf("typing %q: %v", body, err)
	}
}

// receiveBody waits for a message with this body on c, skipping the room's
// join/leave notices, and returns it.
func receiveBody(t *testing.T, c *simpleserver.SimpleClient, body string) *proto.Message {
	t.Helper()
	for {
		m := receive(t, c)
		if from, _ := m.HeaderString("from"); from == "server" {
			continue
		}
		if m.BodyString() != body {
			t.Fatalf("TCP client got %q, want %q", m.BodyString(), body)
		}
		return m
	}
}

// TestChatInBrowser loads examples/chat's page in headless Chromium, from
// the address the chat room listens on, and chats: with a Go TCP client
// (examples/chat-client's side) and with a second browser context. It
// asserts on what the page shows and saves a screenshot to the test's temp
// dir (and to $CHAT_SCREENSHOT when set).
//
// It is skipped with -short: a browser takes both cores of a small machine
// for seconds, which starves the timing-sensitive tests that go test runs
// in parallel with it. .ci/run runs it in a step of its own.
func TestChatInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short (a browser would starve the tests running beside it); .ci/run runs it alone: go test -run TestChatInBrowser ./examples")
	}
	chromium := findChromium(t)
	start = time.Now()
	port := startServer(t, "chat")
	t.Logf("%6.2fs  chat server built and listening", time.Since(start).Seconds())
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(900, 640),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	// The first Run starts the browser, which lives as long as this context.
	tabA, cancelA := chromedp.NewContext(actx)
	defer cancelA()

	// (WaitVisible can hang with this Chromium; a poll on the DOM cannot.)
	if err := chromedp.Do(tabA, chromedp.Navigate(url)); err != nil {
		t.Fatalf("loading %s: %v", url, err)
	}
	t.Logf("%6.2fs  browser started, page loaded", time.Since(start).Seconds())
	waitFor(t, tabA, `"connected"`, `document.querySelector('#status').textContent === 'connected'`)
	sub, err := chromedp.Run(tabA, chromedp.Evaluate[string](`import('./simpleserver.js').then(m => m.SUBPROTOCOL)`, chromedp.EvalAwaitPromise))
	if err != nil || sub != "simpleserver.v1" {
		t.Errorf("the page's module: SUBPROTOCOL %q, %v", sub, err)
	}

	// A TCP client joins: the page hears about it, then hears it speak.
	tcp := connect(t, port)
	waitFor(t, tabA, "the TCP client's join notice", `[...document.querySelectorAll('#log li.server')].some(li => li.textContent.endsWith(' joined'))`)
	if err := tcp.Send(simpleserver.NewMessage().SetBodyString("hello from tcp")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tabA, "the TCP client's message", shows("hello from tcp"))

	// The page speaks; the TCP client hears it, from the browser's address.
	say(t, tabA, "hello from browser A")
	m := receiveBody(t, tcp, "hello from browser A")
	fromA, _ := m.HeaderString("from")
	if !strings.HasPrefix(fromA, "127.0.0.1:") {
		t.Errorf("the browser's message came from %q, want its 127.0.0.1 address", fromA)
	}

	// A second browser, in its own context (its own profile and connection).
	tabB, cancelB := chromedp.NewContext(tabA, chromedp.WithNewBrowserContext())
	defer cancelB()
	if err := chromedp.Do(tabB, chromedp.Navigate(url)); err != nil {
		t.Fatalf("second browser: %v", err)
	}
	waitFor(t, tabB, `"connected" in the second browser`, `document.querySelector('#status').textContent === 'connected'`)
	say(t, tabB, "hello from browser B")
	waitFor(t, tabA, "the second browser's message", shows("hello from browser B"))
	mB := receiveBody(t, tcp, "hello from browser B")
	if fromB, _ := mB.HeaderString("from"); fromB == fromA || !strings.HasPrefix(fromB, "127.0.0.1:") {
		t.Errorf("second browser's message from %q (first browser: %q)", fromB, fromA)
	}

	// One more from TCP reaches both pages.
	if err := tcp.Send(simpleserver.NewMessage().SetBodyString("bye, both of you")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tabA, "the last message", shows("bye, both of you"))
	waitFor(t, tabB, "the last message in the second browser", shows("bye, both of you"))

	// What page A shows, line by line, apart from notices.
	lines, err := chromedp.Run(tabA, chromedp.Evaluate[[]pageLine](readLog))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range lines {
		if l.Class != "server" {
			got = append(got, l.Class+"|"+l.From+"|"+l.Body)
		}
	}
	tcpAddr := lineFrom(lines, "hello from tcp")
	want := []string{
		"|" + tcpAddr + "|hello from tcp",
		"mine|me|hello from browser A",
		"|" + lineFrom(lines, "hello from browser B") + "|hello from browser B",
		"|" + tcpAddr + "|bye, both of you",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || !strings.HasPrefix(tcpAddr, "127.0.0.1:") {
		t.Errorf("page A shows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rtt, _ := chromedp.Run(tabA, chromedp.Text(`#rtt`)); !strings.HasPrefix(rtt, "rtt ") {
		t.Errorf("the page shows no ping round trip: %q", rtt)
	}

	png, err := chromedp.Run(tabA, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(t.TempDir(), "chat.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if p := os.Getenv("CHAT_SCREENSHOT"); p != "" {
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Errorf("CHAT_SCREENSHOT: %v", err)
		}
	}
	t.Logf("screenshot of the chat page: %s (%d bytes)", shot, len(png))
}

// lineFrom returns the sender the page shows for the line with this body.
func lineFrom(lines []pageLine, body string) string {
	for _, l := range lines {
		if l.Body == body {
			return l.From
		}
	}
	return ""
}

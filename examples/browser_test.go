package examples_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/simpleserver-go/simpleserver"
	"github.com/simpleserver-go/simpleserver/proto"
)

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
// It is skipped with -short (see skipShort); .ci/run runs it in a step of
// its own.
func TestChatInBrowser(t *testing.T) {
	skipShort(t)
	chromium := findChromium(t)
	start = time.Now()
	port := startServer(t, "chat")
	step(t, "chat server built and listening")
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	tabA := openBrowser(t, chromium, url)
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

	screenshot(t, tabA, "chat.png", "CHAT_SCREENSHOT")
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

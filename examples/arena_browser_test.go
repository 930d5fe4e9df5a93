package examples_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/simpleserver-go/simpleserver"
	"github.com/simpleserver-go/simpleserver/proto"
)

// arenaPlayer is a player as the arena page holds it (window.__arena):
// where it is and how far it moved since its previous position.
type arenaPlayer struct {
	X, Y, DX, DY float64 // float64: what JSON and JavaScript say, exactly
}

// arenaPlayers reads the players the page draws, by id.
func arenaPlayers(t *testing.T, tab context.Context) map[string]arenaPlayer {
	t.Helper()
	ps, err := chromedp.Run(tab, chromedp.Evaluate[map[string]arenaPlayer](`__arena.players()`))
	if err != nil {
		t.Fatalf("reading the page's players: %v", err)
	}
	return ps
}

// arenaWatcher reads everything a Go TCP player of the arena is sent (so
// that it keeps up with the 60 Hz positions) and passes on its welcome and
// the chat it hears.
type arenaWatcher struct {
	welcome chan *proto.Message
	chat    chan *proto.Message
}

func watchArena(c *simpleserver.SimpleClient) *arenaWatcher {
	w := &arenaWatcher{welcome: make(chan *proto.Message, 1), chat: make(chan *proto.Message, 64)}
	go func() {
		for {
			m, err := c.Receive(context.Background())
			if err != nil {
				return // the test closed the client
			}
			switch {
			case m.HasHeader("welcome"):
				w.welcome <- m
			case m.HasHeader("chat"):
				select {
				case w.chat <- m:
				default: // nobody listens: the bots' chat
				}
			}
		}
	}()
	return w
}

// awaitMessage waits for the message that ok accepts on ch, skipping others.
func awaitMessage(t *testing.T, ch <-chan *proto.Message, what string, ok func(*proto.Message) bool) *proto.Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-ch:
			if ok(m) {
				return m
			}
		case <-deadline:
			t.Fatalf("the TCP player never got %s", what)
			return nil
		}
	}
}

// TestArenaInBrowser plays examples/arena in headless Chromium, against
// the example's bots: the page joins an arena and draws the bots moving,
// the arrow keys and WASD steer its own player, and its chat reaches a Go
// TCP player of the same arena and back. It reads the page's state from
// window.__arena (what it draws on the canvas) and saves a screenshot to
// the test's temp dir (and to $ARENA_SCREENSHOT when set).
//
// It is skipped with -short (see skipShort); .ci/run runs it in a step of
// its own.
func TestArenaInBrowser(t *testing.T) {
	skipShort(t)
	chromium := findChromium(t)
	start = time.Now()
	const bots = 3 // with the page and the TCP player, all in one arena of 8
	port := startServer(t, "arena", "-bots", strconv.Itoa(bots))
	step(t, "arena server built and listening")
	tab := openBrowser(t, chromium, "http://127.0.0.1:"+strconv.Itoa(port)+"/")

	// The page is welcomed into an arena and draws the bots and itself.
	waitFor(t, tab, "its arena and the bots", fmt.Sprintf(
		`window.__arena && __arena.arena !== '' && __arena.me in __arena.players() && Object.keys(__arena.players()).length === %d`, bots+1))
	me, err := chromedp.Run(tab, chromedp.Evaluate[string](`__arena.me`))
	if err != nil {
		t.Fatal(err)
	}
	arena, _ := chromedp.Run(tab, chromedp.Evaluate[string](`__arena.arena`))
	waitFor(t, tab, "the status line", fmt.Sprintf(`document.querySelector('#status').textContent.startsWith(%q)`,
		fmt.Sprintf("player %s in %s · %d players · ", me, arena, bots+1)))

	// The bots move: every one of them is elsewhere in a later sample.
	// The page's own player waits at the centre, where everyone spawns.
	first := arenaPlayers(t, tab)
	if p := first[me]; p != (arenaPlayer{X: 50, Y: 50}) {
		t.Errorf("the page's own player before any key: %+v, want at rest at the centre (50, 50)", p)
	}
	was, _ := json.Marshal(first)
	waitFor(t, tab, "every bot moved", fmt.Sprintf(
		`Object.entries(__arena.players()).every(([id, p]) => id === %q || (p.x !== %s[id].x || p.y !== %s[id].y))`, me, was, was))
	second := arenaPlayers(t, tab)
	for id, p := range second {
		if id != me && p.X == first[id].X && p.Y == first[id].Y {
			t.Errorf("bot %s stayed at (%v, %v)", id, p.X, p.Y)
		}
	}
	if second[me] != first[me] {
		t.Errorf("the page's own player moved by itself: %+v, then %+v", first[me], second[me])
	}

	// Keys steer the page's own player while they are held, and it stops
	// when they are up. Its first move from rest shows the direction: a
	// wall is half the arena away, about 0.5 s at full speed, and after
	// bouncing it is another 0.5 s before it is back where it started.
	steer := func(k key, dir string, want func(from, p arenaPlayer) bool) arenaPlayer {
		t.Helper()
		from := arenaPlayers(t, tab)[me]
		press(t, tab, k)
		moved, err := chromedp.Run(tab, chromedp.Poll[arenaPlayer](fmt.Sprintf(
			`(p => (p.x !== %v || p.y !== %v) && p)(__arena.players()[%q])`, from.X, from.Y, me),
			chromedp.WithPollingTimeout(20*time.Second)))
		if err != nil {
			t.Fatalf("its player never moved while %s was held: %v", k.key, err)
		}
		step(t, fmt.Sprintf("%s moved its player from (%v, %v) to (%v, %v)", k.key, from.X, from.Y, moved.X, moved.Y))
		if !want(from, moved) {
			t.Errorf("%s moved the player from (%v, %v) to (%v, %v), not %s", k.key, from.X, from.Y, moved.X, moved.Y, dir)
		}
		release(t, tab, k)
		waitFor(t, tab, "its player stopped once "+k.key+" was up", fmt.Sprintf(
			`(p => p.dx === 0 && p.dy === 0)(__arena.players()[%q])`, me))
		to := arenaPlayers(t, tab)[me]
		if !want(from, to) {
			t.Errorf("%s took the player from (%v, %v) to (%v, %v), not %s", k.key, from.X, from.Y, to.X, to.Y, dir)
		}
		return to
	}
	steer(keyArrowRight, "right", func(from, p arenaPlayer) bool { return p.X > from.X && p.Y == from.Y })
	steer(keyS, "down", func(from, p arenaPlayer) bool { return p.Y > from.Y && p.X == from.X }) // y grows downwards

	// A Go TCP player joins the same arena; the page draws it.
	tcp := connect(t, port)
	watch := watchArena(tcp)
	welcome := awaitMessage(t, watch.welcome, "its welcome", func(*proto.Message) bool { return true })
	tcpID, _ := welcome.HeaderString("id")
	if got, _ := welcome.HeaderString("arena"); got != arena {
		t.Fatalf("the TCP player was put in %q, the page is in %q", got, arena)
	}
	waitFor(t, tab, "the TCP player", fmt.Sprintf(`%q in __arena.players()`, tcpID))

	// The page's chat reaches the TCP player, from the page's player.
	const fromPage = "hello from the browser"
	if err := chromedp.Do(tab, chromedp.SetValue(`#text`, fromPage), chromedp.Click(`#say button`)); err != nil {
		t.Fatalf("chatting: %v", err)
	}
	awaitMessage(t, watch.chat, fmt.Sprintf("%q from the page's player %s", fromPage, me), func(m *proto.Message) bool {
		from, _ := m.HeaderString("from")
		return from == me && m.BodyString() == fromPage
	})
	chatLine := func(from, body string) string {
		return fmt.Sprintf(`[...document.querySelectorAll('#chat li')].some(li => li.textContent === %q)`, "["+from+"] "+body)
	}
	waitFor(t, tab, "its own chat line", chatLine(me, fromPage))

	// And the TCP player's chat shows on the page.
	const fromTCP = "hello from tcp"
	if err := tcp.Send(simpleserver.NewMessage().AddHeader("chat", "").SetBodyString(fromTCP)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tab, "the TCP player's chat line", chatLine(tcpID, fromTCP))

	waitFor(t, tab, "the TCP player in the status line", fmt.Sprintf(`document.querySelector('#status').textContent.includes(%q)`,
		fmt.Sprintf(" · %d players · ", bots+2)))
	screenshot(t, tab, "arena.png", "ARENA_SCREENSHOT")
}

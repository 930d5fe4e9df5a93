package engine

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
	"github.com/simpleserver-go/simpleserver/proxyproto"
)

// Tests of features meeting: sessions, rooms, lanes, modes.

// done runs fn on a goroutine and fails the test if it has not returned
// within d (a deadlock).
func returnsWithin(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	ch := make(chan struct{})
	go func() { defer close(ch); fn() }()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v (deadlock)", what, d)
	}
}

// TestInlineSuspendedOverflowInFanout: in inline mode, a suspended
// session's window overflowing during a room broadcast (or Broadcast) ends
// the session and fires OnDisconnect at once, on the broadcasting
// goroutine, which holds the room's (or registry's) read lock: that must
// not deadlock, and the client must leave the room.
func TestInlineSuspendedOverflowInFanout(t *testing.T) {
	for _, via := range []string{"room", "server"} {
		t.Run(via, func(t *testing.T) {
			s, ev := sessionServer(t, WithInline(true), Option(func(c *Config) { c.SessionWindow = 1000 }))
			users := make(chan *Client, 1)
			s.OnConnection.AddListener(func(c *Client) { _ = s.Room("r").Join(c); users <- c })
			a := dial(t, s)
			a.hello(nil, 0)
			u := waitChan(t, users, "OnConnection")
			a.Close()
			waitChan(t, ev.susp, "OnSuspend")
			m := proto.NewMessage().SetBody(make([]byte, 100))
			returnsWithin(t, 5*time.Second, via+" broadcasts past the window", func() {
				for i := 0; i < 20; i++ {
					if via == "room" {
						_ = s.Room("r").Broadcast(m)
					} else {
						_ = s.Broadcast(m)
					}
				}
			})
			if r := waitChan(t, ev.disc, "OnDisconnect"); !errors.Is(r, ErrSessionOverflow) {
				t.Fatalf("reason %v", r)
			}
			if n := s.Room("r").Len(); n != 0 || len(u.Rooms()) != 0 {
				t.Fatalf("after the end: room has %d members, client in %d rooms", n, len(u.Rooms()))
			}
		})
	}
}

// TestBroadcastExceptIDsExcludesSuspended: a client excluded by ID is
// excluded while its session is suspended too (Broadcast reaches
// suspended clients, so the exclusion must as well).
func TestBroadcastExceptIDsExcludesSuspended(t *testing.T) {
	s, ev := sessionServer(t)
	users := make(chan *Client, 1)
	s.OnConnection.AddListener(func(c *Client) { users <- c })
	a := dial(t, s)
	w, _ := a.hello(nil, 0)
	u := waitChan(t, users, "OnConnection")
	a.Close()
	waitChan(t, ev.susp, "OnSuspend")
	if err := s.BroadcastExceptIDs(proto.NewMessage().SetBodyString("not for you"), u.ID()); err != nil {
		t.Fatal(err)
	}
	_ = u.Send(proto.NewMessage().SetBodyString("for you"))
	b := dial(t, s)
	if w2, closed := b.hello(w.Token, 0); closed != "" || !w2.Resumed() {
		t.Fatalf("resume: %+v %q", w2, closed)
	}
	if got := b.readMessages(1); got[0] != "for you" {
		t.Fatalf("replay starts with %q: the excluded client got the broadcast", got[0])
	}
}

// TestSessionBehindTrustedProxy: a client behind a trusted proxy opens a
// session with HELLO right after the PROXY header, and resumes it, as a
// direct one does.
func TestSessionBehindTrustedProxy(t *testing.T) {
	for _, ws := range []bool{false, true} {
		t.Run(map[bool]string{false: "tcp", true: "websocket on"}[ws], func(t *testing.T) {
			s, ev := sessionServer(t, WithTrustedProxies(netip.MustParsePrefix("127.0.0.1/32")), WithWebSocket(ws))
			users := make(chan *Client, 1)
			s.OnConnection.AddListener(func(c *Client) { users <- c })
			a := dialFrom(t, s, "127.0.0.1")
			a.write(proxyproto.AppendV1(nil, playerAddr, frontAddr))
			w, closed := a.hello(nil, 0)
			if closed != "" || len(w.Token) != tokenLen {
				t.Fatalf("HELLO behind a proxy: %+v, CLOSE %q", w, closed)
			}
			u := waitChan(t, users, "OnConnection")
			if got := u.RemoteAddr().String(); got != playerAddr.String() {
				t.Fatalf("RemoteAddr %s, want %s", got, playerAddr)
			}
			a.Close()
			waitChan(t, ev.susp, "OnSuspend")
			b := dialFrom(t, s, "127.0.0.1")
			b.write(proxyproto.AppendV1(nil, playerAddr, frontAddr))
			if w2, closed := b.hello(w.Token, 0); closed != "" || !w2.Resumed() {
				t.Fatalf("resume behind a proxy: %+v, CLOSE %q", w2, closed)
			}
			waitChan(t, ev.res, "OnResume")
			if o, _, _, dis := ev.counts(); o != 1 || dis != 0 {
				t.Fatalf("opens %d, disconnects %d", o, dis)
			}
			if ws {
				return // a silent connection waits for its first bytes (detect.go)
			}
			// One that says nothing after its header is a plain client
			// after SessionHelloWait, as a direct one is.
			quiet := dialFrom(t, s, "127.0.0.1")
			quiet.write(proxyproto.AppendV1(nil, playerAddr, frontAddr))
			if u := waitChan(t, users, "the quiet client announced"); u.isUser() {
				t.Fatal("a client that sent no HELLO has a session")
			}
		})
	}
}

// TestSessionDisconnectsCounted: a session client's end is counted in
// Stats.Disconnects once, by its reason, as a plain client's is; its lost
// connections (suspensions) are not disconnects.
func TestSessionDisconnectsCounted(t *testing.T) {
	s, ev := sessionServer(t)
	users := make(chan *Client, 2)
	s.OnConnection.AddListener(func(c *Client) { users <- c })
	a := dial(t, s)
	w, _ := a.hello(nil, 0)
	u := waitChan(t, users, "OnConnection")
	a.Close()
	waitChan(t, ev.susp, "OnSuspend")
	b := dial(t, s)
	if _, closed := b.hello(w.Token, 0); closed != "" {
		t.Fatalf("resume: CLOSE %q", closed)
	}
	waitChan(t, ev.res, "OnResume")
	_ = u.Close("bye")
	if r := waitChan(t, ev.disc, "OnDisconnect"); !errors.Is(r, ErrKicked) {
		t.Fatalf("reason %v", r)
	}
	st := s.Stats()
	var total uint64
	for _, n := range st.Disconnects {
		total += n
	}
	if st.Disconnects[ReasonKicked] != 1 || total != 1 {
		t.Fatalf("Disconnects %v: want one kick and nothing else", st.Disconnects)
	}
}

package engine

import (
	"errors"
	"io"
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

// TestAddrCapBehindProxyWithWebSocket: with WebSocket on, a connection
// refused for the address in its PROXY header is still told why, in what
// it speaks: a v1 client reads CLOSE, a browser close 1013 (as a direct
// one refused at admission).
func TestAddrCapBehindProxyWithWebSocket(t *testing.T) {
	s := newProxyServer(t, hzQuiet(), WithWebSocket(true), WithMaxConnectionsPerAddr(1))
	frame, _ := proto.AppendFrame(nil, proto.NewMessage().SetBodyString("hi"))
	p1 := dialFrom(t, s.Server, "127.0.0.1")
	p1.write(append(proxyproto.AppendV1(nil, playerAddr, frontAddr), frame...))
	if got := p1.readMessage().BodyString(); got != playerAddr.String() {
		t.Fatalf("first player is %s", got)
	}
	over := netip.AddrPortFrom(playerAddr.Addr(), 999)
	p2 := dialFrom(t, s.Server, "127.0.0.1")
	p2.write(append(proxyproto.AppendV1(nil, over, frontAddr), frame...))
	if got := p2.readClose(); got != ErrAddrLimit.Error() {
		t.Fatalf("v1 client over the cap: CLOSE %q, want %q", got, ErrAddrLimit)
	}
	waitFor(t, "the refused one closed", func() bool { return s.heldRefusals.Load() == 0 })
	if n := s.Stats().Connections; n != 1 {
		t.Fatalf("Connections = %d after a refusal, want 1", n)
	}
	// A browser: the header, then its upgrade request.
	p3 := dialFrom(t, s.Server, "127.0.0.1")
	host := s.Addr().String()
	p3.write(append(proxyproto.AppendV1(nil, over, frontAddr), []byte("GET /ws HTTP/1.1\r\nHost: "+host+
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")...))
	p3.SetReadDeadline(time.Now().Add(10 * time.Second))
	status, err := p3.r.ReadString('\n')
	if err != nil || status != "HTTP/1.1 101 Switching Protocols\r\n" {
		t.Fatalf("browser over the cap: %q, %v; want a 101, then close 1013", status, err)
	}
	for line := ""; line != "\r\n"; {
		if line, err = p3.r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	head := make([]byte, 4)
	if _, err := io.ReadFull(p3.r, head); err != nil || head[0] != 0x88 || int(head[2])<<8|int(head[3]) != 1013 {
		t.Fatalf("browser over the cap: frame % x, %v; want close 1013", head, err)
	}
	if st := s.Stats(); st.ConnectionsRefused != 2 {
		t.Errorf("ConnectionsRefused = %d, want 2", st.ConnectionsRefused)
	}
	<-s.joined
	select {
	case a := <-s.joined:
		t.Fatalf("refused connection announced as %s", a)
	default:
	}
}

// TestAddrCapBehindProxyWithLegacy: with legacy clients on (the transport
// still to be detected after the header), a v1 client refused for the
// address in its PROXY header reads CLOSE too.
func TestAddrCapBehindProxyWithLegacy(t *testing.T) {
	s := newProxyServer(t, hzQuiet(), WithLegacyClients(true), WithMaxConnectionsPerAddr(1))
	frame, _ := proto.AppendFrame(nil, proto.NewMessage().SetBodyString("hi"))
	p1 := dialFrom(t, s.Server, "127.0.0.1")
	p1.write(append(proxyproto.AppendV1(nil, playerAddr, frontAddr), frame...))
	if got := p1.readMessage().BodyString(); got != playerAddr.String() {
		t.Fatalf("first player is %s", got)
	}
	p2 := dialFrom(t, s.Server, "127.0.0.1")
	p2.write(append(proxyproto.AppendV1(nil, netip.AddrPortFrom(playerAddr.Addr(), 999), frontAddr), frame...))
	if got := p2.readClose(); got != ErrAddrLimit.Error() {
		t.Fatalf("v1 client over the cap: CLOSE %q, want %q", got, ErrAddrLimit)
	}
	waitFor(t, "the refused one gone", func() bool { return s.Stats().Connections == 1 })
	if st := s.Stats(); st.ConnectionsRefused != 1 {
		t.Fatalf("ConnectionsRefused = %d, want 1", st.ConnectionsRefused)
	}
}

// TestSessionExpiresInRooms: a suspended client that does not come back
// gets one OnDisconnect, seeing its rooms, then leaves them; an emptied
// room is freed.
func TestSessionExpiresInRooms(t *testing.T) {
	for _, inline := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "inline"}[inline], func(t *testing.T) {
			s, ev := sessionServer(t, WithSessionGrace(100*time.Millisecond), WithInline(inline))
			users := make(chan *Client, 1)
			s.OnConnection.AddListener(func(c *Client) {
				_ = s.Room("a").Join(c)
				_ = s.Room("b").Join(c)
				users <- c
			})
			seen := make(chan int, 2)
			s.OnDisconnect.AddListener(func(c *Client, _ error) { seen <- len(c.Rooms()) })
			a := dial(t, s)
			a.hello(nil, 0)
			u := waitChan(t, users, "OnConnection")
			a.Close()
			waitChan(t, ev.susp, "OnSuspend")
			if r := waitChan(t, ev.disc, "OnDisconnect"); !errors.Is(r, ErrSessionExpired) {
				t.Fatalf("reason %v", r)
			}
			if n := waitChan(t, seen, "OnDisconnect's rooms"); n != 2 {
				t.Fatalf("OnDisconnect saw %d rooms, want 2", n)
			}
			waitFor(t, "rooms freed", func() bool { return len(s.Rooms()) == 0 && len(u.Rooms()) == 0 })
			if err := s.Room("a").Join(u); !errors.Is(err, ErrClientClosed) {
				t.Fatalf("Join after the end = %v", err)
			}
		})
	}
}

// TestSessionSendPreparedDroppableWhileSuspended: a PreparedMessage on a
// droppable lane sent to a suspended client is dropped, as SendOn's is:
// it neither waits in the replay window nor fills it up.
func TestSessionSendPreparedDroppableWhileSuspended(t *testing.T) {
	s, ev := sessionServer(t, Option(func(c *Config) { c.SessionWindow = 1000 }))
	users := make(chan *Client, 1)
	s.OnConnection.AddListener(func(c *Client) { users <- c })
	a := dial(t, s)
	w, _ := a.hello(nil, 0)
	u := waitChan(t, users, "OnConnection")
	a.Close()
	waitChan(t, ev.susp, "OnSuspend")
	pm, _ := NewPreparedMessage(proto.NewMessage().SetBody(make([]byte, 100)))
	for i := 0; i < 20; i++ { // twice the window
		if err := u.SendPrepared(pm.WithLane(Latest(1))); err != nil {
			t.Fatalf("SendPrepared on a latest lane while suspended: %v", err)
		}
	}
	_ = u.Send(proto.NewMessage().SetBodyString("reliable"))
	b := dial(t, s)
	if w2, closed := b.hello(w.Token, 0); closed != "" || !w2.Resumed() {
		t.Fatalf("resume: %+v %q", w2, closed)
	}
	if got := b.readMessages(1); got[0] != "reliable" {
		t.Fatalf("replay starts with %q, want only the reliable message", got[0])
	}
}

package engine

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/client"
	"github.com/simpleserver-go/simpleserver/proto"
)

// sessionEvents records a server's session-related events.
type sessionEvents struct {
	mu                            sync.Mutex
	opens, suspends, resumes, dis int
	reasons                       []error
	disc                          chan error
	susp, res                     chan *Client
}

func watchSessions(s *Server) *sessionEvents {
	ev := &sessionEvents{disc: make(chan error, 1024), susp: make(chan *Client, 1024), res: make(chan *Client, 1024)}
	s.OnConnection.AddListener(func(c *Client) { ev.mu.Lock(); ev.opens++; ev.mu.Unlock() })
	s.OnSuspend.AddListener(func(c *Client, reason error) {
		ev.mu.Lock()
		ev.suspends++
		ev.mu.Unlock()
		select {
		case ev.susp <- c:
		default: // a test that does not read them
		}
	})
	s.OnResume.AddListener(func(c *Client) {
		ev.mu.Lock()
		ev.resumes++
		ev.mu.Unlock()
		select {
		case ev.res <- c:
		default:
		}
	})
	s.OnDisconnect.AddListener(func(c *Client, reason error) {
		ev.mu.Lock()
		ev.dis++
		ev.reasons = append(ev.reasons, reason)
		ev.mu.Unlock()
		select {
		case ev.disc <- reason:
		default:
		}
	})
	return ev
}

func (ev *sessionEvents) counts() (opens, suspends, resumes, dis int) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return ev.opens, ev.suspends, ev.resumes, ev.dis
}

func waitChan[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// hello sends HELLO on a raw connection and returns the server's answer:
// the WELCOME, or the CLOSE reason.
func (c *rawConn) hello(tok []byte, got uint64) (proto.Welcome, string) {
	c.t.Helper()
	c.write(proto.AppendHello(nil, tok, got))
	for {
		payload := c.readPayload()
		switch proto.Kind(payload[0]) {
		case proto.KindWelcome:
			w, err := proto.ParseWelcome(payload[1:])
			if err != nil {
				c.t.Fatal(err)
			}
			w.Token = bytes.Clone(w.Token)
			return w, ""
		case proto.KindClose:
			return proto.Welcome{}, string(payload[1:])
		}
	}
}

// readPayload reads one frame's payload, any kind.
func (c *rawConn) readPayload() []byte {
	c.t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	head := make([]byte, 4)
	if _, err := readFull(c, head); err != nil {
		c.t.Fatalf("read: %v", err)
	}
	size, err := proto.FrameSize(head, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	payload := make([]byte, size-4)
	if _, err := readFull(c, payload); err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return payload
}

func readFull(c *rawConn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readMessages reads frames until n MESSAGEs, returning their bodies; it
// skips ACKs and PINGs.
func (c *rawConn) readMessages(n int) []string {
	c.t.Helper()
	var out []string
	for len(out) < n {
		payload := c.readPayload()
		if proto.Kind(payload[0]) == proto.KindMessage {
			m := proto.NewMessage()
			if err := m.Decode(payload[1:], nil); err != nil {
				c.t.Fatal(err)
			}
			out = append(out, m.BodyString())
		}
	}
	return out
}

func sessionServer(t testing.TB, opts ...Option) (*Server, *sessionEvents) {
	s := startServer(t, append([]Option{WithSessionGrace(10 * time.Second)}, opts...)...)
	ev := watchSessions(s)
	run(t, s)
	return s, ev
}

// TestSessionResumeReplaysWhatWasMissed: a server sends while the client
// is away; on resume the client gets exactly those, in order, and keeps
// its ID, Data and place; OnSuspend/OnResume fire, OnDisconnect does not.
func TestSessionResumeReplaysWhatWasMissed(t *testing.T) {
	s, ev := sessionServer(t)
	users := make(chan *Client, 1)
	s.OnConnection.AddListener(func(c *Client) { c.Data = "player-1"; users <- c })
	var got []string
	gotMu := sync.Mutex{}
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		gotMu.Lock()
		got = append(got, m.BodyString())
		gotMu.Unlock()
	})
	p := newProxy(t, s)
	log := newStateLog()
	c := reconnecting(t, p.Addr(), log, client.Reconnect{MinDelay: 200 * time.Millisecond, MaxDelay: 200 * time.Millisecond})
	u := waitChan(t, users, "OnConnection")
	if err := u.Send(proto.NewMessage().SetBodyString("s0")); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, c); m.BodyString() != "s0" {
		t.Fatalf("got %q", m.BodyString())
	}
	p.Cut(false)
	susp := waitChan(t, ev.susp, "OnSuspend")
	if susp != u {
		t.Fatal("OnSuspend for another client")
	}
	if n := s.NumClients(); n != 0 {
		t.Fatalf("NumClients while suspended = %d, want 0", n)
	}
	if n := s.Stats().SuspendedSessions; n != 1 {
		t.Fatalf("Stats().SuspendedSessions while suspended = %d, want 1", n)
	}
	for i := 1; i <= 4; i++ {
		if err := u.Send(proto.NewMessage().SetBodyString("s" + strconv.Itoa(i))); err != nil {
			t.Fatalf("Send while suspended: %v", err)
		}
	}
	// Found by ID while suspended, and sent to like any client.
	if got := s.ClientByID(u.ID()); got != u {
		t.Fatalf("ClientByID while suspended = %v, want the user", got)
	}
	if err := s.SendToID(u.ID(), proto.NewMessage().SetBodyString("s5")); err != nil {
		t.Fatalf("SendToID while suspended: %v", err)
	}
	if err := s.Broadcast(proto.NewMessage().SetBodyString("bcast")); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(proto.NewMessage().SetBodyString("c1")); err != nil {
		t.Fatalf("client Send while offline: %v", err)
	}
	if res := waitChan(t, ev.res, "OnResume"); res != u || res.Data != "player-1" {
		t.Fatal("resumed another client, or lost Data")
	}
	if n := s.Stats().SuspendedSessions; n != 0 {
		t.Fatalf("Stats().SuspendedSessions after OnResume = %d, want 0", n)
	}
	log.waitState(t, client.StateResumed)
	for _, want := range []string{"s1", "s2", "s3", "s4", "s5", "bcast"} {
		if m := receive(t, c); m.BodyString() != want {
			t.Fatalf("replay: got %q, want %q", m.BodyString(), want)
		}
	}
	waitFor(t, "c1 on the server", func() bool {
		gotMu.Lock()
		defer gotMu.Unlock()
		return len(got) == 1 && got[0] == "c1"
	})
	if n := s.NumClients(); n != 1 || s.Clients()[0] != u {
		t.Fatalf("Clients after resume: %d", n)
	}
	if _, _, _, dis := ev.counts(); dis != 0 {
		t.Fatalf("%d OnDisconnects during a resume", dis)
	}
}

// TestSessionTokens: a wrong token is refused with a clear CLOSE; a token
// that resumed once (and was confirmed) is refused the second time; the
// new one works. No event fires for refused connections.
func TestSessionTokens(t *testing.T) {
	s, ev := sessionServer(t)
	a := dial(t, s)
	w, closed := a.hello(nil, 0)
	if closed != "" || len(w.Token) != tokenLen || w.Resumed() {
		t.Fatalf("new session: %+v %q", w, closed)
	}
	waitFor(t, "OnConnection", func() bool { o, _, _, _ := ev.counts(); return o == 1 })

	bad := dial(t, s)
	if _, reason := bad.hello(bytes.Repeat([]byte{7}, tokenLen), 0); reason != closeBadToken {
		t.Fatalf("wrong token: CLOSE %q, want %q", reason, closeBadToken)
	}
	short := dial(t, s)
	if _, reason := short.hello([]byte("x"), 0); reason != closeBadToken {
		t.Fatalf("short token: CLOSE %q", reason)
	}

	a.Close()
	waitChan(t, ev.susp, "OnSuspend")
	b := dial(t, s)
	w2, closed := b.hello(w.Token, 0)
	if closed != "" || !w2.Resumed() || bytes.Equal(w2.Token, w.Token) {
		t.Fatalf("resume: %+v %q", w2, closed)
	}
	b.write(proto.AppendAck(nil, 0)) // confirms the WELCOME: the old token is spent
	waitChan(t, ev.res, "OnResume")
	b.Close()
	waitChan(t, ev.susp, "OnSuspend")

	reuse := dial(t, s)
	if _, reason := reuse.hello(w.Token, 0); reason != closeBadToken {
		t.Fatalf("reused token: CLOSE %q, want %q", reason, closeBadToken)
	}
	d := dial(t, s)
	if w3, closed := d.hello(w2.Token, 0); closed != "" || !w3.Resumed() {
		t.Fatalf("resume with the new token: %+v %q", w3, closed)
	}
	waitChan(t, ev.res, "OnResume")
	if o, _, _, dis := ev.counts(); o != 1 || dis != 0 {
		t.Fatalf("opens %d, disconnects %d: refused connections made events", o, dis)
	}
}

// TestSessionResumeRacesOldClose: the client resumes while the server
// still holds its old connection open; the old one is closed, the new
// one carries on, and no OnDisconnect fires.
func TestSessionResumeRacesOldClose(t *testing.T) {
	s, ev := sessionServer(t)
	users := make(chan *Client, 1)
	s.OnConnection.AddListener(func(c *Client) { users <- c })
	a := dial(t, s)
	w, _ := a.hello(nil, 0)
	u := waitChan(t, users, "OnConnection")
	_ = u.Send(proto.NewMessage().SetBodyString("one"))
	if got := a.readMessages(1); got[0] != "one" {
		t.Fatal(got)
	}
	// a stays open: the server has not seen it fail.
	b := dial(t, s)
	w2, closed := b.hello(w.Token, 1)
	if closed != "" || !w2.Resumed() {
		t.Fatalf("takeover: %+v %q", w2, closed)
	}
	if reason := a.readClose(); reason != closeTakeover {
		t.Fatalf("old connection: CLOSE %q, want %q", reason, closeTakeover)
	}
	waitChan(t, ev.res, "OnResume")
	_ = u.Send(proto.NewMessage().SetBodyString("two"))
	if got := b.readMessages(1); got[0] != "two" {
		t.Fatalf("after takeover got %v", got)
	}
	if _, _, _, dis := ev.counts(); dis != 0 {
		t.Fatalf("%d OnDisconnects", dis)
	}
}

// TestSessionGraceExpires: a client that does not come back in time
// gets OnDisconnect once, with ErrSessionExpired; its token is dead.
func TestSessionGraceExpires(t *testing.T) {
	s, ev := sessionServer(t, WithSessionGrace(100*time.Millisecond))
	a := dial(t, s)
	w, _ := a.hello(nil, 0)
	a.Close()
	waitChan(t, ev.susp, "OnSuspend")
	if r := waitChan(t, ev.disc, "OnDisconnect"); !errors.Is(r, ErrSessionExpired) {
		t.Fatalf("reason %v, want ErrSessionExpired", r)
	}
	b := dial(t, s)
	if _, reason := b.hello(w.Token, 0); reason != closeBadToken {
		t.Fatalf("expired token: CLOSE %q", reason)
	}
	time.Sleep(200 * time.Millisecond) // a second expiry would fire by now
	if _, _, _, dis := ev.counts(); dis != 1 {
		t.Fatalf("%d OnDisconnects, want 1", dis)
	}
	if st := s.Stats(); st.Disconnects[ReasonSessionExpired] != 1 || st.Disconnects[ReasonOther] != 0 {
		t.Fatalf("disconnects counted %v, want one session_expired", st.Disconnects)
	}
}

// TestSessionWindowOverflow: more unconfirmed bytes than SessionWindow
// end the session: the send that passed it says so, OnDisconnect once.
func TestSessionWindowOverflow(t *testing.T) {
	s, ev := sessionServer(t, Option(func(c *Config) { c.SessionWindow = 1000 }))
	users := make(chan *Client, 1)
	s.OnConnection.AddListener(func(c *Client) { users <- c })
	a := dial(t, s)
	a.hello(nil, 0)
	u := waitChan(t, users, "OnConnection")
	a.Close()
	waitChan(t, ev.susp, "OnSuspend")
	var err error
	for i := 0; i < 20 && err == nil; i++ {
		err = u.Send(proto.NewMessage().SetBody(make([]byte, 100)))
	}
	if !errors.Is(err, ErrSessionOverflow) {
		t.Fatalf("Send past the window = %v, want ErrSessionOverflow", err)
	}
	if r := waitChan(t, ev.disc, "OnDisconnect"); !errors.Is(r, ErrSessionOverflow) {
		t.Fatalf("reason %v", r)
	}
	if err := u.Send(proto.NewMessage()); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("Send after the end = %v", err)
	}
	if _, _, _, dis := ev.counts(); dis != 1 {
		t.Fatalf("%d OnDisconnects", dis)
	}
}

// TestSessionStopWhileSuspended: Stop ends suspended sessions too, with
// one OnDisconnect each (ErrServerShutdown).
func TestSessionStopWhileSuspended(t *testing.T) {
	s := startServer(t, WithSessionGrace(time.Minute))
	ev := watchSessions(s)
	if err := s.StartAsync(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		a := dial(t, s)
		a.hello(nil, 0)
		a.Close()
		waitChan(t, ev.susp, "OnSuspend")
	}
	live := dial(t, s)
	live.hello(nil, 0)
	waitFor(t, "4 opens", func() bool { o, _, _, _ := ev.counts(); return o == 4 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, _, dis := ev.counts(); dis != 4 {
		t.Fatalf("%d OnDisconnects after Stop, want 4", dis)
	}
	for _, r := range ev.reasons {
		if !errors.Is(r, ErrServerShutdown) {
			t.Fatalf("reason %v", r)
		}
	}
}

// TestSessionV1ClientsSeeNoChange: with sessions on, a client that never
// sends HELLO is a plain client: announced at its first frame (or after
// SessionHelloWait if it says nothing), and it never receives a session
// frame.
func TestSessionV1ClientsSeeNoChange(t *testing.T) {
	s, ev := sessionServer(t, Option(func(c *Config) { c.SessionHelloWait = 50 * time.Millisecond }))
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) { _ = c.Send(m) })
	a := dial(t, s)
	a.send(proto.NewMessage().SetBodyString("v1"))
	k, m, _, err := a.readFrame()
	if err != nil || k != proto.KindMessage || m.BodyString() != "v1" {
		t.Fatalf("v1 echo: %v %v %v", k, m, err)
	}
	quiet := dial(t, s)
	_ = quiet
	waitFor(t, "the quiet client announced", func() bool { o, _, _, _ := ev.counts(); return o == 2 })
	a.Close()
	if r := waitChan(t, ev.disc, "OnDisconnect"); !errors.Is(r, ErrPeerGone) {
		t.Fatalf("v1 client: %v", r)
	}
	if _, susp, _, _ := ev.counts(); susp != 0 {
		t.Fatal("a v1 client was suspended")
	}
}

// TestSessionDroppableLanesWhileSuspended: while a session is suspended,
// frames on droppable lanes are dropped, reliable ones kept for replay.
func TestSessionDroppableLanesWhileSuspended(t *testing.T) {
	s, ev := sessionServer(t)
	users := make(chan *Client, 1)
	s.OnConnection.AddListener(func(c *Client) { users <- c })
	a := dial(t, s)
	w, _ := a.hello(nil, 0)
	u := waitChan(t, users, "OnConnection")
	a.Close()
	waitChan(t, ev.susp, "OnSuspend")
	_ = u.SendOn(Latest(1), proto.NewMessage().SetBodyString("stale position"))
	_ = s.BroadcastOn(Ephemeral(time.Second), proto.NewMessage().SetBodyString("stale voice"))
	_ = u.Send(proto.NewMessage().SetBodyString("reliable"))
	b := dial(t, s)
	if w2, closed := b.hello(w.Token, 0); closed != "" || !w2.Resumed() {
		t.Fatalf("resume: %+v %q", w2, closed)
	}
	if got := b.readMessages(1); got[0] != "reliable" {
		t.Fatalf("replay starts with %q, want only the reliable message", got[0])
	}
}

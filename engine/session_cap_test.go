package engine

import (
	"errors"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
	"github.com/simpleserver-go/simpleserver/proxyproto"
)

// ended is one OnDisconnect: who, and why.
type ended struct {
	c      *Client
	reason error
}

// watchEnds records every OnDisconnect with its client.
func watchEnds(s *Server) chan ended {
	ch := make(chan ended, 64)
	s.OnDisconnect.AddListener(func(c *Client, reason error) { ch <- ended{c, reason} })
	return ch
}

// suspendedSession is a session opened on a raw connection and then
// dropped: its user and the token that resumes it.
type suspendedSession struct {
	u   *Client
	tok []byte
}

// openAndDrop opens a session on c, waits for its user, drops c and waits
// for the user's OnSuspend.
func openAndDrop(t *testing.T, c *rawConn, users chan *Client, ev *sessionEvents) suspendedSession {
	t.Helper()
	w, closed := c.hello(nil, 0)
	if closed != "" {
		t.Fatalf("HELLO refused: %q", closed)
	}
	u := waitChan(t, users, "OnConnection")
	c.Close()
	if got := waitChan(t, ev.susp, "OnSuspend"); got != u {
		t.Fatalf("OnSuspend for client %d, want %d", got.ID(), u.ID())
	}
	return suspendedSession{u: u, tok: w.Token}
}

// expectEvicted waits for the next OnDisconnect and checks it is want's,
// for the eviction reason wantWhy.
func expectEvicted(t *testing.T, ends chan ended, want *Client, wantWhy error) {
	t.Helper()
	e := waitChan(t, ends, "OnDisconnect of the oldest suspended session")
	if e.c != want {
		t.Fatalf("OnDisconnect for client %d, want the oldest, %d", e.c.ID(), want.ID())
	}
	if e.reason != wantWhy || !errors.Is(e.reason, ErrSessionEvicted) || !errors.Is(e.reason, ErrSessionExpired) {
		t.Fatalf("reason %v, want %v (an ErrSessionExpired)", e.reason, wantWhy)
	}
	if r := ReasonOf(e.reason); r != ReasonSessionExpired {
		t.Fatalf("ReasonOf = %v, want session_expired", r)
	}
}

// resumeExact resumes ss on a new connection having received nothing, and
// checks the replay is exactly want.
func resumeExact(t *testing.T, c *rawConn, ss suspendedSession, want ...string) {
	t.Helper()
	w, closed := c.hello(ss.tok, 0)
	if closed != "" || !w.Resumed() {
		t.Fatalf("resume of client %d: %+v, CLOSE %q", ss.u.ID(), w, closed)
	}
	got := c.readMessages(len(want))
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("client %d replay %v, want %v", ss.u.ID(), got, want)
		}
	}
}

// TestMaxSuspendedEndsOldest: with MaxSuspended 3, suspending 5 sessions
// ends the 2 oldest, in order, each with one OnDisconnect (evicted: an
// ErrSessionExpired, counted session_expired); their tokens are dead, and
// the 3 others resume with an exact replay of what they were sent.
func TestMaxSuspendedEndsOldest(t *testing.T) {
	for _, inline := range []bool{false, true} {
		t.Run(map[bool]string{false: "queued", true: "inline"}[inline], func(t *testing.T) {
			logs, buf := hzCapture(slog.LevelWarn)
			s, ev := sessionServer(t, WithMaxSuspended(3), WithInline(inline), logs)
			users := make(chan *Client, 8)
			s.OnConnection.AddListener(func(c *Client) { users <- c })
			ends := watchEnds(s)
			var ss []suspendedSession
			for i := 0; i < 5; i++ {
				x := openAndDrop(t, dial(t, s), users, ev)
				if err := x.u.Send(proto.NewMessage().SetBodyString("own-" + strconv.Itoa(i))); err != nil {
					t.Fatalf("Send to suspended %d: %v", i, err)
				}
				ss = append(ss, x)
				if i >= 3 {
					// The new one survives; the oldest still suspended ends.
					expectEvicted(t, ends, ss[i-3].u, ErrSessionEvicted)
				}
			}
			if err := ss[0].u.Send(proto.NewMessage()); !errors.Is(err, ErrClientClosed) {
				t.Fatalf("Send to an evicted session = %v, want ErrClientClosed", err)
			}
			if err := s.Broadcast(proto.NewMessage().SetBodyString("all")); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				if _, reason := dial(t, s).hello(ss[i].tok, 0); reason != closeBadToken {
					t.Fatalf("evicted session %d's token: CLOSE %q, want %q", i, reason, closeBadToken)
				}
			}
			for i := 2; i < 5; i++ {
				resumeExact(t, dial(t, s), ss[i], "own-"+strconv.Itoa(i), "all")
				if got := waitChan(t, ev.res, "OnResume"); got != ss[i].u {
					t.Fatalf("OnResume for client %d, want %d", got.ID(), ss[i].u.ID())
				}
			}
			if _, _, resumes, dis := ev.counts(); dis != 2 || resumes != 3 {
				t.Fatalf("%d OnDisconnects and %d OnResumes, want 2 and 3", dis, resumes)
			}
			if st := s.Stats(); st.Disconnects[ReasonSessionExpired] != 2 || st.Disconnects[ReasonOther] != 0 {
				t.Fatalf("disconnects counted %v, want 2 session_expired", st.Disconnects)
			}
			// Two evictions within a log interval: one line.
			if n := strings.Count(buf.String(), "suspended sessions evicted"); n != 1 {
				t.Fatalf("%d eviction log lines, want 1:\n%s", n, buf.String())
			}
		})
	}
}

// TestMaxSuspendedPerAddr: with MaxConnectionsPerAddr 2, one address
// holds at most 2 suspended sessions: a third ends that address's oldest,
// not another address's (older still). Suspended sessions take no
// connection slot: the address may still connect.
func TestMaxSuspendedPerAddr(t *testing.T) {
	s, ev := sessionServer(t, WithMaxConnectionsPerAddr(2))
	users := make(chan *Client, 8)
	s.OnConnection.AddListener(func(c *Client) { users <- c })
	ends := watchEnds(s)
	other := openAndDrop(t, dialFrom(t, s, "127.0.0.2"), users, ev)
	a1 := openAndDrop(t, dialFrom(t, s, "127.0.0.1"), users, ev)
	a2 := openAndDrop(t, dialFrom(t, s, "127.0.0.1"), users, ev)
	a3 := openAndDrop(t, dialFrom(t, s, "127.0.0.1"), users, ev)
	expectEvicted(t, ends, a1.u, errEvictedAddr)
	a4 := openAndDrop(t, dialFrom(t, s, "127.0.0.1"), users, ev)
	expectEvicted(t, ends, a2.u, errEvictedAddr)
	if err := s.Broadcast(proto.NewMessage().SetBodyString("all")); err != nil {
		t.Fatal(err)
	}
	// Resumed from the capped address while it holds 2 suspended: admitted.
	resumeExact(t, dialFrom(t, s, "127.0.0.1"), a3, "all")
	resumeExact(t, dialFrom(t, s, "127.0.0.1"), a4, "all")
	resumeExact(t, dialFrom(t, s, "127.0.0.2"), other, "all")
	for range 3 {
		waitChan(t, ev.res, "OnResume")
	}
	if _, _, _, dis := ev.counts(); dis != 2 {
		t.Fatalf("%d OnDisconnects, want 2", dis)
	}
}

// TestMaxSuspendedPerAddrBehindProxy: behind a trusted proxy the address
// that counts is the one in the PROXY header, as at admission.
func TestMaxSuspendedPerAddrBehindProxy(t *testing.T) {
	s := newProxyServer(t, WithSessionGrace(10*time.Second), WithMaxConnectionsPerAddr(1))
	ev := watchSessions(s.Server)
	users := make(chan *Client, 8)
	s.OnConnection.AddListener(func(c *Client) { users <- c })
	ends := watchEnds(s.Server)
	via := func(from netip.AddrPort) *rawConn {
		c := dialFrom(t, s.Server, "127.0.0.1")
		c.write(proxyproto.AppendV1(nil, from, frontAddr))
		return c
	}
	player2 := netip.MustParseAddrPort("203.0.113.8:4000")
	a := openAndDrop(t, via(playerAddr), users, ev)
	b := openAndDrop(t, via(player2), users, ev) // the proxy's address is shared: not the key
	a2 := openAndDrop(t, via(playerAddr), users, ev)
	expectEvicted(t, ends, a.u, errEvictedAddr)
	resumeExact(t, via(player2), b)
	resumeExact(t, via(playerAddr), a2)
	waitChan(t, ev.res, "OnResume")
	waitChan(t, ev.res, "OnResume")
	if _, _, _, dis := ev.counts(); dis != 1 {
		t.Fatalf("%d OnDisconnects, want 1", dis)
	}
}

// TestMaxSuspendedTakeoverNotCounted: a resume that takes over a
// connection the server still holds passes through suspended for an
// instant; at the cap, that must not end the session that waits.
func TestMaxSuspendedTakeoverNotCounted(t *testing.T) {
	s, ev := sessionServer(t, WithMaxSuspended(1))
	users := make(chan *Client, 8)
	s.OnConnection.AddListener(func(c *Client) { users <- c })
	waiting := openAndDrop(t, dial(t, s), users, ev)
	live := dial(t, s)
	w, _ := live.hello(nil, 0)
	waitChan(t, users, "OnConnection")
	b := dial(t, s)
	if w2, closed := b.hello(w.Token, 0); closed != "" || !w2.Resumed() {
		t.Fatalf("takeover: %+v %q", w2, closed)
	}
	if reason := live.readClose(); reason != closeTakeover {
		t.Fatalf("old connection: CLOSE %q", reason)
	}
	waitChan(t, ev.res, "OnResume")
	resumeExact(t, dial(t, s), waiting)
	waitChan(t, ev.res, "OnResume")
	if _, _, _, dis := ev.counts(); dis != 0 {
		t.Fatalf("%d OnDisconnects, want none", dis)
	}
}

// TestMaxSuspendedDefault: 0 means the effective MaxConnections, which
// Config reports once started; negative means no cap.
func TestMaxSuspendedDefault(t *testing.T) {
	s, _ := sessionServer(t, Option(func(c *Config) { c.MaxConnections = 100 }))
	if cfg := s.Config(); cfg.MaxSuspended != cfg.MaxConnections || cfg.MaxSuspended <= 0 {
		t.Fatalf("MaxSuspended %d, want MaxConnections %d", cfg.MaxSuspended, cfg.MaxConnections)
	}
	// More suspended than MaxConnections, which 0 would have capped them at.
	s, ev := sessionServer(t, WithMaxSuspended(-1), Option(func(c *Config) { c.MaxConnections = 2 }))
	if got := s.Config().MaxSuspended; got != -1 {
		t.Fatalf("MaxSuspended %d, want -1 kept", got)
	}
	users := make(chan *Client, 8)
	s.OnConnection.AddListener(func(c *Client) { users <- c })
	var ss []suspendedSession
	for range 4 {
		ss = append(ss, openAndDrop(t, dial(t, s), users, ev))
	}
	for _, x := range ss {
		c := dial(t, s)
		resumeExact(t, c, x)
		waitChan(t, ev.res, "OnResume")
		c.Close() // its slot is free once it is suspended again
		waitChan(t, ev.susp, "OnSuspend")
	}
	if _, _, _, dis := ev.counts(); dis != 0 {
		t.Fatalf("%d OnDisconnects with no cap", dis)
	}
}

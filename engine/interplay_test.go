package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
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

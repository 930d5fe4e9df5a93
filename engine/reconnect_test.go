package engine

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/client"
	"github.com/simpleserver-go/simpleserver/internal/faultproxy"
	"github.com/simpleserver-go/simpleserver/proto"
)

// stateLog collects a reconnecting client's state changes.
type stateLog struct {
	mu  sync.Mutex
	all []client.StateChange
	ch  chan client.StateChange
}

func newStateLog() *stateLog { return &stateLog{ch: make(chan client.StateChange, 1024)} }

func (l *stateLog) record(sc client.StateChange) {
	l.mu.Lock()
	l.all = append(l.all, sc)
	l.mu.Unlock()
	select {
	case l.ch <- sc:
	default:
	}
}

// waitState waits for the next change to want, skipping others.
func (l *stateLog) waitState(t testing.TB, want client.State) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case sc := <-l.ch:
			if sc.State == want {
				return
			}
			if sc.State == client.StateGaveUp {
				t.Fatalf("gave up waiting for %v: %v", want, sc.Err)
			}
		case <-timeout:
			t.Fatalf("no state %v within 20 s", want)
		}
	}
}

func (l *stateLog) count(st client.State) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, sc := range l.all {
		if sc.State == st {
			n++
		}
	}
	return n
}

func newProxy(t testing.TB, s *Server) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func reconnecting(t testing.TB, addr string, log *stateLog, p client.Reconnect) *client.Client {
	t.Helper()
	if p.MinDelay == 0 {
		p.MinDelay = 5 * time.Millisecond
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = 50 * time.Millisecond
	}
	if log != nil {
		p.OnState = log.record
	}
	c := client.New(client.WithReconnect(p), client.WithDialTimeout(5*time.Second))
	if err := c.ConnectAddr(addr); err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func echoDiscServer(t testing.TB, opts ...Option) (*Server, chan error) {
	s := startServer(t, opts...)
	disc := make(chan error, 1024)
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) { _ = c.Send(m) })
	s.OnDisconnect.AddListener(func(c *Client, reason error) { disc <- reason })
	run(t, s)
	return s, disc
}

// TestReconnectWithoutSessions: a server that keeps no sessions; the
// client reconnects after every cut, reports a new session, and the
// server sees one disconnect per cut.
func TestReconnectWithoutSessions(t *testing.T) {
	s, disc := echoDiscServer(t)
	p := newProxy(t, s)
	log := newStateLog()
	c := reconnecting(t, p.Addr(), log, client.Reconnect{})
	if st := c.State(); st != client.StateConnected {
		t.Fatalf("State = %v", st)
	}
	for i := 0; i < 3; i++ {
		if err := c.Send(proto.NewMessage().SetBodyString("m" + strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
		if got := receive(t, c).BodyString(); got != "m"+strconv.Itoa(i) {
			t.Fatalf("echo %q", got)
		}
		p.Cut(i%2 == 1)
		log.waitState(t, client.StateReconnecting)
		log.waitState(t, client.StateNewSession)
		select {
		case r := <-disc:
			if !errors.Is(r, ErrPeerGone) {
				t.Fatalf("reason %v, want ErrPeerGone", r)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no OnDisconnect after a cut")
		}
	}
	if err := c.Send(proto.NewMessage().SetBodyString("after")); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, c).BodyString(); got != "after" {
		t.Fatalf("echo after reconnects %q", got)
	}
	if n := log.count(client.StateResumed); n != 0 {
		t.Fatalf("%d resumes from a server without sessions", n)
	}
}

// TestReconnectQueuesWhileOffline: sends made while the server is away
// are queued, up to QueueBytes, and arrive once it is back.
func TestReconnectQueuesWhileOffline(t *testing.T) {
	s, _ := echoDiscServer(t)
	p := newProxy(t, s)
	log := newStateLog()
	// The proxy refuses nothing, so keep the client offline by closing
	// the server side's proxy: simplest is a long backoff after the cut.
	c := reconnecting(t, p.Addr(), log, client.Reconnect{MinDelay: 300 * time.Millisecond, MaxDelay: 300 * time.Millisecond, QueueBytes: 100})
	p.Cut(false)
	log.waitState(t, client.StateReconnecting)
	if err := c.Send(proto.NewMessage().SetBodyString("queued-1")); err != nil {
		t.Fatalf("offline Send: %v", err)
	}
	if err := c.Send(proto.NewMessage().SetBodyString("queued-2")); err != nil {
		t.Fatalf("offline Send: %v", err)
	}
	big := proto.NewMessage().SetBody(make([]byte, 200))
	if err := c.Send(big); !errors.Is(err, client.ErrQueueFull) {
		t.Fatalf("Send over QueueBytes = %v, want ErrQueueFull", err)
	}
	log.waitState(t, client.StateNewSession)
	for _, want := range []string{"queued-1", "queued-2"} {
		if got := receive(t, c).BodyString(); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// TestReconnectGivesUp: with MaxAttempts, a server that is gone for good
// ends the client: StateGaveUp, and Receive reports why.
func TestReconnectGivesUp(t *testing.T) {
	s, _ := echoDiscServer(t)
	p := newProxy(t, s)
	log := newStateLog()
	c := reconnecting(t, p.Addr(), log, client.Reconnect{MaxAttempts: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	log.waitState(t, client.StateGaveUp)
	if _, err := c.Receive(ctx); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive after giving up = %v", err)
	}
	if st := c.State(); st != client.StateGaveUp {
		t.Fatalf("State = %v", st)
	}
}

// TestReconnectCloseWhileOffline: Close during the backoff returns at
// once; Receive then reports ErrClosed, and no goroutine is left (goleak).
func TestReconnectCloseWhileOffline(t *testing.T) {
	s, _ := echoDiscServer(t, WithSessionGrace(time.Minute))
	p := newProxy(t, s)
	log := newStateLog()
	c := reconnecting(t, p.Addr(), log, client.Reconnect{MinDelay: time.Hour, MaxDelay: time.Hour})
	p.Cut(false)
	log.waitState(t, client.StateReconnecting)
	start := time.Now()
	c.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close while offline took %v", d)
	}
	if _, err := c.Receive(context.Background()); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Receive after Close = %v, want ErrClosed", err)
	}
	if st := c.State(); st != client.StateClosed {
		t.Fatalf("State = %v", st)
	}
}

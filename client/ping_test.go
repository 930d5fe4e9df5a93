package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

type pingResult struct {
	rtt time.Duration
	err error
}

func goPing(c *Client, ctx context.Context) <-chan pingResult {
	res := make(chan pingResult, 1)
	go func() {
		rtt, err := c.Ping(ctx)
		res <- pingResult{rtt, err}
	}()
	return res
}

func TestPingMeasuresRoundTrip(t *testing.T) {
	const delay = 20 * time.Millisecond
	s := newFakeServer(t)
	c, p := connect(t, s)
	res := goPing(c, context.Background())
	f := p.readFrame()
	if f.kind != proto.KindPing {
		t.Fatalf("got %v, want PING", f.kind)
	}
	time.Sleep(delay) // the round trip being measured, not a synchronisation
	p.write(proto.AppendPong(nil, f.rest))
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.rtt < delay {
		t.Fatalf("round trip %v, but the server waited %v", r.rtt, delay)
	}
}

// Each PONG is matched to its own Ping by payload, whatever the order.
func TestPingsMatchTheirPongs(t *testing.T) {
	s := newFakeServer(t)
	c, p := connect(t, s)
	first := goPing(c, context.Background())
	f1 := p.readFrame()
	second := goPing(c, context.Background())
	f2 := p.readFrame()

	// Unsolicited PONGs are ignored.
	p.write(proto.AppendPong(nil, []byte("unsolicited")))
	p.write(proto.AppendPong(nil, []byte("p\x00\x00\x00\x00\x00\x00\x00\x63")))
	// The second is answered first.
	p.write(proto.AppendPong(nil, f2.rest))
	r2 := <-second
	select {
	case r := <-first:
		t.Fatalf("first Ping returned %v, %v on the second's PONG", r.rtt, r.err)
	default:
	}
	p.write(proto.AppendPong(nil, f1.rest))
	r1 := <-first
	if r1.err != nil || r2.err != nil {
		t.Fatal(r1.err, r2.err)
	}
	// The first was sent before and answered after the second.
	if r1.rtt <= r2.rtt {
		t.Fatalf("first rtt %v <= second rtt %v", r1.rtt, r2.rtt)
	}
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	if len(c.pings) != 0 {
		t.Fatalf("%d pings still registered", len(c.pings))
	}
}

func TestPingContextAndConnectionEnd(t *testing.T) {
	if _, err := New().Ping(context.Background()); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("not connected: got %v", err)
	}

	s := newFakeServer(t)
	c, p := connect(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Ping(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered: got %v", err)
	}
	c.pingMu.Lock()
	n := len(c.pings)
	c.pingMu.Unlock()
	if n != 0 {
		t.Fatalf("%d pings still registered after a timeout", n)
	}

	res := goPing(c, context.Background())
	p.readFrame() // the first PING
	if f := p.readFrame(); f.kind != proto.KindPing {
		t.Fatalf("got %v", f.kind)
	}
	p.closeWith("no pings today")
	r := <-res
	var ce *CloseError
	if !errors.As(r.err, &ce) || ce.Reason != "no pings today" {
		t.Fatalf("server closed: got %v", r.err)
	}
}

package client

import (
	"errors"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

func TestKeepAlivePingsAnIdleServer(t *testing.T) {
	const interval = 50 * time.Millisecond
	s := newFakeServer(t)
	start := time.Now()
	// A timeout far beyond the test: each PING must come an interval after
	// the last answer, not when an unanswered PING would time out.
	c, p := connect(t, s, WithKeepAlive(interval, time.Hour))
	for round := range 3 {
		f := p.readFrame()
		if f.kind != proto.KindPing {
			t.Fatalf("round %d: got %v %q, want PING", round, f.kind, f.rest)
		}
		if d := time.Since(start); d < interval {
			t.Fatalf("round %d: PING after %v of silence, want at least %v", round, d, interval)
		}
		start = time.Now()
		p.write(proto.AppendPong(nil, f.rest)) // answered: the connection lives on
	}
	if err := c.Err(); err != nil {
		t.Fatalf("Err: %v", err)
	}
	if err := c.Send(msg("alive")); err != nil {
		t.Fatal(err)
	}
}

// Traffic from the server resets the idle clock: no PING goes out while
// the server talks, and the first one comes a full interval after it stops.
func TestKeepAliveWaitsForSilence(t *testing.T) {
	// The interval is long next to the traffic's 20 ms pace, so that a
	// stalled test machine does not make the silence real.
	const interval = 500 * time.Millisecond
	s := newFakeServer(t)
	c, p := connect(t, s, WithKeepAlive(interval, waitTimeout))
	var lastSent time.Time
	for range 40 { // 800 ms of traffic: more than the interval
		p.send(msg("tick"))
		lastSent = time.Now()
		receive(t, c)
		time.Sleep(20 * time.Millisecond) // the traffic's pace, not a synchronisation
	}
	f := p.readFrame()
	if f.kind != proto.KindPing {
		t.Fatalf("got %v, want PING", f.kind)
	}
	// Any PING sent while the server talked would be read at once, well
	// within an interval of the last message.
	if d := time.Since(lastSent); d < interval {
		t.Fatalf("PING %v after the server's last message, want at least %v", d, interval)
	}
}

func TestKeepAliveTimesOutASilentServer(t *testing.T) {
	const interval, timeout = 30 * time.Millisecond, 60 * time.Millisecond
	s := newFakeServer(t)
	start := time.Now()
	c, p := connect(t, s, WithKeepAlive(interval, timeout))
	if f := p.readFrame(); f.kind != proto.KindPing {
		t.Fatalf("got %v, want PING", f.kind)
	}
	// The server answers nothing. The client gives up, says why, and goes.
	if reason := p.expectClose(); reason != "keep-alive timeout" {
		t.Fatalf("CLOSE reason %q", reason)
	}
	if d := time.Since(start); d < interval+timeout {
		t.Fatalf("gave up after %v, want at least %v", d, interval+timeout)
	}
	err := receiveErr(t, c)
	if !errors.Is(err, ErrKeepAliveTimeout) {
		t.Fatalf("Receive: got %v, want ErrKeepAliveTimeout", err)
	}
	if err := c.Err(); !errors.Is(err, ErrKeepAliveTimeout) {
		t.Fatalf("Err: got %v", err)
	}
	if err := c.Send(msg("x")); !errors.Is(err, ErrKeepAliveTimeout) {
		t.Fatalf("Send: got %v", err)
	}
}

// Any byte proves the server alive, not only a PONG: a server that is
// slowly sending one big frame is not timed out.
func TestKeepAliveCountsAnyByte(t *testing.T) {
	const interval, timeout = 30 * time.Millisecond, 500 * time.Millisecond
	s := newFakeServer(t)
	c, p := connect(t, s, WithKeepAlive(interval, timeout))
	b, _ := proto.AppendFrame(nil, msg("slow frame"))
	for i := range b {
		if i > 0 && i%4 == 0 {
			// Let a PING go out, then answer it with one more byte of the frame.
			if f := p.readFrame(); f.kind != proto.KindPing {
				t.Fatalf("got %v, want PING", f.kind)
			}
		}
		p.write(b[i : i+1])
	}
	if got := receive(t, c).BodyString(); got != "slow frame" {
		t.Fatalf("got %q", got)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("Err: %v", err)
	}
}

func TestKeepAliveOptionValidation(t *testing.T) {
	for _, o := range []Option{WithKeepAlive(-1, time.Second), WithKeepAlive(time.Second, 0)} {
		if err := New(o).Connect("127.0.0.1", 1); err == nil || errors.Is(err, ErrClosed) {
			t.Errorf("invalid keep-alive accepted: %v", err)
		}
	}
	// 0 turns it off: a silent server is left alone.
	s := newFakeServer(t)
	c, p := connect(t, s, WithKeepAlive(0, 0))
	p.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := p.conn.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("keep-alive off: server got %d bytes, err %v", n, err)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("Err: %v", err)
	}
}

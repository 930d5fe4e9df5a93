package engine

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/engine/wsproto"
	"github.com/simpleserver-go/simpleserver/proto"
)

// The hardening tests, for WebSocket clients: slow consumer, flood
// (throttled, never cut), idle (heartbeat by WebSocket pings) and
// slowloris (a frame or a request head that never ends).

// TestWSSlowConsumer: a WebSocket client that never reads is disconnected
// with ErrSlowConsumer, while one that reads gets every broadcast.
func TestWSSlowConsumer(t *testing.T) {
	s := startServer(t, append(wsOpts(), hzOpt(noHeartbeat), hzOpt(func(c *Config) { c.MaxOutboundBytes = 256 << 10 }))...)
	ev := hzRecord(s)
	run(t, s)
	rc := hzDial(t, s, 4<<10)
	slow, _ := wsUpgrade(t, rc.Conn, s.Addr().String(), "/ws")
	slowC := ev.clientFor(t, slow)
	fast, _ := wsDial(t, s, "/ws")
	ev.clientFor(t, fast)
	const total, window = 4096, 64 // 4 MiB: 16 times the cap; 64 KiB in flight to the reader
	done := make(chan error, 1)
	acks := make(chan int, total/window)
	go func() {
		for i := 0; i < total; i++ {
			h, p, err := fast.readFrame() // no t.Fatal off the test goroutine
			m := proto.NewMessage()
			if err == nil && (h.Op != wsproto.OpBinary || len(p) == 0 || m.Decode(p[1:], nil) != nil) {
				err = errors.New("fast reader: not a v1 MESSAGE")
			}
			if err != nil {
				done <- err
				return
			}
			if v, _ := m.HeaderString("seq"); v != strconv.Itoa(i) {
				done <- errors.New("fast reader: out of order at " + strconv.Itoa(i))
				return
			}
			if i%window == window-1 {
				acks <- i
			}
		}
		done <- nil
	}()
	for i := 0; i < total; i++ {
		if err := s.Broadcast(hzSeqMsg(i, 1<<10)); err != nil {
			t.Fatal(err)
		}
		if i%window == window-1 && i >= window {
			select { // the reader is at most two windows behind
			case <-acks:
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				done <- nil // finished: it acked everything
			case <-time.After(30 * time.Second):
				t.Fatal("the fast reader stalled")
			}
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	d := ev.nextDisc(t, 10*time.Second)
	if d.c != slowC || !errors.Is(d.reason, ErrSlowConsumer) {
		t.Fatalf("OnDisconnect(%v, %v), want the slow WebSocket client with ErrSlowConsumer", d.c, d.reason)
	}
}

// TestWSFloodThrottled: a WebSocket client sending faster than a blocked
// listener is throttled below its marks, not disconnected, and every
// message is then handled in order.
func TestWSFloodThrottled(t *testing.T) {
	s := startServer(t, append(wsOpts(), hzOpt(noHeartbeat), hzOpt(func(c *Config) { c.MaxPendingMessages = 16 }))...)
	ev := hzRecord(s)
	release, blocked := make(chan struct{}), make(chan struct{})
	var once, releaseOnce sync.Once
	var handled atomic.Int64
	var bad atomic.Value
	order := bpSeqOrder(&handled, &bad)
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		once.Do(func() { close(blocked); <-release })
		order(c, m)
	})
	run(t, s)
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock)

	c, _ := wsDial(t, s, "/ws")
	wc := ev.clientFor(t, c)
	c.sendMsg(hzSeqMsg(0, 10))
	<-blocked
	const count = 2000
	var burst []byte
	for i := 1; i <= count; i++ {
		p, _ := proto.AppendPayload(nil, hzSeqMsg(i, 10))
		burst = append(burst, wsFrame(true, wsproto.OpBinary, p, false, 0)...)
	}
	wrote := make(chan error, 1)
	go func() { _, err := c.Write(burst); wrote <- err }()
	hzWaitFor(t, 10*time.Second, "the flooder's loop to wait", bpWaiting(wc))
	if msgs := wc.pending.Load() / pendingMsg; msgs > int64(s.cfg.MaxPendingMessages) {
		t.Errorf("%d messages pending, above the mark", msgs)
	}
	unblock()
	hzWaitFor(t, 30*time.Second, "every message handled", func() bool { return handled.Load() == count+1 })
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if b := bad.Load(); b != nil {
		t.Fatal(b)
	}
	ev.noDisc(t)
}

// TestWSHeartbeat: the server's heartbeat to a WebSocket client is a
// WebSocket ping; pongs keep it connected; silence gets close 1008 "idle
// timeout" and ErrIdleTimeout.
func TestWSHeartbeat(t *testing.T) {
	const interval, timeout = 100 * time.Millisecond, 200 * time.Millisecond
	s := startServer(t, append(wsOpts(), hzOpt(func(c *Config) { c.PingInterval, c.PingTimeout, c.FrameTimeout = interval, timeout, -1 }))...)
	ev := hzRecord(s)
	run(t, s)
	c, _ := wsDial(t, s, "/ws")
	cl := ev.clientFor(t, c)
	for i := 0; i < 3; i++ {
		h, p, err := c.readFrame()
		if err != nil || h.Op != wsproto.OpPing || string(p) != "simpleserver" {
			t.Fatalf("ping %d: op %d %q %v", i, h.Op, p, err)
		}
		c.send(true, wsproto.OpPong, p)
	}
	if cl.Closed() {
		t.Fatal("a client answering pings was disconnected")
	}
	code, reason := c.readClose() // pings go unanswered now
	if code != wsproto.ClosePolicyViolation || reason != ErrIdleTimeout.Error() {
		t.Errorf("close %d %q", code, reason)
	}
	if d := ev.nextDisc(t, 10*time.Second); !errors.Is(d.reason, ErrIdleTimeout) {
		t.Errorf("reason %v", d.reason)
	}
}

// TestWSSlowloris: a WebSocket frame that never completes gets close 1008
// "frame timeout"; a client trickling whole frames slowly is fine.
func TestWSSlowloris(t *testing.T) {
	s, ev := echoWS(t, hzOpt(func(c *Config) { c.FrameTimeout, c.PingInterval = 300*time.Millisecond, -1 }))
	c, _ := wsDial(t, s, "/ws")
	ev.nextConn(t)
	f := wsFrame(true, wsproto.OpText, []byte("hello"), false, 0)
	c.write(f[:4])
	code, reason := c.readClose()
	if code != wsproto.ClosePolicyViolation || reason != ErrFrameTimeout.Error() {
		t.Errorf("close %d %q", code, reason)
	}
	if d := ev.nextDisc(t, 10*time.Second); !errors.Is(d.reason, ErrFrameTimeout) {
		t.Errorf("reason %v", d.reason)
	}
	ok, _ := wsDial(t, s, "/ws")
	ev.nextConn(t)
	for i := 0; i < 3; i++ {
		ok.send(true, wsproto.OpText, []byte("slow but whole"))
		ok.abEchoBody([]byte("slow but whole"))
		time.Sleep(150 * time.Millisecond) // half FrameTimeout between whole frames: what is tested
	}
}

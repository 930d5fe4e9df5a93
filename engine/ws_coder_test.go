package engine

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/simpleserver-go/simpleserver/proto"
)

// Happy paths and close paths checked with an independent client library,
// github.com/coder/websocket (tests only).

func coderDial(t *testing.T, s *Server, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+s.Addr().String()+"/ws", opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func coderRead(t *testing.T, c *websocket.Conn) (websocket.MessageType, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Read(ctx)
}

func coderMsg(t *testing.T, c *websocket.Conn) *proto.Message {
	t.Helper()
	typ, p, err := coderRead(t, c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageBinary || len(p) == 0 || p[0] != byte(proto.KindMessage) {
		t.Fatalf("want a binary MESSAGE, got %v % x", typ, p)
	}
	m := proto.NewMessage()
	if err := m.Decode(p[1:], nil); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCoderHappyPaths(t *testing.T) {
	s, ev := echoWS(t)
	ctx := context.Background()
	c := coderDial(t, s, &websocket.DialOptions{
		Subprotocols:    []string{"simpleserver.v1"},
		CompressionMode: websocket.CompressionContextTakeover, // offered, must be declined
	})
	c.SetReadLimit(1 << 20)
	if c.Subprotocol() != "simpleserver.v1" {
		t.Errorf("subprotocol %q", c.Subprotocol())
	}
	ev.nextConn(t)

	p, _ := proto.AppendPayload(nil, proto.NewMessage().AddHeader("k", "v").SetBodyString("binary"))
	if err := c.Write(ctx, websocket.MessageBinary, p); err != nil {
		t.Fatal(err)
	}
	if m := coderMsg(t, c); m.BodyString() != "binary" || !m.HasHeader("k") {
		t.Errorf("binary echo %v", m)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("text ✓")); err != nil {
		t.Fatal(err)
	}
	if m := coderMsg(t, c); m.BodyString() != "text ✓" || m.NumHeaders() != 0 {
		t.Errorf("text echo %v", m)
	}
	// Fragmented: each Write of a message writer is one frame.
	w, err := c.Writer(ctx, websocket.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"frag", "men", "ted ", strings.Repeat("x", 70000)} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if m := coderMsg(t, c); m.BodyString() != "fragmented "+strings.Repeat("x", 70000) {
		t.Errorf("fragmented echo of %d bytes", len(m.Body()))
	}
	// Ping: the pong comes back while a reader runs.
	readErr := make(chan error, 1)
	go func() { _, _, err := c.Read(context.Background()); readErr <- err }()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Ping(pctx); err != nil {
		t.Errorf("ping: %v", err)
	}
	// Client close: echoed, and OnDisconnect has its code and reason.
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Errorf("close: %v", err)
	}
	<-readErr
	d := ev.nextDisc(t, 10*time.Second)
	var pc *PeerCloseError
	if !errors.As(d.reason, &pc) || pc.Code != 1000 || pc.Reason != "bye" {
		t.Errorf("disconnect reason %v", d.reason)
	}
}

// TestCoderClosePaths: each way the server ends a connection reaches the
// client library as a close status and reason.
func TestCoderClosePaths(t *testing.T) {
	s, ev := echoWS(t)
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		if m.BodyString() == "kick me" {
			_ = c.Close("kicked by test")
		}
		if m.BodyString() == "panic" {
			panic("test panic")
		}
	})
	ctx := context.Background()
	expect := func(c *websocket.Conn, code websocket.StatusCode, reason string) {
		t.Helper()
		for {
			_, _, err := coderRead(t, c)
			if err == nil {
				continue // an echo before the close
			}
			if got := websocket.CloseStatus(err); got != code || !strings.Contains(err.Error(), reason) {
				t.Errorf("got %v (status %d), want %d %q", err, got, code, reason)
			}
			return
		}
	}
	cases := []struct {
		name   string
		send   func(c *websocket.Conn) error
		code   websocket.StatusCode
		reason string
		is     error
	}{
		{"kick", func(c *websocket.Conn) error { return c.Write(ctx, websocket.MessageText, []byte("kick me")) }, 4000, "kicked by test", ErrKicked},
		{"listener panic", func(c *websocket.Conn) error { return c.Write(ctx, websocket.MessageText, []byte("panic")) }, 1011, "internal server error", ErrListenerPanic},
		{"malformed payload", func(c *websocket.Conn) error { return c.Write(ctx, websocket.MessageBinary, []byte{0, 5}) }, 1002, "malformed", proto.ErrMalformed},
		{"unknown kind", func(c *websocket.Conn) error { return c.Write(ctx, websocket.MessageBinary, []byte{7}) }, 1002, "unknown frame kind", proto.ErrUnknownKind},
		{"oversize", func(c *websocket.Conn) error {
			return c.Write(ctx, websocket.MessageBinary, append([]byte{0, 0}, make([]byte, 2<<20)...))
		}, 1009, "message too big", nil},
	}
	for _, tc := range cases {
		c := coderDial(t, s, nil)
		c.SetReadLimit(-1)
		ev.nextConn(t)
		if err := tc.send(c); err != nil && tc.name != "oversize" {
			t.Fatalf("%s: %v", tc.name, err)
		}
		expect(c, tc.code, tc.reason)
		d := ev.nextDisc(t, 10*time.Second)
		if tc.is != nil && !errors.Is(d.reason, tc.is) {
			t.Errorf("%s: disconnect reason %v", tc.name, d.reason)
		}
	}
	// Stop: every WebSocket client gets 1001 going away.
	c := coderDial(t, s, nil)
	ev.nextConn(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		expect(c, websocket.StatusGoingAway, "server shutting down")
	}()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	<-done
}

// TestCoderWrongPath: an upgrade on another path is refused with 404.
func TestCoderWrongPath(t *testing.T) {
	s, _ := echoWS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws://"+s.Addr().String()+"/other", nil)
	if err == nil || resp == nil || resp.StatusCode != 404 {
		t.Fatalf("dial /other: %v %v", resp, err)
	}
}

// TestWSHalfSentUpgrade: a request head that stops half-way is cut after
// FrameTimeout, produces no events, and stalls nobody meanwhile.
func TestWSHalfSentUpgrade(t *testing.T) {
	s, ev := echoWS(t, hzOpt(func(c *Config) { c.FrameTimeout = 200 * time.Millisecond }))
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := wsRequest(s.Addr().String(), "/ws")
	if _, err := conn.Write([]byte(req[:len(req)/2])); err != nil {
		t.Fatal(err)
	}
	c := coderDial(t, s, nil) // served while the other waits
	ev.nextConn(t)
	if err := c.Write(context.Background(), websocket.MessageText, []byte("alive")); err != nil {
		t.Fatal(err)
	}
	if m := coderMsg(t, c); m.BodyString() != "alive" {
		t.Errorf("echo %q", m.Body())
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatalf("half-sent upgrade got %d bytes, want EOF", n)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("half-sent upgrade not cut by FrameTimeout")
	}
	if conns, _ := ev.counts(); conns != 1 {
		t.Errorf("%d connection events, want 1", conns)
	}
}

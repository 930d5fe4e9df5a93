package engine

import (
	"bufio"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// startServer starts s on 127.0.0.1:0 and stops it when the test ends.
func startServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := NewServer("127.0.0.1", 0, append([]Option{WithEventLoops(2)}, opts...)...)
	return s
}

func run(t testing.TB, s *Server) {
	t.Helper()
	if err := s.StartAsync(); err != nil {
		t.Fatalf("StartAsync: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
}

// rawConn is a minimal protocol peer for engine tests.
type rawConn struct {
	t testing.TB
	net.Conn
	r *bufio.Reader
}

func dial(t testing.TB, s *Server) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, Conn: c, r: bufio.NewReader(c)}
}

func (c *rawConn) send(m *proto.Message) {
	c.t.Helper()
	b, err := proto.AppendFrame(nil, m)
	if err != nil {
		c.t.Fatal(err)
	}
	c.write(b)
}

func (c *rawConn) write(b []byte) {
	c.t.Helper()
	if _, err := c.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// readFrame returns the next frame's kind, message (for MESSAGE) and rest.
func (c *rawConn) readFrame() (proto.Kind, *proto.Message, []byte, error) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	head := make([]byte, 4)
	if _, err := io.ReadFull(c.r, head); err != nil {
		return 0, nil, nil, err
	}
	size, err := proto.FrameSize(head, 0)
	if err != nil {
		return 0, nil, nil, err
	}
	payload := make([]byte, size-4)
	if _, err := io.ReadFull(c.r, payload); err != nil {
		return 0, nil, nil, err
	}
	m := proto.NewMessage()
	k, rest, err := proto.ParsePayload(payload, m, nil)
	return k, m, rest, err
}

// readMessage reads frames until a MESSAGE, answering nothing else.
func (c *rawConn) readMessage() *proto.Message {
	c.t.Helper()
	for {
		k, m, _, err := c.readFrame()
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if k == proto.KindMessage {
			return m
		}
	}
}

// readClose reads frames until CLOSE and returns its reason.
func (c *rawConn) readClose() string {
	c.t.Helper()
	for {
		k, _, rest, err := c.readFrame()
		if err != nil {
			c.t.Fatalf("read until CLOSE: %v", err)
		}
		if k == proto.KindClose {
			return string(rest)
		}
	}
}

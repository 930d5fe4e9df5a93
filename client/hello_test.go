package client

import (
	"bytes"
	"testing"
	"time"
)

// A client speaks first, at once, even when the application sends nothing:
// a server that tells transports apart by the first byte must not wait.
func TestHelloOnConnect(t *testing.T) {
	s := newFakeServer(t)
	c := New()
	t.Cleanup(func() { c.Close() })
	if err := c.Connect("127.0.0.1", s.port()); err != nil {
		t.Fatal(err)
	}
	s.ln.SetDeadline(time.Now().Add(waitTimeout))
	conn, err := s.ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(waitTimeout))
	got := make([]byte, 16)
	n, err := conn.Read(got)
	if err != nil {
		t.Fatal(err)
	}
	// An empty PONG: the first byte is 0x00, as for every v1 frame, and a
	// v1 server ignores it without answering.
	if want := []byte{0, 0, 0, 1, 2}; !bytes.Equal(got[:n], want) {
		t.Fatalf("first bytes % x, want % x", got[:n], want)
	}
}

package engine

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/engine/wsproto"
	"github.com/simpleserver-go/simpleserver/proto"
)

func echoWS(t *testing.T, opts ...Option) (*Server, *hzEvents) {
	s := startServer(t, append(wsOpts(), opts...)...)
	ev := hzRecord(s)
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) { _ = c.Send(m) })
	run(t, s)
	return s, ev
}

// TestWSEcho: a binary message is one v1 payload and comes back as one; a
// text message is a headerless MESSAGE whose body is the text.
func TestWSEcho(t *testing.T) {
	for _, inline := range []bool{false, true} {
		s, ev := echoWS(t, WithInline(inline))
		c, resp := wsDial(t, s, "/ws", "Sec-WebSocket-Protocol: other, simpleserver.v1")
		if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "simpleserver.v1" {
			t.Errorf("subprotocol %q", got)
		}
		if got := resp.Header.Get("Sec-WebSocket-Extensions"); got != "" {
			t.Errorf("extensions granted: %q", got)
		}
		ev.nextConn(t)
		c.sendMsg(proto.NewMessage().AddHeader("handshake", "").SetBodyString("Hello server!"))
		m := c.readMessage()
		if !m.HasHeader("handshake") || m.BodyString() != "Hello server!" {
			t.Errorf("echo: %v", m)
		}
		c.send(true, wsproto.OpText, []byte("hi ✓"))
		m = c.readMessage()
		if m.NumHeaders() != 0 || m.BodyString() != "hi ✓" {
			t.Errorf("text echo: %d headers, body %q", m.NumHeaders(), m.Body())
		}
		c.send(true, wsproto.OpClose, append([]byte{0x03, 0xe8}, "bye"...))
		code, _ := c.readClose()
		if code != 1000 {
			t.Errorf("close echo code %d", code)
		}
		d := ev.nextDisc(t, 10*time.Second)
		var pc *PeerCloseError
		if !errors.As(d.reason, &pc) || pc.Reason != "bye" || pc.Code != 1000 {
			t.Errorf("disconnect reason %v", d.reason)
		}
	}
}

// TestHTTPPages: plain GETs get the configured page, or 404/405/426, and
// never become clients.
func TestHTTPPages(t *testing.T) {
	page := []byte("<!doctype html><title>chat</title>")
	s := startServer(t, append(wsOpts(), WithHTTPPage("/", "text/html; charset=utf-8", page))...)
	ev := hzRecord(s)
	run(t, s)
	base := "http://" + s.Addr().String()
	get := func(path string) (*http.Response, []byte) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body := get("/")
	if resp.StatusCode != 200 || !bytes.Equal(body, page) || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("GET /: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp, _ := get("/nope"); resp.StatusCode != 404 {
		t.Errorf("GET /nope: %d", resp.StatusCode)
	}
	if resp, _ := get("/ws"); resp.StatusCode != 426 || resp.Header.Get("Sec-WebSocket-Version") != "13" {
		t.Errorf("GET /ws without upgrade: %d", resp.StatusCode)
	}
	if _, resp := wsTryDial(t, s, "/elsewhere"); resp.StatusCode != 404 {
		t.Errorf("upgrade on a wrong path: %d", resp.StatusCode)
	}
	if _, resp := wsTryDial(t, s, "/ws", "Origin: http://evil.example"); resp.StatusCode != 403 {
		t.Errorf("cross-origin upgrade: %d", resp.StatusCode)
	}
	if _, resp := wsTryDial(t, s, "/ws", "Origin: http://"+s.Addr().String()); resp.StatusCode != 101 {
		t.Errorf("same-origin upgrade: %d", resp.StatusCode)
	}
	ev.nextConn(t) // the upgraded one, and only it
	if conns, _ := ev.counts(); conns != 1 {
		t.Errorf("%d connection events, want 1", conns)
	}
}

// TestHTTPBadRequests: malformed or oversized heads get 400/426/431.
func TestHTTPBadRequests(t *testing.T) {
	s := startServer(t, wsOpts()...)
	run(t, s)
	addr := s.Addr().String()
	for _, tc := range []struct {
		req    string
		status int
	}{
		{"GARBAGE\r\n\r\n", 400},
		{"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", 426},
		{"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n", 400},
		{"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", 400},
		{"GET /ws HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 9000) + "\r\n\r\n", 431},
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c := &wsRaw{t: t, Conn: conn, r: bufio.NewReader(conn)}
		c.write([]byte(tc.req))
		if resp := c.response(); resp.StatusCode != tc.status {
			t.Errorf("%.40q: status %d, want %d", tc.req, resp.StatusCode, tc.status)
		}
		conn.Close()
	}
}

// TestDetectSilentV1: with WebSocket on, a v1 client that sends nothing
// still becomes a client (after DetectTimeout) and receives what the
// server sends it; one that speaks first becomes a client at once.
func TestDetectSilentV1(t *testing.T) {
	s := startServer(t, append(wsOpts(), hzOpt(func(c *Config) { c.DetectTimeout = 50 * time.Millisecond }))...)
	s.OnConnection.AddListener(func(c *Client) { _ = c.Send(proto.NewMessage().SetBodyString("welcome")) })
	ev := hzRecord(s)
	run(t, s)
	silent := dial(t, s)
	ev.nextConn(t)
	if m := silent.readMessage(); m.BodyString() != "welcome" {
		t.Errorf("silent v1 client got %q", m.Body())
	}
	talker := dial(t, s)
	talker.send(proto.NewMessage().SetBodyString("hello"))
	ev.nextConn(t)
	if m := talker.readMessage(); m.BodyString() != "welcome" {
		t.Errorf("talking v1 client got %q", m.Body())
	}
}

// TestMixedFanout: one Broadcast reaches TCP and WebSocket clients with the
// same payload bytes, and PreparedMessage too.
func TestMixedFanout(t *testing.T) {
	s := startServer(t, wsOpts()...)
	ev := hzRecord(s)
	run(t, s)
	tcp := dial(t, s)
	tcp.send(proto.NewMessage()) // speak first: announced at once
	ev.nextConn(t)
	ws, _ := wsDial(t, s, "/ws")
	ev.nextConn(t)
	m := proto.NewMessage().AddHeader("room", "1").SetBody(bytes.Repeat([]byte{7}, 300))
	want, _ := proto.AppendPayload(nil, m)
	pm, err := NewPreparedMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, send := range []func() error{func() error { return s.Broadcast(m) }, func() error { return s.BroadcastPrepared(pm) }} {
		if err := send(); err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 4+len(want))
		_ = tcp.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(tcp.r, head); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(head[4:], want) {
			t.Errorf("tcp payload differs")
		}
		h, p, err := ws.readFrame()
		if err != nil || h.Op != wsproto.OpBinary || !h.Fin {
			t.Fatalf("ws frame %+v: %v", h, err)
		}
		if !bytes.Equal(p, want) {
			t.Errorf("ws payload differs from the v1 payload")
		}
	}
}

// TestDetectWaitsForFirstByte: by default a connection stays undecided
// until its first byte, however late: a browser's preconnected socket that
// sends its GET later is still served, and a silent connection is no
// client (no events).
func TestDetectWaitsForFirstByte(t *testing.T) {
	page := []byte("page")
	s := startServer(t, append(wsOpts(), WithHTTPPage("/", "text/plain", page))...)
	ev := hzRecord(s)
	run(t, s)
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A v1 client that speaks proves the server is up and detecting; the
	// preconnected socket, silent meanwhile, must not have become a client.
	talker := dial(t, s)
	talker.write(hzControl(proto.KindPong, nil))
	ev.nextConn(t)
	time.Sleep(300 * time.Millisecond) // a preconnected socket's idle time: what is tested
	if conns, _ := ev.counts(); conns != 1 {
		t.Fatalf("%d clients, want 1 (the silent socket is no client)", conns)
	}
	c := &wsRaw{t: t, Conn: conn, r: bufio.NewReader(conn)}
	c.write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	resp := c.response()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(body, page) {
		t.Errorf("late GET: %d %q", resp.StatusCode, body)
	}
	head, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer head.Close()
	hc := &wsRaw{t: t, Conn: head, r: bufio.NewReader(head)}
	hc.write([]byte("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"))
	if resp, err := http.ReadResponse(hc.r, &http.Request{Method: "HEAD"}); err != nil || resp.StatusCode != 200 || resp.ContentLength != int64(len(page)) {
		t.Errorf("HEAD: %v %v", resp, err)
	}
}

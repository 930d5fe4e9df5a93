package engine

import (
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
	"github.com/simpleserver-go/simpleserver/proto/legacy"
)

// These tests play an original Python SimpleServer client from the format
// alone: bytes on a raw TCP socket, each message in one write, and each
// read of up to 1024 bytes taken as one message, as the original's
// recv(1024) does.

// legacyClient is an original client.
type legacyClient struct {
	t testing.TB
	net.Conn
}

func dialLegacy(t testing.TB, s *Server) *legacyClient {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &legacyClient{t: t, Conn: c}
}

// send writes msg in one write, as the original's socket.send does.
func (c *legacyClient) send(msg string) {
	c.t.Helper()
	if n, err := c.Write([]byte(msg)); err != nil || n != len(msg) {
		c.t.Fatalf("legacy send %q: %d, %v", msg, n, err)
	}
}

// recv is the original's recv(1024): one read, one message.
func (c *legacyClient) recv() string {
	c.t.Helper()
	got, err := c.tryRecv(10 * time.Second)
	if err != nil {
		c.t.Fatalf("legacy recv: %v", err)
	}
	return got
}

func (c *legacyClient) tryRecv(timeout time.Duration) (string, error) {
	c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, legacy.MaxMessageSize)
	n, err := c.Read(buf)
	return string(buf[:n]), err
}

// expect fails unless the next read is exactly want.
func (c *legacyClient) expect(want string) {
	c.t.Helper()
	if got := c.recv(); got != want {
		c.t.Fatalf("legacy recv = %q, want %q", got, want)
	}
}

// expectClosed fails unless the server closes the connection without
// sending anything more: a legacy client gets no CLOSE frame.
func (c *legacyClient) expectClosed() {
	c.t.Helper()
	got, err := c.tryRecv(10 * time.Second)
	if !errors.Is(err, io.EOF) || got != "" {
		c.t.Fatalf("read %q, %v; want the connection closed with nothing sent", got, err)
	}
}

func legacyServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	return startServer(t, append([]Option{WithLegacyClients(true), hzQuiet()}, opts...)...)
}

// seedHandshake is the seed README's example server.
func seedHandshake(s *Server) {
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		if m.HasHeader("handshake") {
			response := proto.NewMessage()
			response.AddHeader("handshake", "example")
			response.SetBodyString("Hello from the server!")
			_ = c.Send(response)
		}
	})
}

func echo(s *Server) {
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		if err := c.Send(m); err != nil {
			c.Close("echo: " + err.Error())
		}
	})
}

func TestLegacyHandshake(t *testing.T) {
	for _, inline := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "inline"}[inline], func(t *testing.T) {
			s := legacyServer(t, WithInline(inline))
			seedHandshake(s)
			got := make(chan string, 1)
			s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
				v, _ := m.Header("handshake")
				got <- c.Transport().String() + " " + string(v) + "|" + m.BodyString()
			})
			run(t, s)
			lc := dialLegacy(t, s)
			lc.send("$handshake:|%Hello server!")
			lc.expect("$handshake:example|%Hello from the server!")
			if g := <-got; g != "legacy |Hello server!" {
				t.Fatalf("OnMessage saw %q", g)
			}
		})
	}
}

func TestLegacyEcho(t *testing.T) {
	s := legacyServer(t)
	echo(s)
	run(t, s)
	lc := dialLegacy(t, s)
	for _, tc := range []struct{ name, send, want string }{
		{"raw text", "Hello there", "$%Hello there"},
		{"raw text with separators", "a | b:c $d", "$%a | b:c $d"},
		{"empty message", "$%", "$%"},
		{"headers in order", "$a:1|b:|a:2|%body", "$a:1|b:|a:2|%body"},
		{"utf-8", "$naïve:café|%Grüße, 世界 🎮", "$naïve:café|%Grüße, 世界 🎮"},
		{"900-byte body", "$seq:1|%" + strings.Repeat("ü", 450), "$seq:1|%" + strings.Repeat("ü", 450)},
		{"1024 bytes", "$%" + strings.Repeat("x", 1022), "$%" + strings.Repeat("x", 1022)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lc.send(tc.send)
			lc.expect(tc.want)
		})
	}
}

// Lock-step, the original client's way: one message out, one in.
func TestLegacyLockStep(t *testing.T) {
	s := legacyServer(t)
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		seq, _ := m.HeaderString("seq")
		_ = c.Send(proto.NewMessage().AddHeader("ack", seq).SetBody(m.Body()))
	})
	run(t, s)
	lc := dialLegacy(t, s)
	for i := range 200 {
		seq, body := strconv.Itoa(i), strings.Repeat("n", i)
		lc.send("$seq:" + seq + "|%" + body)
		lc.expect("$ack:" + seq + "|%" + body)
	}
}

// Legacy and v1 clients in one chat room see each other's messages with
// "from" headers (the chat example's room).
func TestLegacyChatWithV1(t *testing.T) {
	s := legacyServer(t)
	ev := hzRecord(s)
	out := proto.NewMessage()
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		out.Reset()
		out.AddHeader("from", c.RemoteAddr().String()).SetBody(m.Body())
		if err := s.Broadcast(out, c); err != nil && !errors.Is(err, ErrServerClosed) {
			t.Errorf("broadcast: %v", err)
		}
	})
	run(t, s)

	v1 := dial(t, s)
	v1.write(proto.AppendPong(nil, nil)) // speak first, as the Go client does
	if c := ev.clientFor(t, v1); c.Transport() != TransportV1 {
		t.Fatalf("v1 client's transport is %v", c.Transport())
	}
	lc := dialLegacy(t, s)
	lc.send("$handshake:|%hello from python") // its first message makes it a client
	m := v1.readMessage()
	if from, _ := m.HeaderString("from"); from != lc.LocalAddr().String() || m.BodyString() != "hello from python" {
		t.Fatalf("v1 got from=%q body=%q", from, m.Body())
	}
	if c := ev.clientFor(t, lc); c.Transport() != TransportLegacy {
		t.Fatalf("legacy client's transport is %v", c.Transport())
	}

	// The original decoder reads the value up to the port's ':'.
	v1.send(proto.NewMessage().SetBodyString("hi from go"))
	lc.expect("$from:" + v1.LocalAddr().String() + "|%hi from go")
	lc.send("$%bye")
	if m := v1.readMessage(); m.BodyString() != "bye" {
		t.Fatalf("v1 got %q", m.Body())
	}
}

// A message the legacy format cannot carry is refused, never sent garbled:
// Send returns the error, a fan-out skips that client and counts it.
func TestLegacyUnrepresentable(t *testing.T) {
	s := legacyServer(t)
	ev := hzRecord(s)
	sendErr := make(chan error, 1)
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		switch m.BodyString() {
		case "send":
			sendErr <- c.Send(proto.NewMessage().SetBodyString("100% sure"))
			_ = c.Send(proto.NewMessage().SetBodyString("after"))
		case "broadcast":
			_ = s.Broadcast(proto.NewMessage().AddHeader("k", "a|b"))
			_ = s.Broadcast(proto.NewMessage().SetBodyString("fine"))
		}
	})
	run(t, s)
	lc := dialLegacy(t, s)
	lc.send("send")
	err := <-sendErr
	if !errors.Is(err, legacy.ErrUnrepresentable) || !strings.Contains(err.Error(), "body contains '%'") {
		t.Fatalf("Send = %v, want legacy.ErrUnrepresentable saying why", err)
	}
	lc.expect("$%after")

	v1 := dial(t, s)
	v1.write(proto.AppendPong(nil, nil))
	ev.clientFor(t, v1)
	before := s.Stats().SkippedSends
	lc.send("broadcast")
	if m := v1.readMessage(); !m.HasHeader("k") {
		t.Fatalf("v1 client did not get the broadcast the legacy one cannot carry")
	}
	lc.expect("$%fine")
	if got := s.Stats().SkippedSends - before; got != 1 {
		t.Fatalf("SkippedSends grew by %d, want 1", got)
	}
	ev.noDisc(t)
}

// Original clients cannot answer PINGs: they get none, and are never cut
// for idleness. A v1 client that does not answer on the same server is,
// which is the signal that the timeouts have passed.
func TestLegacyNoHeartbeat(t *testing.T) {
	s := legacyServer(t, hzOpt(func(c *Config) {
		c.PingInterval = 50 * time.Millisecond
		c.PingTimeout = 50 * time.Millisecond
	}))
	ev := hzRecord(s)
	echo(s)
	run(t, s)
	lc := dialLegacy(t, s)
	lc.send("$%first")
	lc.expect("$%first")
	quiet := dialLegacy(t, s) // connected, but has not said anything yet

	v1 := dial(t, s)
	v1.write(proto.AppendPong(nil, nil))
	v1c := ev.clientFor(t, v1)
	if d := ev.nextDisc(t, 10*time.Second); d.c != v1c || !errors.Is(d.reason, ErrIdleTimeout) {
		t.Fatalf("first disconnect %v: %v; want the silent v1 client's idle timeout", d.c, d.reason)
	}
	// Several heartbeat periods later, the legacy clients were sent
	// nothing and are still served.
	if got, err := lc.tryRecv(100 * time.Millisecond); !isTimeout(err) {
		t.Fatalf("legacy client was sent %q (%v) while silent", got, err)
	}
	lc.send("$%still here")
	lc.expect("$%still here")
	quiet.send("$%late hello")
	quiet.expect("$%late hello")
	ev.noDisc(t)
}

// The same, with the server's real defaults and a real 40 s of silence.
func TestLegacySilent40s(t *testing.T) {
	if testing.Short() {
		t.Skip("40 s of silence; TestLegacyNoHeartbeat proves the same with short timeouts")
	}
	s := legacyServer(t)
	ev := hzRecord(s)
	echo(s)
	run(t, s)
	lc := dialLegacy(t, s)
	lc.send("$handshake:|%Hello server!")
	lc.expect("$handshake:|%Hello server!")
	quiet := dialLegacy(t, s)
	if got, err := lc.tryRecv(40 * time.Second); !isTimeout(err) {
		t.Fatalf("legacy client was sent %q (%v) while silent", got, err)
	}
	lc.send("$%still here")
	lc.expect("$%still here")
	quiet.send("$%late hello")
	quiet.expect("$%late hello")
	ev.noDisc(t)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Malformed legacy input closes that client only, with no CLOSE frame,
// and OnDisconnect says why.
func TestLegacyMalformed(t *testing.T) {
	s := legacyServer(t)
	ev := hzRecord(s)
	echo(s)
	run(t, s)
	good := dialLegacy(t, s)
	good.send("$%ok")
	good.expect("$%ok")
	v1 := dial(t, s)
	v1.write(proto.AppendPong(nil, nil))
	ev.clientFor(t, v1)

	for _, tc := range []struct {
		name, send string
		want       error
	}{
		{"no percent", "$handshake:|Hello server!", legacy.ErrNoBody},
		{"header without colon", "$handshake|%Hello", legacy.ErrNoColon},
		{"invalid utf-8", "$%caf\xe9", legacy.ErrInvalidUTF8},
		{"invalid utf-8 raw", "\xff\xfe", legacy.ErrInvalidUTF8},
		{"over the limit", "$%" + strings.Repeat("x", legacy.MaxMessageSize), proto.ErrFrameTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := dialLegacy(t, s)
			bad.send("$%hello") // a client first, so that OnDisconnect tells
			bad.expect("$%hello")
			bad.send(tc.send)
			bad.expectClosed()
			d := ev.nextDisc(t, 10*time.Second)
			var pe *proto.ProtocolError
			if !errors.Is(d.reason, tc.want) || !errors.As(d.reason, &pe) {
				t.Fatalf("OnDisconnect reason %v, want %v", d.reason, tc.want)
			}
			good.send("$%still served")
			good.expect("$%still served")
		})
	}
	v1.send(proto.NewMessage().SetBodyString("v1 too"))
	if m := v1.readMessage(); m.BodyString() != "v1 too" {
		t.Fatalf("v1 echo %q", m.Body())
	}
	ev.noDisc(t)
}

// Detection: the first byte decides. 0x00 is protocol v1 (every frame up
// to 16 MiB starts with it); anything else is a legacy client when they
// are enabled, and breaks protocol v1 (a CLOSE says why) when not.
func TestLegacyDetection(t *testing.T) {
	transports := make(chan Transport, 16)
	setup := func(s *Server) {
		echo(s)
		s.OnConnection.AddListener(func(c *Client) { transports <- c.Transport() })
	}
	s := legacyServer(t)
	setup(s)
	run(t, s)
	for _, tc := range []struct {
		name  string
		first string
		want  string // what the echo looks like
	}{
		{"dollar", "$%x", "$%x"},
		{"letter", "hello", "$%hello"},
		{"digit", "42", "$%42"},
		{"control byte", "\x01", "$%\x01"},
		{"space", " ", "$% "},
		{"utf-8 lead byte", "é", "$%é"},
		{"G but not an HTTP request", "Good morning", "$%Good morning"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lc := dialLegacy(t, s)
			lc.send(tc.first)
			lc.expect(tc.want)
			if tr := <-transports; tr != TransportLegacy {
				t.Fatalf("transport %v, want legacy", tr)
			}
		})
	}
	t.Run("zero byte is v1", func(t *testing.T) {
		rc := dial(t, s)
		rc.send(proto.NewMessage().AddHeader("v", "1").SetBodyString("binary\x00ok"))
		if m := rc.readMessage(); m.BodyString() != "binary\x00ok" {
			t.Fatalf("v1 echo %q", m.Body())
		}
		if tr := <-transports; tr != TransportV1 {
			t.Fatalf("transport %v, want v1", tr)
		}
	})
	t.Run("HTTP GET is WebSocket", func(t *testing.T) {
		ws := legacyServer(t, hzOpt(func(c *Config) { c.WebSocket.Enabled = true }))
		echo(ws)
		run(t, ws)
		for _, req := range []string{"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"} {
			rc := dialLegacy(t, ws)
			rc.send(req)
			if got := rc.recv(); !strings.HasPrefix(got, "HTTP/1.1 404") {
				t.Fatalf("HTTP request %q answered %q", req, got)
			}
		}
		// One read decides: text that is not an HTTP request line is a
		// legacy message, even when it starts with a capital or "GET".
		for _, text := range []string{"Good morning", "OK then", "GET", "GETTING", "HEADS UP"} {
			lc := dialLegacy(t, ws)
			lc.send(text)
			lc.expect("$%" + text)
		}
	})
	t.Run("malformed first message", func(t *testing.T) {
		// Closed, and never a client: no events for a scanner's garbage.
		for _, garbage := range []string{"\xff", "$no body", strings.Repeat("x", 2000)} {
			lc := dialLegacy(t, s)
			lc.send(garbage)
			lc.expectClosed()
		}
	})

	// Off by default: a scanner's bytes never become messages. Every
	// connection is v1 there, and such bytes break v1.
	off := startServer(t, hzQuiet())
	msgs := make(chan string, 1)
	off.OnMessage.AddListener(func(_ *Client, m *proto.Message) { msgs <- m.BodyString() })
	run(t, off)
	rc := dial(t, off)
	rc.write([]byte("$handshake:|%Hello server!"))
	if reason := rc.readClose(); !strings.Contains(reason, "frame too large") {
		t.Fatalf("legacy bytes on a server without legacy clients: CLOSE %q", reason)
	}
	select {
	case m := <-msgs:
		t.Fatalf("legacy bytes became the message %q", m)
	default:
	}
}

// A silent connection may be an original client, so nothing may take it
// for v1 after a while.
func TestLegacyConfig(t *testing.T) {
	if _, err := New(Config{LegacyClients: true, DetectTimeout: time.Second}); err == nil || !strings.Contains(err.Error(), "DetectTimeout") {
		t.Fatalf("LegacyClients with DetectTimeout: %v, want an error naming DetectTimeout", err)
	}
	if _, err := New(Config{LegacyClients: true}); err != nil {
		t.Fatal(err)
	}
}

// With sessions on (a v1 client's first frame may be a HELLO), an original
// client's first message still makes it a plain client at once.
func TestLegacyWithSessions(t *testing.T) {
	s := legacyServer(t, hzOpt(func(c *Config) { c.SessionGrace = time.Minute }))
	seedHandshake(s)
	run(t, s)
	lc := dialLegacy(t, s)
	lc.send("$handshake:|%Hello server!")
	lc.expect("$handshake:example|%Hello from the server!")
}

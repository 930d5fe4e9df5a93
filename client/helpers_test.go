package client

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/simpleserver-go/simpleserver/proto"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTimeout bounds every wait in these tests; reaching it is a failure,
// never a synchronisation.
const waitTimeout = 5 * time.Second

// fakeServer is a listener that speaks the protocol by hand. It starts no
// goroutines: the test accepts synchronously after Connect returns (the
// kernel completes the handshake before Accept is called).
type fakeServer struct {
	t  testing.TB
	ln *net.TCPListener
}

func newFakeServer(t testing.TB) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &fakeServer{t: t, ln: ln.(*net.TCPListener)}
}

func (s *fakeServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// accept returns the next connection, failing the test after waitTimeout.
func (s *fakeServer) accept() *peer {
	s.t.Helper()
	s.ln.SetDeadline(time.Now().Add(waitTimeout))
	conn, err := s.ln.Accept()
	if err != nil {
		s.t.Fatalf("accept: %v", err)
	}
	s.t.Cleanup(func() { conn.Close() })
	p := &peer{t: s.t, conn: conn}
	// Every client speaks first: an empty PONG (hello.go).
	if f := p.readFrame(); f.kind != proto.KindPong || len(f.rest) != 0 {
		s.t.Fatalf("first frame from the client: %v % x, want an empty PONG", f.kind, f.raw)
	}
	return p
}

// connect returns a Client connected to s, and the server's side of it.
// The client is closed when the test ends.
func connect(t testing.TB, s *fakeServer, opts ...Option) (*Client, *peer) {
	t.Helper()
	c := New(opts...)
	t.Cleanup(func() { c.Close() })
	if err := c.Connect("127.0.0.1", s.port()); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return c, s.accept()
}

// peer is the server's side of one connection.
type peer struct {
	t    testing.TB
	conn net.Conn
	buf  []byte // received, not yet returned
}

// frame is one frame as the server received it.
type frame struct {
	kind proto.Kind
	rest []byte         // control frame data
	msg  *proto.Message // MESSAGE, decoded
	raw  []byte         // the whole frame, length prefix included
}

// readFrame returns the next frame from the client, failing the test on
// error or after waitTimeout.
func (p *peer) readFrame() frame {
	p.t.Helper()
	f, err := p.tryReadFrame()
	if err != nil {
		p.t.Fatalf("server: reading a frame: %v", err)
	}
	return f
}

func (p *peer) tryReadFrame() (frame, error) {
	p.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	chunk := make([]byte, 4096)
	for {
		payload, n, err := proto.Split(p.buf, proto.MaxFrameSizeLimit)
		if err != nil {
			return frame{}, err
		}
		if n > 0 {
			raw := append([]byte(nil), p.buf[:n]...)
			p.buf = p.buf[n:]
			payload = raw[proto.LengthSize:]
			f := frame{raw: raw, msg: new(proto.Message)}
			f.kind, f.rest, err = proto.ParsePayload(payload, f.msg, nil)
			return f, err
		}
		k, err := p.conn.Read(chunk)
		p.buf = append(p.buf, chunk[:k]...)
		if err != nil {
			return frame{}, err
		}
	}
}

// readMessage returns the next frame, which must be a MESSAGE.
func (p *peer) readMessage() *proto.Message {
	p.t.Helper()
	f := p.readFrame()
	if f.kind != proto.KindMessage {
		p.t.Fatalf("server: got %v %q, want MESSAGE", f.kind, f.rest)
	}
	return f.msg
}

// expectClose reads frames until a CLOSE, returns its reason, and checks
// that the client then closes (EOF). Messages before the CLOSE are skipped.
func (p *peer) expectClose() string {
	p.t.Helper()
	for {
		f := p.readFrame()
		if f.kind != proto.KindClose {
			continue
		}
		p.expectEOF()
		return string(f.rest)
	}
}

// expectEOF checks that the client closes the connection without sending
// anything more.
func (p *peer) expectEOF() {
	p.t.Helper()
	f, err := p.tryReadFrame()
	if err == nil {
		p.t.Fatalf("server: got %v %q, want EOF", f.kind, f.rest)
	}
	if !errors.Is(err, io.EOF) {
		p.t.Fatalf("server: got %v, want EOF", err)
	}
}

func (p *peer) write(b []byte) {
	p.t.Helper()
	p.conn.SetWriteDeadline(time.Now().Add(waitTimeout))
	if _, err := p.conn.Write(b); err != nil {
		p.t.Fatalf("server: write: %v", err)
	}
}

func (p *peer) send(m *proto.Message) {
	p.t.Helper()
	b, err := proto.AppendFrame(nil, m)
	if err != nil {
		p.t.Fatal(err)
	}
	p.write(b)
}

// closeWith sends CLOSE with reason and closes, as a server does.
func (p *peer) closeWith(reason string) {
	p.t.Helper()
	p.write(proto.AppendClose(nil, reason))
	p.conn.Close()
}

func msg(body string, headers ...string) *proto.Message {
	m := proto.NewMessage()
	for i := 0; i+1 < len(headers); i += 2 {
		m.AddHeader(headers[i], headers[i+1])
	}
	return m.SetBodyString(body)
}

// receive waits for the next message, failing the test on error.
func receive(t *testing.T, c *Client) *proto.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	m, err := c.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return m
}

// receiveErr waits for Receive to return an error, failing the test if a
// message comes first.
func receiveErr(t *testing.T, c *Client) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	m, err := c.Receive(ctx)
	if err == nil {
		t.Fatalf("Receive: got message %q, want an error", m.Body())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("Receive: timed out waiting for the connection to end")
	}
	return err
}

// isTimeout reports whether err is a deadline error.
func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/simpleserver-go/simpleserver/proto"
)

func TestConnectAndSecondConnectFails(t *testing.T) {
	s := newFakeServer(t)
	c, _ := connect(t, s)
	if err := c.Connect("127.0.0.1", s.port()); !errors.Is(err, ErrAlreadyConnected) {
		t.Fatalf("second Connect: got %v, want ErrAlreadyConnected", err)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("Err on a healthy connection: %v", err)
	}
}

func TestConnectRefusedFailsFastAndMayBeRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now

	c := New(WithDialTimeout(waitTimeout))
	t.Cleanup(func() { c.Close() })
	start := time.Now()
	err = c.Connect("127.0.0.1", port)
	if err == nil {
		t.Fatal("Connect to a closed port succeeded")
	}
	if d := time.Since(start); d > waitTimeout/2 {
		t.Fatalf("Connect to a closed port took %v: it should be refused at once", d)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Fatalf("error %q does not name the address", err)
	}

	// The failed attempt leaves the client usable.
	s := newFakeServer(t)
	if err := c.Connect("127.0.0.1", s.port()); err != nil {
		t.Fatalf("Connect after a failed Connect: %v", err)
	}
	s.accept()
}

func TestConnectInvalidArguments(t *testing.T) {
	for _, port := range []int{0, -1, 65536} {
		if err := New().Connect("127.0.0.1", port); err == nil {
			t.Errorf("Connect with port %d succeeded", port)
		}
	}
	bad := []Option{
		WithQueueSize(0), WithDialTimeout(0), WithWriteTimeout(-1), WithCloseTimeout(0),
		WithLimits(proto.Limits{MaxFrameSize: -1}), WithDialFunc(nil),
	}
	for i, o := range bad {
		if err := New(o).Connect("127.0.0.1", 1); err == nil {
			t.Errorf("invalid option %d: Connect succeeded", i)
		}
	}
}

// hangingDial is a dialer that never connects: it waits for its context.
func hangingDial(ctx context.Context, network, addr string) (net.Conn, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestConnectContextTimeoutAndCancel(t *testing.T) {
	t.Run("ctx deadline", func(t *testing.T) {
		c := New(WithDialFunc(hangingDial))
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := c.ConnectContext(ctx, "127.0.0.1", 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want DeadlineExceeded", err)
		}
	})
	t.Run("dial timeout option", func(t *testing.T) {
		c := New(WithDialFunc(hangingDial), WithDialTimeout(50*time.Millisecond))
		if err := c.Connect("127.0.0.1", 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want DeadlineExceeded", err)
		}
	})
	t.Run("ctx cancel", func(t *testing.T) {
		c := New(WithDialFunc(hangingDial))
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- c.ConnectContext(ctx, "127.0.0.1", 1) }()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want Canceled", err)
		}
	})
	t.Run("already cancelled, real dialer", func(t *testing.T) {
		s := newFakeServer(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := New().ConnectContext(ctx, "127.0.0.1", s.port()); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want Canceled", err)
		}
	})
	t.Run("Close cancels a dial", func(t *testing.T) {
		dialing := make(chan struct{})
		c := New(WithDialFunc(func(ctx context.Context, n, a string) (net.Conn, error) {
			close(dialing)
			return hangingDial(ctx, n, a)
		}))
		errc := make(chan error, 1)
		go func() { errc <- c.Connect("127.0.0.1", 1) }()
		<-dialing
		c.Close()
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Fatalf("got %v, want ErrClosed", err)
		}
	})
}

func TestNotConnected(t *testing.T) {
	c := New()
	if err := c.Send(msg("x")); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Send: got %v", err)
	}
	if err := c.SendRaw([]byte("x")); !errors.Is(err, ErrNotConnected) {
		t.Errorf("SendRaw: got %v", err)
	}
	if _, err := c.Receive(context.Background()); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Receive: got %v", err)
	}
	if m := c.Read(); m != nil {
		t.Errorf("Read: got %v", m)
	}
	if err := c.Err(); err != nil {
		t.Errorf("Err: got %v", err)
	}
	// Close before Connect works, and then Connect is refused.
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := c.Connect("127.0.0.1", 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Connect after Close: got %v", err)
	}
	if err := c.Send(msg("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: got %v", err)
	}
}

func TestSendEncodesExactlyAppendFrame(t *testing.T) {
	s := newFakeServer(t)
	c, p := connect(t, s)
	m := msg("Hello server!", "handshake", "", "value_header", "this is a value", "handshake", "again")
	want, err := proto.AppendFrame(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(m); err != nil {
		t.Fatal(err)
	}
	if f := p.readFrame(); !bytes.Equal(f.raw, want) {
		t.Fatalf("wire bytes\n got % x\nwant % x", f.raw, want)
	}
	// An empty message is valid too.
	if err := c.Send(proto.NewMessage()); err != nil {
		t.Fatal(err)
	}
	if f := p.readFrame(); !bytes.Equal(f.raw, []byte{0, 0, 0, 2, 0, 0}) {
		t.Fatalf("empty message: got % x", f.raw)
	}
}

func TestSendInvalidMessageKeepsConnection(t *testing.T) {
	s := newFakeServer(t)
	c, p := connect(t, s)
	if err := c.Send(msg("x", "", "empty name")); !errors.Is(err, proto.ErrBadHeaderName) {
		t.Fatalf("got %v, want ErrBadHeaderName", err)
	}
	if err := c.Send(nil); !errors.Is(err, ErrNilMessage) {
		t.Fatalf("Send(nil): got %v", err)
	}
	if err := c.Send(msg("still fine")); err != nil {
		t.Fatal(err)
	}
	if got := p.readMessage().BodyString(); got != "still fine" {
		t.Fatalf("got %q", got)
	}
}

func TestSendRawArrivesAsHeaderlessMessage(t *testing.T) {
	s := newFakeServer(t)
	c, p := connect(t, s)
	raw := []byte("raw \x00\xff bytes")
	if err := c.SendRaw(raw); err != nil {
		t.Fatal(err)
	}
	m := p.readMessage()
	if m.NumHeaders() != 0 || !bytes.Equal(m.Body(), raw) {
		t.Fatalf("got %d headers, body %q", m.NumHeaders(), m.Body())
	}
	if err := c.SendRaw(nil); err != nil {
		t.Fatal(err)
	}
	if m := p.readMessage(); m.NumHeaders() != 0 || len(m.Body()) != 0 {
		t.Fatalf("empty raw: got %d headers, body %q", m.NumHeaders(), m.Body())
	}
}

func TestConcurrentSendKeepsFramesIntact(t *testing.T) {
	const senders, perSender = 50, 200
	s := newFakeServer(t)
	c, p := connect(t, s)

	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Bodies of varying size, so that frames of many lengths interleave.
			body := bytes.Repeat([]byte{byte('a' + g%26)}, 1+g*37)
			for i := range perSender {
				m := proto.NewMessage().AddHeader("g", strconv.Itoa(g)).AddHeader("i", strconv.Itoa(i)).SetBody(body)
				if err := c.Send(m); err != nil {
					errs <- err
					return
				}
			}
		}()
	}

	next := make([]int, senders) // next sequence number expected per sender
	for range senders * perSender {
		m := p.readMessage()
		g, _ := strconv.Atoi(string(mustHeader(t, m, "g")))
		i, _ := strconv.Atoi(string(mustHeader(t, m, "i")))
		if i != next[g] {
			t.Fatalf("sender %d: got message %d, want %d", g, i, next[g])
		}
		next[g]++
		if want := bytes.Repeat([]byte{byte('a' + g%26)}, 1+g*37); !bytes.Equal(m.Body(), want) {
			t.Fatalf("sender %d message %d: body corrupted", g, i)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func mustHeader(t *testing.T, m *proto.Message, name string) []byte {
	t.Helper()
	v, ok := m.Header(name)
	if !ok {
		t.Fatalf("message without header %q", name)
	}
	return v
}

func TestReadIsNonBlocking(t *testing.T) {
	s := newFakeServer(t)
	c, p := connect(t, s)
	if m := c.Read(); m != nil {
		t.Fatalf("Read with nothing sent: got %q", m.Body())
	}
	p.send(msg("hello", "h", "v"))

	deadline := time.Now().Add(waitTimeout)
	var m *proto.Message
	for m == nil {
		if time.Now().After(deadline) {
			t.Fatal("Read returned nil until the deadline")
		}
		if m = c.Read(); m == nil {
			time.Sleep(time.Millisecond) // polling is what Read is for
		}
	}
	if m.BodyString() != "hello" || !m.HasHeader("h") {
		t.Fatalf("got %q", m.Body())
	}
	if m := c.Read(); m != nil {
		t.Fatalf("second Read: got %q", m.Body())
	}
}

func TestReceivedMessagesBelongToCaller(t *testing.T) {
	s := newFakeServer(t)
	c, p := connect(t, s)
	// Many frames in one write, so they share the reader's buffer.
	var b []byte
	for i := range 100 {
		b, _ = proto.AppendFrame(b, msg("body"+strconv.Itoa(i), "n", strconv.Itoa(i)))
	}
	p.write(b)
	kept := make([]*proto.Message, 100)
	for i := range kept {
		kept[i] = receive(t, c)
	}
	// Overwrite the reader's buffer with more traffic, then check them all.
	for range 100 {
		p.send(msg(string(bytes.Repeat([]byte("z"), 300)), "n", "zzzz"))
		receive(t, c)
	}
	for i, m := range kept {
		if m.BodyString() != "body"+strconv.Itoa(i) || string(mustHeader(t, m, "n")) != strconv.Itoa(i) {
			t.Fatalf("kept message %d changed: %q", i, m.Body())
		}
	}
}

func TestReceiveContext(t *testing.T) {
	s := newFakeServer(t)
	c, p := connect(t, s)

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Receive(ctx)
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want Canceled", err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Receive(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want DeadlineExceeded", err)
	}

	// The connection is unaffected.
	p.send(msg("after"))
	if got := receive(t, c).BodyString(); got != "after" {
		t.Fatalf("got %q", got)
	}
}

func TestPingAnsweredWithIdenticalPong(t *testing.T) {
	s := newFakeServer(t)
	_, p := connect(t, s)
	for _, data := range [][]byte{nil, []byte("x"), []byte("\x00\x01\xfe\xff"), bytes.Repeat([]byte("p"), proto.MaxPingPayload)} {
		p.write(proto.AppendPing(nil, data))
		f := p.readFrame()
		if f.kind != proto.KindPong || !bytes.Equal(f.rest, data) {
			t.Fatalf("PING %q: got %v %q", data, f.kind, f.rest)
		}
	}
}

func TestServerCloseDeliversEarlierMessagesThenReason(t *testing.T) {
	s := newFakeServer(t)
	c, p := connect(t, s)
	for i := range 3 {
		p.send(msg("m" + strconv.Itoa(i)))
	}
	p.closeWith("server shutting down")

	for i := range 3 {
		if got := receive(t, c).BodyString(); got != "m"+strconv.Itoa(i) {
			t.Fatalf("message %d: got %q", i, got)
		}
	}
	err := receiveErr(t, c)
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Reason != "server shutting down" {
		t.Fatalf("got %v, want CloseError with the reason", err)
	}
	if !errors.Is(err, ErrServerClosed) {
		t.Fatalf("%v is not ErrServerClosed", err)
	}
	if err := c.Err(); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Err: got %v", err)
	}
	if m := c.Read(); m != nil {
		t.Fatalf("Read after CLOSE: got %q", m.Body())
	}
	if _, err := c.Receive(context.Background()); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("second Receive: got %v", err)
	}
	if err := c.Send(msg("late")); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Send after server CLOSE: got %v", err)
	}
	// After the server's CLOSE the client says nothing more.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Err(); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Err after Close keeps the first reason: got %v", err)
	}
}

// A program that polls Read and stops when Read returns nil and Err does
// not must see every message sent before the CLOSE.
func TestErrWaitsForQueuedMessages(t *testing.T) {
	s := newFakeServer(t)
	c, p := connect(t, s)
	for i := range 50 {
		p.send(msg(strconv.Itoa(i)))
	}
	p.closeWith("bye")

	got := 0
	deadline := time.Now().Add(waitTimeout)
	for {
		if m := c.Read(); m != nil {
			if m.BodyString() != strconv.Itoa(got) {
				t.Fatalf("got %q, want %d", m.Body(), got)
			}
			got++
			continue
		}
		if err := c.Err(); err != nil {
			if !errors.Is(err, ErrServerClosed) {
				t.Fatalf("Err: %v", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("connection did not end")
		}
		time.Sleep(time.Millisecond)
	}
	if got != 50 {
		t.Fatalf("read %d messages before Err, want 50", got)
	}
}

func TestServerVanishes(t *testing.T) {
	t.Run("between frames", func(t *testing.T) {
		s := newFakeServer(t)
		c, p := connect(t, s)
		p.send(msg("last"))
		p.conn.Close()
		if got := receive(t, c).BodyString(); got != "last" {
			t.Fatalf("got %q", got)
		}
		err := receiveErr(t, c)
		if !errors.Is(err, ErrConnectionLost) || !errors.Is(err, io.EOF) {
			t.Fatalf("got %v, want ErrConnectionLost wrapping EOF", err)
		}
	})
	t.Run("mid frame", func(t *testing.T) {
		s := newFakeServer(t)
		c, p := connect(t, s)
		b, _ := proto.AppendFrame(nil, msg("cut short"))
		p.write(b[:len(b)-3])
		p.conn.Close()
		err := receiveErr(t, c)
		if !errors.Is(err, ErrConnectionLost) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("got %v, want ErrConnectionLost wrapping ErrUnexpectedEOF", err)
		}
	})
}

func TestProtocolErrorFromServer(t *testing.T) {
	tests := []struct {
		name   string
		limits proto.Limits
		bytes  []byte
		want   error
	}{
		{"unknown kind", proto.Limits{}, []byte{0, 0, 0, 2, 0x07, 'x'}, proto.ErrUnknownKind},
		{"empty frame", proto.Limits{}, []byte{0, 0, 0, 0}, proto.ErrEmptyFrame},
		// Only the length prefix is sent: the frame is refused before its body.
		{"oversized frame", proto.Limits{MaxFrameSize: 1024}, []byte{0, 0, 0x08, 0}, proto.ErrFrameTooLarge},
		{"malformed message", proto.Limits{}, []byte{0, 0, 0, 3, 0, 5, 1}, proto.ErrMalformed},
		{"too many headers", proto.Limits{MaxHeaders: 1}, []byte{0, 0, 0, 8, 0, 2, 1, 'a', 0, 1, 'b', 0}, proto.ErrTooManyHeaders},
		{"ping too large", proto.Limits{}, append([]byte{0, 0, 0, 127, 1}, make([]byte, 126)...), proto.ErrPingTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeServer(t)
			c, p := connect(t, s, WithLimits(tt.limits))
			p.send(msg("before"))
			p.write(tt.bytes)

			reason := p.expectClose()
			if !strings.Contains(reason, tt.want.Error()) {
				t.Fatalf("CLOSE reason %q does not say %q", reason, tt.want)
			}
			if got := receive(t, c).BodyString(); got != "before" {
				t.Fatalf("got %q", got)
			}
			err := receiveErr(t, c)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Receive: got %v, want %v", err, tt.want)
			}
			var pe *proto.ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("%v does not carry a *proto.ProtocolError", err)
			}
			if err := c.Err(); !errors.Is(err, tt.want) {
				t.Fatalf("Err: got %v, want %v", err, tt.want)
			}
			if err := c.Send(msg("x")); !errors.Is(err, tt.want) {
				t.Fatalf("Send after protocol error: got %v", err)
			}
		})
	}
}

func TestFrameSplitByteByByte(t *testing.T) {
	s := newFakeServer(t)
	c, p := connect(t, s)
	var b []byte
	b, _ = proto.AppendFrame(b, msg("first", "a", "1"))
	b = proto.AppendPing(b, []byte("split ping"))
	b, _ = proto.AppendFrame(b, msg("second", "b", ""))
	for i := range b {
		p.write(b[i : i+1]) // NoDelay is on: each byte leaves in its own segment
	}
	if got := receive(t, c).BodyString(); got != "first" {
		t.Fatalf("got %q", got)
	}
	if f := p.readFrame(); f.kind != proto.KindPong || string(f.rest) != "split ping" {
		t.Fatalf("got %v %q", f.kind, f.rest)
	}
	if m := receive(t, c); m.BodyString() != "second" || !m.HasHeader("b") {
		t.Fatalf("got %q", m.Body())
	}
}

// pipeDial connects the client to one end of a net.Pipe, whose reads never
// return more than one write: it makes byte-by-byte delivery certain. A
// pipe write waits for its read, so the server's end takes the client's
// hello before it is handed over.
func pipeDial(server chan<- net.Conn) DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		a, b := net.Pipe()
		go func() {
			got := make([]byte, len(hello))
			if _, err := io.ReadFull(b, got); err != nil || !bytes.Equal(got, hello) {
				b.Close() // the test then fails on the closed pipe
			}
			server <- b
		}()
		return a, nil
	}
}

func TestFrameSplitByteByBytePipe(t *testing.T) {
	srv := make(chan net.Conn, 1)
	c := New(WithDialFunc(pipeDial(srv)), WithCloseTimeout(50*time.Millisecond))
	if err := c.Connect("pipe", 1); err != nil {
		t.Fatal(err)
	}
	conn := <-srv
	defer conn.Close()
	var b []byte
	for i := range 20 {
		b, _ = proto.AppendFrame(b, msg(fmt.Sprint("body ", i, " ", bytes.Repeat([]byte{'x'}, i*50)), "i", strconv.Itoa(i)))
	}
	conn.SetWriteDeadline(time.Now().Add(waitTimeout))
	for i := range b {
		if _, err := conn.Write(b[i : i+1]); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		m := receive(t, c)
		if string(mustHeader(t, m, "i")) != strconv.Itoa(i) || !bytes.HasPrefix(m.Body(), []byte(fmt.Sprint("body ", i, " "))) {
			t.Fatalf("message %d: got %q", i, m.Body())
		}
	}
	// A pipe has no CloseWrite: Close still ends, after its close timeout.
	go func() { // read the CLOSE the client writes, so that the pipe does not block it
		io.Copy(io.Discard, conn)
	}()
	c.Close()
	conn.Close()
}

func TestManyFramesCoalescedInOneWrite(t *testing.T) {
	const n = 2000
	s := newFakeServer(t)
	c, p := connect(t, s)
	var b []byte
	for i := range n {
		b, _ = proto.AppendFrame(b, msg(strconv.Itoa(i), "i", strconv.Itoa(i)))
		if i%100 == 0 {
			b = proto.AppendPing(b, []byte(strconv.Itoa(i)))
		}
	}
	// A big frame in the middle of the stream grows the read buffer.
	big := bytes.Repeat([]byte("B"), 300<<10)
	b, _ = proto.AppendFrame(b, proto.NewMessage().SetBody(big))
	p.write(b)

	for i := range n {
		if got := receive(t, c).BodyString(); got != strconv.Itoa(i) {
			t.Fatalf("message %d: got %q", i, got)
		}
	}
	if got := receive(t, c).Body(); !bytes.Equal(got, big) {
		t.Fatalf("big message: got %d bytes", len(got))
	}
	for i := 0; i < n; i += 100 {
		if f := p.readFrame(); f.kind != proto.KindPong || string(f.rest) != strconv.Itoa(i) {
			t.Fatalf("got %v %q, want PONG %d", f.kind, f.rest, i)
		}
	}
}

func TestFullQueueDropsNothing(t *testing.T) {
	const n = 500
	s := newFakeServer(t)
	c, p := connect(t, s, WithQueueSize(2))
	body := bytes.Repeat([]byte("q"), 4096) // enough to fill socket buffers too
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			b, _ := proto.AppendFrame(nil, proto.NewMessage().AddHeader("i", strconv.Itoa(i)).SetBody(body))
			if _, err := p.conn.Write(b); err != nil {
				return
			}
		}
	}()
	for i := range n {
		if got := string(mustHeader(t, receive(t, c), "i")); got != strconv.Itoa(i) {
			t.Fatalf("message %d: got %s", i, got)
		}
	}
	<-done
}

func TestCloseIsGracefulIdempotentAndLeavesNoGoroutine(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	s := newFakeServer(t)
	c, p := connect(t, s)
	p.send(msg("unread")) // Close discards what was never read

	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Close(); err != nil {
				t.Error(err)
			}
		}()
	}
	// The server sees CLOSE, then EOF (a FIN, not a reset), and closes too:
	// that lets Close return without waiting for its timeout.
	if reason := p.expectClose(); reason != "client closed" {
		t.Fatalf("CLOSE reason %q", reason)
	}
	p.conn.Close()
	wg.Wait()

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(msg("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if err := c.SendRaw(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("SendRaw after Close: %v", err)
	}
	if _, err := c.Receive(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Receive after Close: %v", err)
	}
	if m := c.Read(); m != nil {
		t.Fatalf("Read after Close: %q", m.Body())
	}
	if err := c.Err(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Err after Close: %v", err)
	}
	if err := c.Connect("127.0.0.1", s.port()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Connect after Close: %v", err)
	}
	goleak.VerifyNone(t, ignore)
}

func TestCloseWithReason(t *testing.T) {
	s := newFakeServer(t)
	c, p := connect(t, s)
	if err := c.Send(msg("before")); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		c.CloseWithReason("going away")
	}()
	if got := p.readMessage().BodyString(); got != "before" {
		t.Fatalf("got %q", got)
	}
	if reason := p.expectClose(); reason != "going away" {
		t.Fatalf("CLOSE reason %q", reason)
	}
	p.conn.Close()
	<-closed
}

// A server that ignores the CLOSE and keeps the connection open delays
// Close by the close timeout at most.
func TestCloseTimesOutOnSilentServer(t *testing.T) {
	s := newFakeServer(t)
	c, p := connect(t, s, WithCloseTimeout(100*time.Millisecond))
	start := time.Now()
	c.Close()
	if d := time.Since(start); d > waitTimeout/2 {
		t.Fatalf("Close took %v", d)
	}
	if reason := p.expectClose(); reason != "client closed" {
		t.Fatalf("CLOSE reason %q", reason)
	}
}

// Close interrupts a Receive and a Send blocked on a server that reads
// nothing, and returns within its timeout.
func TestCloseUnblocksEveryone(t *testing.T) {
	s := newFakeServer(t)
	c, _ := connect(t, s, WithWriteTimeout(0), WithCloseTimeout(100*time.Millisecond))

	recvErr := make(chan error, 1)
	go func() {
		_, err := c.Receive(context.Background())
		recvErr <- err
	}()
	sendErr := make(chan error, 1)
	go func() {
		big := proto.NewMessage().SetBody(make([]byte, 1<<20))
		for {
			if err := c.Send(big); err != nil { // fills the socket buffers, then blocks
				sendErr <- err
				return
			}
		}
	}()
	c.Close()
	if err := <-recvErr; !errors.Is(err, ErrClosed) {
		t.Fatalf("Receive: got %v", err)
	}
	if err := <-sendErr; !errors.Is(err, ErrClosed) {
		t.Fatalf("Send: got %v", err)
	}
}

func TestWriteTimeoutEndsConnection(t *testing.T) {
	s := newFakeServer(t)
	c, _ := connect(t, s, WithWriteTimeout(50*time.Millisecond))
	big := proto.NewMessage().SetBody(make([]byte, 1<<20))
	var err error
	for err == nil { // the server reads nothing: the buffers fill and a write times out
		err = c.Send(big)
	}
	if !errors.Is(err, ErrConnectionLost) || !isTimeout(err) {
		t.Fatalf("got %v, want ErrConnectionLost wrapping a timeout", err)
	}
	if err := receiveErr(t, c); !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("Receive: got %v", err)
	}
}

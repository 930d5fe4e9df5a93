package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// Helpers shared by hardening_test.go, chaos_test.go and serverfuzz_test.go.
// Names start with "hz" so that they cannot collide with other test files.

// hzOpt turns a function into an Option (any func(*Config) is one).
func hzOpt(f func(c *Config)) Option { return Option(f) }

// hzQuiet discards the server's logs.
func hzQuiet() Option { return WithLogger(slog.New(slog.DiscardHandler)) }

// hzLogBuf is an io.Writer safe for concurrent use, for capturing logs.
type hzLogBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *hzLogBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *hzLogBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// hzCapture sends the server's logs at level and above to a buffer.
func hzCapture(level slog.Level) (Option, *hzLogBuf) {
	buf := &hzLogBuf{}
	l := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: level}))
	return WithLogger(l), buf
}

// hzDisc is one OnDisconnect event.
type hzDisc struct {
	c      *Client
	reason error
}

// hzEvents records a server's OnConnection and OnDisconnect events and
// checks that they pair up.
type hzEvents struct {
	mu       sync.Mutex
	conns    map[uint64]*Client
	discs    map[uint64][]error
	problems []string

	connCh chan *Client
	discCh chan hzDisc
}

// hzRecord adds recording listeners to s (before it starts).
func hzRecord(s *Server) *hzEvents {
	e := &hzEvents{
		conns:  make(map[uint64]*Client),
		discs:  make(map[uint64][]error),
		connCh: make(chan *Client, 1024),
		discCh: make(chan hzDisc, 1024),
	}
	s.OnConnection.AddListener(func(c *Client) {
		e.mu.Lock()
		if _, dup := e.conns[c.ID()]; dup {
			e.problems = append(e.problems, fmt.Sprintf("OnConnection twice for %v", c))
		}
		e.conns[c.ID()] = c
		e.mu.Unlock()
		select {
		case e.connCh <- c:
		default:
		}
	})
	s.OnDisconnect.AddListener(func(c *Client, reason error) {
		e.mu.Lock()
		if _, ok := e.conns[c.ID()]; !ok {
			e.problems = append(e.problems, fmt.Sprintf("OnDisconnect without OnConnection for %v", c))
		}
		e.discs[c.ID()] = append(e.discs[c.ID()], reason)
		if n := len(e.discs[c.ID()]); n > 1 {
			e.problems = append(e.problems, fmt.Sprintf("OnDisconnect %d times for %v: %v", n, c, e.discs[c.ID()]))
		}
		e.mu.Unlock()
		select {
		case e.discCh <- hzDisc{c, reason}:
		default:
		}
	})
	return e
}

// nextConn waits for the next OnConnection.
func (e *hzEvents) nextConn(t testing.TB) *Client {
	t.Helper()
	select {
	case c := <-e.connCh:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no OnConnection within 10s")
		return nil
	}
}

// nextDisc waits up to timeout for the next OnDisconnect.
func (e *hzEvents) nextDisc(t testing.TB, timeout time.Duration) hzDisc {
	t.Helper()
	select {
	case d := <-e.discCh:
		return d
	case <-time.After(timeout):
		t.Fatalf("no OnDisconnect within %v", timeout)
		return hzDisc{}
	}
}

// noDisc fails if an OnDisconnect is pending.
func (e *hzEvents) noDisc(t testing.TB) {
	t.Helper()
	select {
	case d := <-e.discCh:
		t.Fatalf("unexpected OnDisconnect of %v: %v", d.c, d.reason)
	default:
	}
}

// counts returns how many clients connected and how many disconnected.
func (e *hzEvents) counts() (conns, discs int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.conns), len(e.discs)
}

// reasons returns every disconnect reason recorded.
func (e *hzEvents) reasons() map[uint64]error {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[uint64]error, len(e.discs))
	for id, rs := range e.discs {
		out[id] = rs[0]
	}
	return out
}

// checkPaired fails unless every connected client was disconnected
// exactly once, and nothing else went wrong.
func (e *hzEvents) checkPaired(t testing.TB) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.problems {
		t.Error(p)
	}
	for id, c := range e.conns {
		if n := len(e.discs[id]); n != 1 {
			t.Errorf("%v: %d OnDisconnect events, want 1", c, n)
		}
	}
}

// waitFor polls cond every few milliseconds until it holds or timeout
// passes; it is for conditions no event signals.
func hzWaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// hzDialer dials s; rcvBuf > 0 sets SO_RCVBUF before connecting, so that
// the small window is what the server sees from the start.
func hzDial(t testing.TB, s *Server, rcvBuf int) *rawConn {
	t.Helper()
	d := net.Dialer{}
	if rcvBuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvBuf)
			})
			return errors.Join(err, serr)
		}
	}
	c, err := d.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, Conn: c, r: bufio.NewReaderSize(c, 64<<10)}
}

// clientFor waits for the server-side Client of raw connection rc.
func (e *hzEvents) clientFor(t testing.TB, rc net.Conn) *Client {
	t.Helper()
	want := rc.LocalAddr().String()
	var found *Client
	hzWaitFor(t, 10*time.Second, "OnConnection of "+want, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, c := range e.conns {
			if c.RemoteAddr().String() == want {
				found = c
				return true
			}
		}
		return false
	})
	return found
}

// hzSeqMsg is a message carrying sequence number seq and a body of size bytes.
func hzSeqMsg(seq, size int) *proto.Message {
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(seq + i)
	}
	return proto.NewMessage().AddHeader("seq", strconv.Itoa(seq)).SetBody(body)
}

// hzFrames reads frames from a stream reusing one buffer, for tests that
// receive megabytes and must not themselves make the heap balloon.
type hzFrames struct {
	r   io.Reader
	buf []byte
	m   proto.Message
}

// next returns the next frame's kind; for a MESSAGE, f.m holds it (valid
// until the next call); for control frames rest is their payload.
func (f *hzFrames) next() (proto.Kind, []byte, error) {
	var head [proto.LengthSize]byte
	if _, err := io.ReadFull(f.r, head[:]); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint32(head[:]))
	if n == 0 || n > 64<<20 {
		return 0, nil, fmt.Errorf("bad frame length %d", n)
	}
	if cap(f.buf) < n {
		f.buf = make([]byte, n)
	}
	p := f.buf[:n]
	if _, err := io.ReadFull(f.r, p); err != nil {
		return 0, nil, err
	}
	k, rest, err := proto.ParsePayload(p, &f.m, nil)
	return k, rest, err
}

// seq returns the "seq" header of the last MESSAGE read.
func (f *hzFrames) seq() int {
	v, ok := f.m.Header("seq")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(string(v))
	if err != nil {
		return -1
	}
	return n
}

// checkBody reports whether the last MESSAGE's body matches hzSeqMsg(seq, size).
func (f *hzFrames) checkBody(seq, size int) bool {
	b := f.m.Body()
	if len(b) != size {
		return false
	}
	for i := range b {
		if b[i] != byte(seq+i) {
			return false
		}
	}
	return true
}

// heapInuse returns the heap in use after a full collection.
func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// heapSampler records the peak HeapInuse until stopped.
type heapSampler struct {
	stop  chan struct{}
	done  chan struct{}
	peak  uint64
	gcPct int // GOGC before sampling, restored by Peak
}

// samplingGCPercent is GOGC while a sampler runs. HeapInuse counts garbage
// not yet collected, and with the default GOGC=100 the heap may reach twice
// what is live before a collection: on top of a large base (earlier tests in
// the same process) the test's own garbage alone would then pass a bound
// meant for what the server holds.
const samplingGCPercent = 10

func sampleHeap(t testing.TB, every time.Duration) *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	h.gcPct = debug.SetGCPercent(samplingGCPercent)
	t.Cleanup(func() { h.Peak() }) // stops it if the test ends early
	go func() {
		defer close(h.done)
		t := time.NewTicker(every)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			h.peak = max(h.peak, ms.HeapInuse)
			select {
			case <-t.C:
			case <-h.stop:
				return
			}
		}
	}()
	return h
}

// Peak stops the sampler and returns the peak seen.
func (h *heapSampler) Peak() uint64 {
	select {
	case <-h.stop:
	default:
		close(h.stop)
		debug.SetGCPercent(h.gcPct)
	}
	<-h.done
	return h.peak
}

// hzStartBlocking runs Start in a goroutine and waits until the server
// listens; the returned channel yields Start's result.
func hzStartBlocking(t testing.TB, s *Server) <-chan error {
	t.Helper()
	res := make(chan error, 1)
	go func() { res <- s.Start() }()
	hzWaitFor(t, 10*time.Second, "Start to listen", func() bool { return s.Addr() != nil })
	return res
}

// hzStop stops s with a timeout and fails on error.
func hzStop(t testing.TB, s *Server, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

// hzControl is a raw control frame (PING, PONG or CLOSE) with data.
func hzControl(k proto.Kind, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)+1))
	b = append(b, byte(k))
	return append(b, data...)
}

// hzFrame encodes m or fails the test.
func hzFrame(t testing.TB, m *proto.Message) []byte {
	t.Helper()
	b, err := proto.AppendFrame(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hzReadKind reads frames from rc (with a deadline) until one of kind k,
// answering nothing, and returns its rest.
func hzReadKind(rc *rawConn, k proto.Kind, timeout time.Duration) ([]byte, error) {
	rc.SetReadDeadline(time.Now().Add(timeout))
	f := hzFrames{r: rc.r}
	for {
		kind, rest, err := f.next()
		if err != nil {
			return nil, err
		}
		if kind == k {
			return bytes.Clone(rest), nil
		}
	}
}

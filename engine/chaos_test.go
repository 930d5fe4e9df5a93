package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/simpleserver-go/simpleserver/client"
	"github.com/simpleserver-go/simpleserver/proto"
)

// TestChaos runs many clients that misbehave in every way issue 4 lists —
// connecting, chatting, broadcasting, stopping reading, going silent,
// dropping mid-frame, resetting with SO_LINGER 0, sending garbage,
// reconnecting — against one server, bounded in time and count. Then:
// every OnConnection had exactly one OnDisconnect with a known reason,
// Clients() is empty, echoes arrived in order, nothing was logged at error
// level (no panic), the heap is back near its baseline and no goroutine
// is left behind.
//
// The default mode gets the full run; inline mode (listeners on the event
// loops) a shorter one.
func TestChaos(t *testing.T) {
	t.Run("dispatch", func(t *testing.T) {
		if testing.Short() {
			chaosRun(t, false, 100, 3*time.Second, 30)
		} else {
			chaosRun(t, false, 500, 20*time.Second, 40)
		}
	})
	t.Run("inline", func(t *testing.T) {
		if testing.Short() {
			chaosRun(t, true, 100, time.Second, 10)
		} else {
			chaosRun(t, true, 500, 5*time.Second, 10)
		}
	})
}

func chaosRun(t *testing.T, inline bool, clients int, dur time.Duration, maxSessions int) {
	base := heapInuse()

	logOpt, logs := hzCapture(slog.LevelError)
	s := startServer(t, logOpt, hzOpt(func(c *Config) {
		c.Inline = inline
		c.MaxOutboundBytes = 256 << 10
		c.PingInterval = 250 * time.Millisecond
		c.PingTimeout = 500 * time.Millisecond
		c.FrameTimeout = 300 * time.Millisecond
	}))
	ev := newChaosLedger(s)
	bulk := hzSeqMsg(0, 8<<10)
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		switch {
		case m.HasHeader("bc"):
			_ = s.Broadcast(m, c) // to the others...
			_ = c.Send(m)         // ...and the echo
		case m.HasHeader("bulk"):
			for i := 0; i < 64; i++ {
				if c.Send(bulk) != nil {
					break
				}
			}
		default:
			_ = c.Send(m) // echo
		}
	})
	if err := s.StartAsync(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			hzStop(t, s, 10*time.Second)
		}
	})
	addr := s.Addr().String()
	heap := sampleHeap(t, 50*time.Millisecond)

	st := &chaosStats{kinds: make(map[string]int)}
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 0xc4a05))
			for n := 0; n < maxSessions && time.Now().Before(deadline); n++ {
				chaosSession(t, addr, rng, st)
				time.Sleep(time.Duration(rng.IntN(100)) * time.Millisecond) // think time
			}
		}()
	}
	wg.Wait()
	t.Logf("%d sessions by kind %v; %d echo sessions kicked by the server: %v",
		st.total(), st.kinds, st.kicked.Load(), st.kickReasons())

	// Every client has gone: the server must have noticed each.
	hzWaitFor(t, 15*time.Second, "every OnDisconnect", func() bool {
		return ev.allGone() && s.NumClients() == 0
	})
	conns, byReason := ev.check(t)
	if n := len(s.Clients()); n != 0 {
		t.Errorf("Clients() has %d entries after every client left", n)
	}
	if conns < clients {
		t.Errorf("only %d connections were made", conns)
	}
	// Every reason is one the engine documents, and the misbehaviours
	// were each caught as what they are.
	t.Logf("%d connections; reasons %v", conns, byReason)
	for _, want := range []string{"peer gone", "peer close", "slow consumer", "idle timeout", "frame timeout", "protocol error"} {
		if byReason[want] == 0 {
			t.Errorf("no disconnect with reason %q", want)
		}
	}
	for _, bad := range []string{"listener panic", "shutdown", "full", "flood", "other"} {
		if byReason[bad] != 0 {
			t.Errorf("%d disconnects with reason %q", byReason[bad], bad)
		}
	}
	if out := logs.String(); out != "" {
		t.Errorf("errors logged during chaos:\n%.4000s", out)
	}

	peak := heap.Peak()
	after := heapInuse()
	t.Logf("heap: base %d KiB, peak %d KiB, after %d KiB", base>>10, peak>>10, after>>10)
	if limit := base + 8<<20; after > limit {
		t.Errorf("heap in use %d KiB after chaos, want it back near the baseline %d KiB (limit %d KiB)", after>>10, base>>10, limit>>10)
	}

	stopped = true
	hzStop(t, s, 10*time.Second)
	goleak.VerifyNone(t, gnetPoolGoroutines...)
}

// chaosLedger checks that OnConnection and OnDisconnect pair up, keeping
// only IDs and counts: holding on to the clients would hide a leak.
type chaosLedger struct {
	mu       sync.Mutex
	open     map[uint64]bool
	conns    int
	discs    int
	byReason map[string]int
	problems []string
}

func newChaosLedger(s *Server) *chaosLedger {
	l := &chaosLedger{open: make(map[uint64]bool), byReason: make(map[string]int)}
	s.OnConnection.AddListener(func(c *Client) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.conns++
		if l.open[c.ID()] {
			l.problem(fmt.Sprintf("OnConnection twice for %v", c))
		}
		l.open[c.ID()] = true
	})
	s.OnDisconnect.AddListener(func(c *Client, reason error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.discs++
		if !l.open[c.ID()] {
			l.problem(fmt.Sprintf("OnDisconnect of %v without a pending OnConnection (%v)", c, reason))
		}
		delete(l.open, c.ID())
		k := chaosReason(reason)
		l.byReason[k]++
		if k == "other" {
			l.problem(fmt.Sprintf("%v: undocumented disconnect reason %v", c, reason))
		}
	})
	return l
}

func (l *chaosLedger) problem(p string) {
	if len(l.problems) < 20 {
		l.problems = append(l.problems, p)
	}
}

func (l *chaosLedger) allGone() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.open) == 0 && l.conns == l.discs
}

// check reports the problems seen and returns the counts.
func (l *chaosLedger) check(t testing.TB) (int, map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.problems {
		t.Error(p)
	}
	if len(l.open) != 0 || l.conns != l.discs {
		t.Errorf("%d OnConnection, %d OnDisconnect, %d still open", l.conns, l.discs, len(l.open))
	}
	return l.conns, maps.Clone(l.byReason)
}

type chaosStats struct {
	mu      sync.Mutex
	kinds   map[string]int
	reasons []string
	kicked  atomic.Int64
}

func (st *chaosStats) count(kind string) {
	st.mu.Lock()
	st.kinds[kind]++
	st.mu.Unlock()
}

func (st *chaosStats) kick(reason string) {
	st.kicked.Add(1)
	st.mu.Lock()
	if len(st.reasons) < 20 {
		st.reasons = append(st.reasons, reason)
	}
	st.mu.Unlock()
}

func (st *chaosStats) kickReasons() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := append([]string(nil), st.reasons...)
	sort.Strings(out)
	return out
}

func (st *chaosStats) total() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	for _, v := range st.kinds {
		n += v
	}
	return n
}

// chaosReason names the class of a disconnect reason.
func chaosReason(r error) string {
	var pe *proto.ProtocolError
	switch {
	case errors.Is(r, ErrPeerClosed):
		return "peer close"
	case errors.Is(r, ErrPeerGone):
		return "peer gone"
	case errors.Is(r, ErrSlowConsumer):
		return "slow consumer"
	case errors.Is(r, ErrIdleTimeout):
		return "idle timeout"
	case errors.Is(r, ErrFrameTimeout):
		return "frame timeout"
	case errors.As(r, &pe):
		return "protocol error"
	case errors.Is(r, ErrListenerPanic):
		return "listener panic"
	case errors.Is(r, ErrServerShutdown):
		return "shutdown"
	case errors.Is(r, ErrServerFull):
		return "full"
	}
	return "other"
}

// chaosSession is one connection of one chaos client, with a random
// behaviour.
func chaosSession(t *testing.T, addr string, rng *rand.Rand, st *chaosStats) {
	kinds := []struct {
		name   string
		weight int
		run    func(t *testing.T, addr string, rng *rand.Rand, st *chaosStats)
	}{
		{"echo", 35, chaosEcho},
		{"client", 10, chaosClientPkg},
		{"stall", 10, chaosStall},
		{"silent", 8, chaosSilent},
		{"slowloris", 8, chaosSlowloris},
		{"midframe", 10, chaosMidFrame},
		{"garbage", 9, chaosGarbage},
		{"reset", 10, chaosReset},
	}
	total := 0
	for _, k := range kinds {
		total += k.weight
	}
	n := rng.IntN(total)
	for _, k := range kinds {
		if n < k.weight {
			st.count(k.name)
			k.run(t, addr, rng, st)
			return
		}
		n -= k.weight
	}
}

func chaosDial(t *testing.T, addr string, rcvBuf int) net.Conn {
	d := net.Dialer{Timeout: 10 * time.Second}
	if rcvBuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) {
				_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvBuf)
			})
		}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Errorf("dial: %v", err)
		return nil
	}
	return c
}

func chaosFrame(m *proto.Message) []byte {
	b, err := proto.AppendFrame(nil, m)
	if err != nil {
		panic(err)
	}
	return b
}

// chaosEnd closes conn in one of three ways: CLOSE then FIN (waiting for
// the server to close), plain FIN, or a reset.
func chaosEnd(conn net.Conn, rng *rand.Rand) {
	switch rng.IntN(3) {
	case 0:
		conn.Write(proto.AppendClose(nil, "bye"))
		conn.(*net.TCPConn).CloseWrite()
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, conn) // until the server closes
	case 1:
	case 2:
		conn.(*net.TCPConn).SetLinger(0)
	}
	conn.Close()
}

// chaosEcho chats: messages (now and then a broadcast) whose echoes must
// come back in order, PINGs answered, then one of the endings.
func chaosEcho(t *testing.T, addr string, rng *rand.Rand, st *chaosStats) {
	conn := chaosDial(t, addr, 0)
	if conn == nil {
		return
	}
	n := 1 + rng.IntN(40)
	me := fmt.Sprint(rng.Uint64()) // marks my broadcasts, which come back as echoes
	res := make(chan error, 1)
	go func() {
		f := hzFrames{r: bufio.NewReader(conn)}
		next := 0
		for {
			k, rest, err := f.next()
			if err != nil {
				res <- err
				return
			}
			switch k {
			case proto.KindPing:
				conn.Write(hzControl(proto.KindPong, rest))
			case proto.KindClose:
				res <- &client.CloseError{Reason: string(rest)}
				return
			case proto.KindMessage:
				if v, ok := f.m.Header("bc"); ok && string(v) != me {
					continue // someone else's broadcast
				}
				if seq := f.seq(); seq != next || !f.checkBody(seq, len(f.m.Body())) {
					res <- fmt.Errorf("echo seq %d, want %d: %w", seq, next, errChaosOrder)
					return
				}
				if next++; next == n {
					res <- nil
					return
				}
			}
		}
	}()
	var out []byte
	for i := 0; i < n; i++ {
		m := hzSeqMsg(i, 8+rng.IntN(200))
		if rng.IntN(100) == 0 {
			m.AddHeader("bc", me)
		}
		out = append(out, chaosFrame(m)...)
		if rng.IntN(4) == 0 || i == n-1 { // sometimes coalesced, sometimes not
			if _, err := conn.Write(out); err != nil {
				break
			}
			out = out[:0]
			time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
		}
	}
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	err := <-res
	var ce *client.CloseError
	switch {
	case err == nil:
	case errors.As(err, &ce):
		st.kick(ce.Reason)
	case errors.Is(err, errChaosOrder):
		t.Error(err)
	default:
		t.Errorf("echo session: %v (the server neither echoed nor closed)", err)
	}
	chaosEnd(conn, rng)
}

var errChaosOrder = errors.New("echo out of order")

// chaosClientPkg does the same through the client package.
func chaosClientPkg(t *testing.T, addr string, rng *rand.Rand, st *chaosStats) {
	host, port, _ := net.SplitHostPort(addr)
	var p int
	fmt.Sscan(port, &p)
	c := client.New(client.WithKeepAlive(200*time.Millisecond, 2*time.Second))
	if err := c.Connect(host, p); err != nil {
		t.Errorf("client connect: %v", err)
		return
	}
	defer c.Close()
	n := 1 + rng.IntN(20)
	for i := 0; i < n; i++ {
		if err := c.Send(hzSeqMsg(i, 8+rng.IntN(100))); err != nil {
			st.kick(err.Error())
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for next := 0; next < n; {
		m, err := c.Receive(ctx)
		if err != nil {
			var ce *client.CloseError
			if errors.As(err, &ce) {
				st.kick(ce.Reason)
				return
			}
			t.Errorf("client package session: %v", err)
			return
		}
		if m.HasHeader("bc") {
			continue
		}
		v, _ := m.HeaderString("seq")
		if v != fmt.Sprint(next) {
			t.Errorf("client package: echo seq %s, want %d", v, next)
			return
		}
		next++
	}
}

// chaosStall asks for 512 KiB and never reads (small receive buffer).
func chaosStall(t *testing.T, addr string, rng *rand.Rand, _ *chaosStats) {
	conn := chaosDial(t, addr, 4<<10)
	if conn == nil {
		return
	}
	conn.Write(chaosFrame(proto.NewMessage().AddHeader("bulk", "")))
	time.Sleep(time.Duration(200+rng.IntN(300)) * time.Millisecond) // stalled: reads nothing
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
}

// chaosSilent connects and says nothing, answering no PING.
func chaosSilent(t *testing.T, addr string, rng *rand.Rand, _ *chaosStats) {
	conn := chaosDial(t, addr, 0)
	if conn == nil {
		return
	}
	time.Sleep(time.Duration(1000+rng.IntN(200)) * time.Millisecond) // silent
	conn.Close()
}

// chaosSlowloris starts a frame and never finishes it.
func chaosSlowloris(t *testing.T, addr string, rng *rand.Rand, _ *chaosStats) {
	conn := chaosDial(t, addr, 0)
	if conn == nil {
		return
	}
	frame := chaosFrame(hzSeqMsg(0, 100))
	conn.Write(frame[:1+rng.IntN(len(frame)-1)])
	time.Sleep(time.Duration(500+rng.IntN(200)) * time.Millisecond) // the frame never completes
	conn.Close()
}

// chaosMidFrame sends some frames and leaves in the middle of the next.
func chaosMidFrame(t *testing.T, addr string, rng *rand.Rand, _ *chaosStats) {
	conn := chaosDial(t, addr, 0)
	if conn == nil {
		return
	}
	var out []byte
	for i := rng.IntN(5); i > 0; i-- {
		out = append(out, chaosFrame(hzSeqMsg(i, 50))...)
	}
	frame := chaosFrame(hzSeqMsg(9, 500))
	out = append(out, frame[:1+rng.IntN(len(frame)-1)]...)
	conn.Write(out)
	if rng.IntN(2) == 0 {
		conn.(*net.TCPConn).SetLinger(0)
	}
	conn.Close()
}

// chaosGarbage sends random bytes.
func chaosGarbage(t *testing.T, addr string, rng *rand.Rand, _ *chaosStats) {
	conn := chaosDial(t, addr, 0)
	if conn == nil {
		return
	}
	b := make([]byte, 1+rng.IntN(300))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	if rng.IntN(2) == 0 {
		b[0] = 0 // a plausible length prefix: 0 0 x x
	}
	conn.Write(b)
	conn.SetReadDeadline(time.Now().Add(time.Duration(50+rng.IntN(500)) * time.Millisecond))
	io.Copy(io.Discard, conn) // read whatever the server answers
	conn.Close()
}

// chaosReset chats a little, then resets the connection (SO_LINGER 0).
func chaosReset(t *testing.T, addr string, rng *rand.Rand, _ *chaosStats) {
	conn := chaosDial(t, addr, 0)
	if conn == nil {
		return
	}
	var out []byte
	for i := rng.IntN(20); i > 0; i-- {
		out = append(out, chaosFrame(hzSeqMsg(i, 100))...)
	}
	conn.Write(out)
	time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
}

package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/simpleserver-go/simpleserver/client"
	"github.com/simpleserver-go/simpleserver/proto"
)

// End-to-end tests of issue 4's hardening: every limit and timeout, graceful
// stop, panics, and "nothing lost". Each asserts the exact disconnect reason
// that OnDisconnect receives, and the CLOSE reason the client receives where
// one is sent.

// noHeartbeat turns the heartbeat and the frame timeout off, for tests
// about something else.
func noHeartbeat(c *Config) {
	c.PingInterval = -1
	c.FrameTimeout = -1
}

// TestSlowConsumer: a client that never reads is disconnected with
// ErrSlowConsumer once MaxOutboundBytes is queued to it, while a client that
// reads receives every message in order, and the server's heap stays
// bounded by the cap rather than by what was sent.
func TestSlowConsumer(t *testing.T) {
	const (
		capBytes = 256 << 10
		msgSize  = 1 << 10
		window   = 64 // messages in flight to the reader: 64 KiB, a quarter of the cap
	)
	total := 32 << 10 // 32 MiB broadcast
	if testing.Short() {
		total = 16 << 10
	}
	s := startServer(t, hzQuiet(), hzOpt(noHeartbeat), hzOpt(func(c *Config) { c.MaxOutboundBytes = capBytes }))
	ev := hzRecord(s)
	run(t, s)

	slow := hzDial(t, s, 4<<10) // never reads
	fast := dial(t, s)
	slowC := ev.clientFor(t, slow)
	ev.clientFor(t, fast)

	base := heapInuse()
	heap := sampleHeap(t, 5*time.Millisecond)

	acks := make(chan int, total/window+1)
	readErr := make(chan error, 1)
	go func() {
		f := hzFrames{r: fast.r}
		fast.SetReadDeadline(time.Now().Add(60 * time.Second))
		for want := 0; want < total; want++ {
			k, _, err := f.next()
			if err != nil {
				readErr <- err
				return
			}
			if k != proto.KindMessage {
				readErr <- errors.New("unexpected " + k.String())
				return
			}
			if got := f.seq(); got != want || !f.checkBody(want, msgSize) {
				readErr <- errors.New("message out of order or corrupt")
				return
			}
			if want%window == window-1 {
				acks <- want
			}
		}
		readErr <- nil
	}()

	slowGoneAt := -1
	readDone := false
	for seq := 0; seq < total; seq++ {
		if err := s.Broadcast(hzSeqMsg(seq, msgSize)); err != nil {
			t.Fatalf("Broadcast: %v", err)
		}
		if slowGoneAt < 0 && slowC.Closed() {
			slowGoneAt = seq
		}
		if seq%window == window-1 {
			select {
			case <-acks:
			case err := <-readErr:
				// Ack and end come together after the last broadcast.
				if readDone = true; err != nil || seq != total-1 {
					t.Fatalf("reader stopped at broadcast %d: %v", seq, err)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("reader stalled at broadcast %d", seq)
			}
		}
	}
	if !readDone {
		if err := <-readErr; err != nil {
			t.Fatalf("reading client: %v", err)
		}
	}
	peak := heap.Peak()

	d := ev.nextDisc(t, 10*time.Second)
	if d.c != slowC {
		t.Fatalf("OnDisconnect for %v (%v), want the slow client", d.c, d.reason)
	}
	if !errors.Is(d.reason, ErrSlowConsumer) {
		t.Fatalf("slow client's reason = %v, want ErrSlowConsumer", d.reason)
	}
	ev.noDisc(t) // the reading client is still there
	if slowGoneAt < 0 {
		t.Fatal("slow client still open after the whole broadcast")
	}
	t.Logf("slow client cut after %d KiB; heap base %d KiB, peak %d KiB", slowGoneAt*msgSize>>10, base>>10, peak>>10)
	// Without a cap the server would hold everything the slow client did
	// not take (tens of MiB); with it, the cap per client plus the test's
	// own garbage.
	if limit := base + 2*4*capBytes + 8<<20; peak > limit {
		t.Errorf("heap peaked at %d KiB, above %d KiB (base %d KiB)", peak>>10, limit>>10, base>>10)
	}
	if sent := uint64(slowGoneAt) * msgSize; sent > uint64(total)*msgSize/2 {
		t.Errorf("slow client was cut only after %d KiB", sent>>10)
	}

	// The slow client gets what the kernel held, in order, then CLOSE
	// "slow consumer" if it fit, then the end of the stream.
	slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	f := hzFrames{r: slow.r}
	for want := 0; ; want++ {
		k, rest, err := f.next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !isReset(err) {
				t.Fatalf("slow client: %v", err)
			}
			break
		}
		if k == proto.KindClose {
			if string(rest) != ErrSlowConsumer.Error() {
				t.Fatalf("CLOSE %q, want %q", rest, ErrSlowConsumer.Error())
			}
			break
		}
		if f.seq() != want {
			t.Fatalf("slow client got seq %d, want %d", f.seq(), want)
		}
	}
	if err := slowC.Send(hzSeqMsg(0, 1)); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("Send to the slow client after its disconnect = %v, want ErrClientClosed", err)
	}
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

// TestSlowConsumerViaSend: Client.Send to a client that does not read
// fails once the client is over the cap (with ErrSlowConsumer when that
// Send found it over, ErrClientClosed when the loop did first), and the
// disconnect reason is ErrSlowConsumer.
func TestSlowConsumerViaSend(t *testing.T) {
	const capBytes = 64 << 10
	s := startServer(t, hzQuiet(), hzOpt(noHeartbeat), hzOpt(func(c *Config) { c.MaxOutboundBytes = capBytes }))
	ev := hzRecord(s)
	run(t, s)
	rc := hzDial(t, s, 4<<10)
	c := ev.clientFor(t, rc)
	var err error
	for i := 0; i < 100_000 && err == nil; i++ {
		err = c.Send(hzSeqMsg(i, 4<<10))
	}
	if !errors.Is(err, ErrSlowConsumer) && !errors.Is(err, ErrClientClosed) {
		t.Fatalf("Send = %v, want ErrSlowConsumer or ErrClientClosed", err)
	}
	if err := c.Send(hzSeqMsg(0, 1)); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("next Send = %v, want ErrClientClosed", err)
	}
	if d := ev.nextDisc(t, 10*time.Second); d.c != c || !errors.Is(d.reason, ErrSlowConsumer) {
		t.Fatalf("OnDisconnect(%v, %v), want the client with ErrSlowConsumer", d.c, d.reason)
	}
}

// TestHeartbeat: a silent client gets a PING after PingInterval; answering
// keeps it connected; answering nothing gets it disconnected with
// ErrIdleTimeout after PingTimeout.
func TestHeartbeat(t *testing.T) {
	const interval, timeout = 100 * time.Millisecond, 200 * time.Millisecond
	s := startServer(t, hzQuiet(), hzOpt(func(c *Config) {
		c.PingInterval, c.PingTimeout, c.FrameTimeout = interval, timeout, -1
	}))
	ev := hzRecord(s)
	run(t, s)

	start := time.Now()
	rc := dial(t, s)
	c := ev.clientFor(t, rc)

	// Answer five PINGs: the client stays.
	last := start
	for i := 0; i < 5; i++ {
		data, err := hzReadKind(rc, proto.KindPing, 5*time.Second)
		if err != nil {
			t.Fatalf("PING %d: %v", i, err)
		}
		if gap := time.Since(last); gap < interval {
			t.Fatalf("PING %d came %v after the last sign of life, before PingInterval %v", i, gap, interval)
		}
		// Take the time before writing: the server cannot see the PONG
		// earlier, while this goroutine may be descheduled after the
		// write for long enough that a time taken then is too late.
		last = time.Now()
		rc.write(hzControl(proto.KindPong, data))
	}
	if c.Closed() {
		t.Fatal("a client that answers PINGs was disconnected")
	}
	ev.noDisc(t)

	// Now answer nothing.
	silent := time.Now()
	got, err := hzReadKind(rc, proto.KindClose, 5*time.Second)
	if err != nil {
		t.Fatalf("waiting for CLOSE: %v", err)
	}
	elapsed := time.Since(silent)
	if string(got) != ErrIdleTimeout.Error() {
		t.Fatalf("CLOSE %q, want %q", got, ErrIdleTimeout.Error())
	}
	if elapsed < interval+timeout || elapsed > interval+timeout+time.Second {
		t.Fatalf("disconnected %v after going silent, want about %v", elapsed, interval+timeout)
	}
	if d := ev.nextDisc(t, 5*time.Second); d.c != c || !errors.Is(d.reason, ErrIdleTimeout) {
		t.Fatalf("OnDisconnect(%v, %v), want ErrIdleTimeout", d.c, d.reason)
	}
}

// TestHeartbeatAnyTrafficCounts: messages count as signs of life too.
func TestHeartbeatAnyTrafficCounts(t *testing.T) {
	const interval, timeout = 100 * time.Millisecond, 100 * time.Millisecond
	s := startServer(t, hzQuiet(), hzOpt(func(c *Config) {
		c.PingInterval, c.PingTimeout, c.FrameTimeout = interval, timeout, -1
	}))
	ev := hzRecord(s)
	run(t, s)
	rc := dial(t, s)
	c := ev.clientFor(t, rc)
	// Chat for 5 PingIntervals + PingTimeouts without reading anything.
	end := time.Now().Add(5 * (interval + timeout))
	for time.Now().Before(end) {
		rc.send(proto.NewMessage().SetBodyString("still here"))
		time.Sleep(interval / 4) // the pace of a chatty client, not synchronisation
	}
	if c.Closed() {
		t.Fatal("a chatty client was disconnected for idleness")
	}
	ev.noDisc(t)
}

// TestClientKeepAlive: the client package's keep-alive PINGs a silent
// server and is kept alive by the engine's PONGs; against a server that
// has gone silent it gives up with ErrKeepAliveTimeout.
func TestClientKeepAlive(t *testing.T) {
	t.Run("engine answers", func(t *testing.T) {
		s := startServer(t, hzQuiet(), hzOpt(noHeartbeat)) // the server never PINGs
		ev := hzRecord(s)
		run(t, s)
		a := s.Addr().(*net.TCPAddr)
		c := client.New(client.WithKeepAlive(50*time.Millisecond, 100*time.Millisecond))
		if err := c.Connect(a.IP.String(), a.Port); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ev.nextConn(t)
		ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
		defer cancel()
		if m, err := c.Receive(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Receive = %v, %v; want the connection to stay up (ctx deadline)", m, err)
		}
		if err := c.Err(); err != nil {
			t.Fatalf("connection ended: %v", err)
		}
		ev.noDisc(t)
	})
	t.Run("dead server", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			conn, err := ln.Accept()
			if err == nil {
				accepted <- conn
			}
			close(accepted)
		}()
		a := ln.Addr().(*net.TCPAddr)
		c := client.New(client.WithKeepAlive(50*time.Millisecond, 100*time.Millisecond))
		if err := c.Connect(a.IP.String(), a.Port); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conn := <-accepted
		if conn == nil {
			t.Fatal("accept failed")
		}
		defer conn.Close()
		// The "server" reads (so the PING is seen) but never answers.
		pinged := make(chan bool, 1)
		go func() {
			f := hzFrames{r: conn}
			for {
				k, _, err := f.next()
				if err != nil {
					close(pinged)
					return
				}
				if k == proto.KindPing {
					select {
					case pinged <- true:
					default:
					}
				}
			}
		}()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = c.Receive(ctx)
		if !errors.Is(err, client.ErrKeepAliveTimeout) {
			t.Fatalf("Receive = %v, want ErrKeepAliveTimeout", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("dead server noticed after %v", el)
		}
		if !<-pinged {
			t.Fatal("the client never sent a PING")
		}
	})
}

// TestSlowloris: a started frame must complete within FrameTimeout.
func TestSlowloris(t *testing.T) {
	const ft = 200 * time.Millisecond
	frame := hzFrame(t, proto.NewMessage().AddHeader("a", "b").SetBodyString(strings.Repeat("x", 100)))
	for _, tc := range []struct {
		name  string
		write func(rc *rawConn)
	}{
		{"two header bytes", func(rc *rawConn) { rc.write(frame[:2]) }},
		{"half a payload", func(rc *rawConn) { rc.write(frame[:len(frame)/2]) }},
		{"trickle", func(rc *rawConn) {
			// One byte every 50 ms: progress, but the frame never finishes in time.
			for i := 0; i < len(frame)-1; i++ {
				if _, err := rc.Write(frame[i : i+1]); err != nil {
					return // the server gave up
				}
				time.Sleep(50 * time.Millisecond)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, hzQuiet(), hzOpt(func(c *Config) { c.FrameTimeout, c.PingInterval = ft, -1 }))
			ev := hzRecord(s)
			run(t, s)
			rc := dial(t, s)
			c := ev.clientFor(t, rc)
			start := time.Now()
			go tc.write(rc)
			got, err := hzReadKind(rc, proto.KindClose, 5*time.Second)
			if err != nil {
				t.Fatalf("waiting for CLOSE: %v", err)
			}
			el := time.Since(start)
			if string(got) != ErrFrameTimeout.Error() {
				t.Fatalf("CLOSE %q, want %q", got, ErrFrameTimeout.Error())
			}
			if el < ft || el > ft+ft/4+time.Second {
				t.Fatalf("disconnected after %v, want FrameTimeout %v plus sweep slack", el, ft)
			}
			if d := ev.nextDisc(t, 5*time.Second); d.c != c || !errors.Is(d.reason, ErrFrameTimeout) {
				t.Fatalf("OnDisconnect(%v, %v), want ErrFrameTimeout", d.c, d.reason)
			}
		})
	}
	t.Run("slow but in time", func(t *testing.T) {
		s := startServer(t, hzQuiet(), hzOpt(func(c *Config) { c.FrameTimeout, c.PingInterval = ft, -1 }))
		ev := hzRecord(s)
		s.OnMessage.AddListener(func(c *Client, m *proto.Message) { _ = c.Send(m) })
		run(t, s)
		rc := dial(t, s)
		for i := 0; i < 3; i++ {
			rc.write(frame[:3])
			time.Sleep(ft / 2) // slow, but within the deadline
			rc.write(frame[3:])
			if m := rc.readMessage(); m.NumHeaders() != 1 {
				t.Fatalf("echo has %d headers", m.NumHeaders())
			}
		}
		ev.noDisc(t)
	})
}

// TestAdmission: the connection beyond MaxConnections gets CLOSE "server
// full" and never reaches the listeners; a slot frees when a client leaves.
func TestAdmission(t *testing.T) {
	const maxConns = 3
	s := startServer(t, hzQuiet(), hzOpt(noHeartbeat), hzOpt(func(c *Config) { c.MaxConnections = maxConns }))
	ev := hzRecord(s)
	run(t, s)
	var admitted []*rawConn
	for i := 0; i < maxConns; i++ {
		rc := dial(t, s)
		ev.clientFor(t, rc)
		admitted = append(admitted, rc)
	}
	for i := 0; i < 3; i++ {
		extra := dial(t, s)
		if got := extra.readClose(); got != ErrServerFull.Error() {
			t.Fatalf("extra connection got CLOSE %q, want %q", got, ErrServerFull.Error())
		}
		extra.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := extra.r.ReadByte(); !errors.Is(err, io.EOF) && !isReset(err) {
			t.Fatalf("after CLOSE \"server full\": %v, want the connection closed", err)
		}
	}
	if n, _ := ev.counts(); n != maxConns {
		t.Fatalf("%d OnConnection events, want %d", n, maxConns)
	}
	ev.noDisc(t)

	// A client leaves: its slot is free again.
	admitted[0].Close()
	if d := ev.nextDisc(t, 5*time.Second); !errors.Is(d.reason, ErrPeerGone) {
		t.Fatalf("reason %v, want ErrPeerGone", d.reason)
	}
	rc := dial(t, s)
	ev.clientFor(t, rc)
	if n := s.NumClients(); n != maxConns {
		t.Fatalf("NumClients = %d, want %d", n, maxConns)
	}
}

// TestFrameLimits: a length prefix over MaxFrameSize is rejected as soon as
// its four bytes arrive; too many headers and bad frames are protocol errors.
func TestFrameLimits(t *testing.T) {
	const maxFrame = 4 << 10
	lim := proto.Limits{MaxFrameSize: maxFrame, MaxHeaders: 4}
	many := proto.NewMessage()
	for i := 0; i < 5; i++ {
		many.AddHeader("h", "v")
	}
	for _, tc := range []struct {
		name  string
		bytes []byte
		want  error
	}{
		{"oversized prefix only", []byte{0, 0, maxFrame >> 8, 1}, proto.ErrFrameTooLarge},
		{"huge prefix only", []byte{0xff, 0xff, 0xff, 0xff}, proto.ErrFrameTooLarge},
		{"too many headers", hzFrame(t, many), proto.ErrTooManyHeaders},
		{"empty frame", []byte{0, 0, 0, 0}, proto.ErrEmptyFrame},
		{"unknown kind", hzControl(9, []byte("x")), proto.ErrUnknownKind},
		{"oversized ping", hzControl(proto.KindPing, make([]byte, proto.MaxPingPayload+1)), proto.ErrPingTooLarge},
		{"malformed message", []byte{0, 0, 0, 3, 0, 1, 9}, proto.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, hzQuiet(), hzOpt(noHeartbeat), WithLimits(lim))
			ev := hzRecord(s)
			var got atomic.Int64
			s.OnMessage.AddListener(func(*Client, *proto.Message) { got.Add(1) })
			run(t, s)
			rc := dial(t, s)
			c := ev.clientFor(t, rc)
			rc.write(tc.bytes)
			reason := rc.readClose()
			if !strings.Contains(reason, tc.want.Error()) {
				t.Fatalf("CLOSE %q, want it to name %q", reason, tc.want)
			}
			d := ev.nextDisc(t, 5*time.Second)
			var pe *proto.ProtocolError
			if d.c != c || !errors.As(d.reason, &pe) || !errors.Is(d.reason, tc.want) {
				t.Fatalf("OnDisconnect(%v, %v), want a *proto.ProtocolError wrapping %v", d.c, d.reason, tc.want)
			}
			if reason != d.reason.Error() {
				t.Fatalf("CLOSE reason %q differs from the disconnect reason %q", reason, d.reason)
			}
			if got.Load() != 0 {
				t.Fatal("a bad frame reached OnMessage")
			}
		})
	}
}

// TestGracefulStop: Stop delivers everything queued before it, then CLOSE
// "server shutting down", fires OnDisconnect once per client with
// ErrServerShutdown, makes Start return and leaves no goroutine behind.
func TestGracefulStop(t *testing.T) {
	const msgSize = 16 << 10
	total := 20 << 20 / msgSize // 20 MiB to the slow reader
	if testing.Short() {
		total /= 2
	}
	s := startServer(t, hzQuiet(), hzOpt(noHeartbeat), hzOpt(func(c *Config) { c.MaxOutboundBytes = 64 << 20 }))
	ev := hzRecord(s)
	started := hzStartBlocking(t, s)

	slow := hzDial(t, s, 16<<10)
	fast := dial(t, s)
	slowC := ev.clientFor(t, slow)
	fastC := ev.clientFor(t, fast)

	type result struct {
		n      int
		reason string
		err    error
	}
	var slowRead atomic.Int64
	// The slow reader starts reading only as Stop begins, so that most of
	// what was sent is still queued then however slow this machine is.
	stopping := make(chan struct{})
	reader := func(rc *rawConn, size int, slowly bool) <-chan result {
		out := make(chan result, 1)
		go func() {
			if slowly {
				<-stopping
			}
			rc.SetReadDeadline(time.Now().Add(60 * time.Second))
			f := hzFrames{r: rc.r}
			var res result
			for {
				k, rest, err := f.next()
				if err != nil {
					res.err = err
					break
				}
				if k == proto.KindClose {
					res.reason = string(rest)
					// After CLOSE the server closes: nothing more comes.
					if _, err := rc.r.ReadByte(); !errors.Is(err, io.EOF) {
						res.err = errors.New("data or error after CLOSE")
					}
					break
				}
				if k != proto.KindMessage || f.seq() != res.n || !f.checkBody(res.n, size) {
					res.err = errors.New("message out of order or corrupt")
					break
				}
				res.n++
				if slowly {
					slowRead.Store(int64(res.n))
					time.Sleep(time.Millisecond) // a slow reader: 16 MiB/s at most
				}
			}
			out <- res
		}()
		return out
	}
	slowRes := reader(slow, msgSize, true)
	fastRes := reader(fast, 100, false)

	for i := 0; i < total; i++ {
		if err := slowC.Send(hzSeqMsg(i, msgSize)); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	for i := 0; i < 1000; i++ {
		if err := fastC.Send(hzSeqMsg(i, 100)); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	stopStart := time.Now()
	readAtStop := slowRead.Load()
	close(stopping)
	hzStop(t, s, 60*time.Second)
	t.Logf("Stop took %v; %d of %d messages were still queued to the slow reader", time.Since(stopStart), int64(total)-readAtStop, total)
	if readAtStop > int64(total)/2 {
		t.Fatalf("the slow reader had read %d of %d messages before Stop: the test proves nothing", readAtStop, total)
	}

	for name, want := range map[string]struct {
		ch <-chan result
		n  int
	}{"slow": {slowRes, total}, "fast": {fastRes, 1000}} {
		r := <-want.ch
		if r.err != nil || r.n != want.n || r.reason != ErrServerShutdown.Error() {
			t.Errorf("%s client: %d messages, CLOSE %q, err %v; want %d, %q, nil",
				name, r.n, r.reason, r.err, want.n, ErrServerShutdown.Error())
		}
	}
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("Start returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not return after Stop")
	}
	ev.checkPaired(t)
	for id, r := range ev.reasons() {
		if !errors.Is(r, ErrServerShutdown) {
			t.Errorf("client %d: reason %v, want ErrServerShutdown", id, r)
		}
	}
	if n, d := ev.counts(); n != 2 || d != 2 {
		t.Fatalf("%d connections, %d disconnects; want 2, 2", n, d)
	}
	if n := len(s.Clients()); n != 0 {
		t.Fatalf("Clients() has %d after Stop", n)
	}
	if err := slowC.Send(hzSeqMsg(0, 1)); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("Send after Stop = %v, want ErrClientClosed", err)
	}
	if err := s.Broadcast(hzSeqMsg(0, 1)); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Broadcast after Stop = %v, want ErrServerClosed", err)
	}
	goleak.VerifyNone(t, gnetPoolGoroutines...)
}

// TestStopExpiringContext: with a client that never reads, Stop returns
// ctx's error promptly and the server is still fully stopped.
func TestStopExpiringContext(t *testing.T) {
	s := startServer(t, hzQuiet(), hzOpt(noHeartbeat), hzOpt(func(c *Config) { c.MaxOutboundBytes = 64 << 20 }))
	ev := hzRecord(s)
	started := hzStartBlocking(t, s)
	rc := hzDial(t, s, 4<<10) // never reads
	c := ev.clientFor(t, rc)
	for i := 0; i < 512; i++ {
		if err := c.Send(hzSeqMsg(i, 16<<10)); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	const wait = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	begin := time.Now()
	err := s.Stop(ctx)
	el := time.Since(begin)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want context.DeadlineExceeded", err)
	}
	if el < wait || el > wait+2*time.Second {
		t.Fatalf("Stop took %v with a %v context", el, wait)
	}
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("Start returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Start did not return")
	}
	ev.checkPaired(t)
	if d := ev.nextDisc(t, time.Second); d.c != c || !errors.Is(d.reason, ErrServerShutdown) {
		t.Fatalf("OnDisconnect(%v, %v), want ErrServerShutdown", d.c, d.reason)
	}
	// The socket is closed: reading drains what the kernel held, then ends.
	rc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, rc); err != nil && !isReset(err) {
		t.Fatalf("after Stop the connection did not end: %v", err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop = %v", err)
	}
	goleak.VerifyNone(t, gnetPoolGoroutines...)
}

// TestStopDuringConnectStorm: clients connecting while Stop runs are
// either refused or shut down properly: every OnConnection still gets one
// OnDisconnect, with ErrServerShutdown.
func TestStopDuringConnectStorm(t *testing.T) {
	s := startServer(t, hzQuiet(), hzOpt(noHeartbeat))
	ev := hzRecord(s)
	started := hzStartBlocking(t, s)
	addr := s.Addr().String()

	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  []net.Conn
		halted = make(chan struct{})
	)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					return // the listener is gone
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
				select {
				case <-halted:
					return
				default:
				}
			}
		}()
	}
	ev.nextConn(t)
	hzWaitFor(t, 5*time.Second, "20 connections", func() bool { n, _ := ev.counts(); return n >= 20 })
	hzStop(t, s, 10*time.Second)
	close(halted)
	wg.Wait()
	<-started
	ev.checkPaired(t)
	n, _ := ev.counts()
	for id, r := range ev.reasons() {
		if !errors.Is(r, ErrServerShutdown) {
			t.Errorf("client %d: reason %v, want ErrServerShutdown", id, r)
		}
	}
	// Every connection the server admitted saw CLOSE "server shutting down";
	// every other one was refused or reset: none is left hanging.
	closes := 0
	deadline := time.Now().Add(3 * time.Second)
	for _, c := range conns {
		c.SetReadDeadline(deadline)
		f := hzFrames{r: c}
		k, rest, err := f.next()
		switch {
		case err == nil && k == proto.KindClose && string(rest) == ErrServerShutdown.Error():
			closes++
		case err == nil:
			t.Errorf("%v got %v %q", c.LocalAddr(), k, rest)
		case errors.Is(err, os.ErrDeadlineExceeded):
			t.Errorf("%v: left open after Stop, with nothing sent", c.LocalAddr())
		case !errors.Is(err, io.EOF) && !isReset(err):
			t.Errorf("%v: %v", c.LocalAddr(), err)
		}
		c.Close()
	}
	if closes < n {
		t.Errorf("%d of %d connections got CLOSE %q; the server admitted %d", closes, len(conns), ErrServerShutdown.Error(), n)
	}
	t.Logf("%d dialled, %d admitted, %d got CLOSE", len(conns), n, closes)
}

// TestListenerPanics: panics are recovered and logged with their stack; a
// client whose OnConnection/OnMessage panicked is disconnected with
// ErrListenerPanic; the server keeps serving everyone else.
func TestListenerPanics(t *testing.T) {
	t.Run("dispatch", func(t *testing.T) { testListenerPanics(t, false) })
	t.Run("inline", func(t *testing.T) { testListenerPanics(t, true) })
}

func testListenerPanics(t *testing.T, inline bool) {
	logOpt, logs := hzCapture(slog.LevelWarn)
	s := startServer(t, logOpt, hzOpt(noHeartbeat), WithInline(inline))
	ev := hzRecord(s)
	var updatePanicked, discPanicked atomic.Bool
	updated := make(chan struct{}, 1)
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		switch m.BodyString() {
		case "panic":
			panic("boom in OnMessage")
		case "panic-update":
			updatePanicked.Store(false)
		}
		_ = c.Send(m)
	})
	s.OnUpdate.AddListener(func() {
		if updatePanicked.CompareAndSwap(false, true) {
			panic("boom in OnUpdate")
		}
		select {
		case updated <- struct{}{}:
		default:
		}
	})
	s.OnDisconnect.AddListener(func(c *Client, reason error) {
		if discPanicked.CompareAndSwap(false, true) {
			panic("boom in OnDisconnect")
		}
	})
	run(t, s)

	echo := func(rc *rawConn, body string) {
		t.Helper()
		rc.send(proto.NewMessage().SetBodyString(body))
		if m := rc.readMessage(); m.BodyString() != body {
			t.Fatalf("echo %q, want %q", m.BodyString(), body)
		}
	}
	good := dial(t, s)
	bad := dial(t, s)
	badC := ev.clientFor(t, bad)
	echo(good, "before")

	// OnMessage panics: that client is dropped, the other is served.
	bad.send(proto.NewMessage().SetBodyString("panic"))
	if got := bad.readClose(); got != "internal server error" {
		t.Fatalf("CLOSE %q, want \"internal server error\"", got)
	}
	d := ev.nextDisc(t, 5*time.Second)
	if d.c != badC || !errors.Is(d.reason, ErrListenerPanic) {
		t.Fatalf("OnDisconnect(%v, %v), want ErrListenerPanic", d.c, d.reason)
	}
	echo(good, "after OnMessage panic")
	out := logs.String()
	for _, want := range []string{"panicked", "boom in OnMessage", "event=OnMessage", "goroutine ", "hardening_test.go"} {
		if !strings.Contains(out, want) {
			t.Fatalf("log lacks %q:\n%s", want, out)
		}
	}
	// The OnDisconnect above panicked (the first one; that listener runs
	// after the recorder): logged, server fine.
	hzWaitFor(t, 5*time.Second, "the OnDisconnect panic to be logged", func() bool {
		return discPanicked.Load() && strings.Contains(logs.String(), "boom in OnDisconnect")
	})
	echo(good, "after OnDisconnect panic")

	// OnUpdate panics once: logged, and ticks go on.
	good.send(proto.NewMessage().SetBodyString("panic-update"))
	good.readMessage()
	hzWaitFor(t, 5*time.Second, "OnUpdate panic", func() bool {
		return updatePanicked.Load() && strings.Contains(logs.String(), "boom in OnUpdate")
	})
	for len(updated) > 0 {
		<-updated
	}
	select {
	case <-updated:
	case <-time.After(5 * time.Second):
		t.Fatal("OnUpdate stopped after a panic")
	}
	if !strings.Contains(logs.String(), "event=OnUpdate") {
		t.Fatalf("OnUpdate panic logged without its event:\n%s", logs.String())
	}
	echo(good, "after OnUpdate panic")
	ev.noDisc(t)
}

// TestConnectionPanic: a panic in OnConnection disconnects that client with
// ErrListenerPanic, after OnConnection, with exactly one OnDisconnect.
func TestConnectionPanic(t *testing.T) {
	t.Run("dispatch", func(t *testing.T) { testConnectionPanic(t, false) })
	t.Run("inline", func(t *testing.T) { testConnectionPanic(t, true) })
}

func testConnectionPanic(t *testing.T, inline bool) {
	logOpt, logs := hzCapture(slog.LevelWarn)
	s := startServer(t, logOpt, hzOpt(noHeartbeat), WithInline(inline))
	var n atomic.Int64
	s.OnConnection.AddListener(func(c *Client) {
		if n.Add(1) == 1 {
			panic("boom in OnConnection")
		}
	})
	ev := hzRecord(s) // after the panicking listener: still called
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) { _ = c.Send(m) })
	run(t, s)
	bad := dial(t, s)
	if got := bad.readClose(); got != "internal server error" {
		t.Fatalf("CLOSE %q", got)
	}
	if d := ev.nextDisc(t, 5*time.Second); !errors.Is(d.reason, ErrListenerPanic) {
		t.Fatalf("reason %v, want ErrListenerPanic", d.reason)
	}
	good := dial(t, s)
	good.send(proto.NewMessage().SetBodyString("hi"))
	if m := good.readMessage(); m.BodyString() != "hi" {
		t.Fatalf("echo %q", m.BodyString())
	}
	if !strings.Contains(logs.String(), "boom in OnConnection") {
		t.Fatalf("panic not logged:\n%s", logs.String())
	}
	ev.noDisc(t)
}

// TestNothingLost: everything a client sent before closing reaches
// OnMessage, in order, before its OnDisconnect.
func TestNothingLost(t *testing.T) {
	const n = 1000
	for _, tc := range []struct {
		name string
		end  func(rc *rawConn) []byte
		want func(error) bool
	}{
		{"CLOSE", func(*rawConn) []byte { return proto.AppendClose(nil, "bye") }, func(err error) bool {
			var pc *PeerCloseError
			return errors.As(err, &pc) && pc.Reason == "bye" && errors.Is(err, ErrPeerClosed)
		}},
		{"FIN", func(rc *rawConn) []byte { return nil }, func(err error) bool { return errors.Is(err, ErrPeerGone) }},
	} {
		for _, inline := range []bool{false, true} {
			name := tc.name
			if inline {
				name += "/inline"
			}
			t.Run(name, func(t *testing.T) {
				s := startServer(t, hzQuiet(), hzOpt(noHeartbeat), WithInline(inline))
				var mu sync.Mutex
				var got []int
				var after bool
				done := make(chan error, 1)
				s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
					mu.Lock()
					defer mu.Unlock()
					if after {
						after = false // report once
						got = append(got, -1)
					}
					v, _ := m.HeaderString("seq")
					var i int
					for _, ch := range v {
						i = i*10 + int(ch-'0')
					}
					got = append(got, i)
				})
				s.OnDisconnect.AddListener(func(c *Client, reason error) {
					mu.Lock()
					after = true
					mu.Unlock()
					done <- reason
				})
				run(t, s)
				rc := dial(t, s)
				var b []byte
				for i := 0; i < n; i++ {
					b = append(b, hzFrame(t, hzSeqMsg(i, 32))...)
				}
				b = append(b, tc.end(rc)...)
				rc.write(b)
				rc.Close()
				var reason error
				select {
				case reason = <-done:
				case <-time.After(10 * time.Second):
					t.Fatal("no OnDisconnect")
				}
				if !tc.want(reason) {
					t.Fatalf("reason %v", reason)
				}
				mu.Lock()
				defer mu.Unlock()
				if len(got) != n {
					t.Fatalf("%d messages before OnDisconnect, want %d", len(got), n)
				}
				for i, v := range got {
					if v != i {
						t.Fatalf("message %d has seq %d", i, v)
					}
				}
			})
		}
	}
}

// TestSlowConsumerNoFalseAlarm: a client that stalled for a while and then
// caught up must not be taken for a slow consumer by the next burst: the
// bytes gnet held for it have been sent meanwhile, even though no loop
// flush has measured that yet.
func TestSlowConsumerNoFalseAlarm(t *testing.T) {
	const (
		capBytes = 256 << 10
		msgSize  = 8 << 10
	)
	s := startServer(t, hzQuiet(), hzOpt(noHeartbeat), hzOpt(func(c *Config) { c.MaxOutboundBytes = capBytes }))
	ev := hzRecord(s)
	next := 0 // only the logic goroutine touches it
	var bursts atomic.Int64
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		defer bursts.Add(1)
		n, _ := m.HeaderString("burst")
		var count int
		for _, ch := range n {
			count = count*10 + int(ch-'0')
		}
		for i := 0; i < count; i++ {
			if err := c.Send(hzSeqMsg(next, msgSize)); err != nil {
				return
			}
			next++
		}
	})
	run(t, s)
	rc := dial(t, s)
	c := ev.clientFor(t, rc)
	burst := func(n int) { rc.send(proto.NewMessage().AddHeader("burst", strconv.Itoa(n))) }
	gnetOut := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.gnetOut
	}

	// Stall: ask for bursts without reading until gnet holds over half the
	// cap (the kernel's buffers fill first).
	sent := 0
	for gnetOut() < capBytes/2+capBytes/8 {
		if sent > 64<<20/msgSize {
			t.Fatal("gnet never held anything")
		}
		burst(4) // 32 KiB
		sent += 4
		want := int64(sent / 4)
		hzWaitFor(t, 5*time.Second, "the burst to be flushed", func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			return bursts.Load() == want && !c.queued || c.closing
		})
		if c.Closed() {
			c.mu.Lock()
			reason := c.reason
			c.mu.Unlock()
			t.Fatalf("disconnected while below the cap (gnet held %d): %v", gnetOut(), reason)
		}
	}
	held := gnetOut()
	// Catch up: read everything.
	f := hzFrames{r: rc.r}
	rc.SetReadDeadline(time.Now().Add(20 * time.Second))
	for i := 0; i < sent; i++ {
		if k, _, err := f.next(); err != nil || k != proto.KindMessage || f.seq() != i {
			t.Fatalf("catching up, message %d: %v %v seq %d", i, err, k, f.seq())
		}
	}
	t.Logf("gnet held %d KiB; after catching up the server believes %d KiB", held>>10, gnetOut()>>10)

	// Nothing is queued now; a burst well under the cap must go through.
	const n = (capBytes / 2) / msgSize // 128 KiB
	burst(n)
	for i := 0; i < n; i++ {
		k, rest, err := f.next()
		if err != nil || k != proto.KindMessage {
			c.mu.Lock()
			reason := c.reason
			c.mu.Unlock()
			t.Fatalf("burst message %d: %v %v %q (disconnected as %v)", i, err, k, rest, reason)
		}
	}
	ev.noDisc(t)
}

// TestStopFromListener: Stop called from inside a listener cannot wait for
// the listeners; it must return when its ctx ends (not hang), and the
// server must finish stopping once the listener returns, in every mode.
func TestStopFromListener(t *testing.T) {
	for _, mode := range []string{"dispatch", "manual", "inline"} {
		t.Run(mode, func(t *testing.T) {
			s := startServer(t, hzQuiet(), hzOpt(noHeartbeat),
				WithManualUpdate(mode == "manual"), WithInline(mode == "inline"))
			ev := hzRecord(s)
			stopped := make(chan error, 1)
			var once sync.Once
			s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
				once.Do(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
					defer cancel()
					stopped <- s.Stop(ctx)
				})
			})
			started := hzStartBlocking(t, s)
			updates := make(chan error, 1)
			if mode == "manual" {
				go func() {
					for {
						if err := s.Update(); err != nil {
							updates <- err
							return
						}
						time.Sleep(time.Millisecond) // the application's frame pace
					}
				}()
			}
			other := dial(t, s)
			rc := dial(t, s)
			ev.clientFor(t, other)
			ev.clientFor(t, rc)
			rc.send(proto.NewMessage().SetBodyString("stop the server"))
			select {
			case err := <-stopped:
				t.Logf("Stop from a listener returned %v", err)
			case <-time.After(10 * time.Second):
				t.Fatal("Stop called from a listener hangs")
			}
			select {
			case <-started:
			case <-time.After(10 * time.Second):
				t.Fatal("the server did not finish stopping after the listener returned")
			}
			if mode == "manual" {
				if err := <-updates; !errors.Is(err, ErrServerClosed) {
					t.Fatalf("Update after Stop = %v", err)
				}
			}
			ev.checkPaired(t)
			if n, d := ev.counts(); n != 2 || d != 2 {
				t.Fatalf("%d connections, %d disconnects", n, d)
			}
			for id, r := range ev.reasons() {
				if !errors.Is(r, ErrServerShutdown) {
					t.Errorf("client %d: %v, want ErrServerShutdown", id, r)
				}
			}
			if got := other.readClose(); got != ErrServerShutdown.Error() {
				t.Fatalf("other client got CLOSE %q", got)
			}
		})
	}
}

// TestStopDuringStart: Stop may be called while Start is still starting
// (from another goroutine): it must neither race, panic nor hang.
func TestStopDuringStart(t *testing.T) {
	for i := 0; i < 30; i++ {
		s := NewServer("127.0.0.1", 0, hzQuiet(), WithEventLoops(2))
		started := make(chan error, 1)
		go func() { started <- s.Start() }()
		if i%3 != 0 {
			time.Sleep(time.Duration(i%5) * 50 * time.Microsecond) // vary where Stop lands
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.Stop(ctx); err != nil {
			cancel()
			t.Fatalf("run %d: Stop = %v", i, err)
		}
		cancel()
		select {
		case err := <-started:
			if err != nil && !errors.Is(err, ErrServerClosed) {
				t.Fatalf("run %d: Start = %v", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("run %d: Start did not return after Stop", i)
		}
	}
}

package engine

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// Server-level fuzzing: arbitrary byte streams, split into a few writes,
// sent over real connections to one running echo server. Whatever arrives,
// the server must not crash, must close the connection when the client
// does, and must still echo for a fresh client afterwards.

// fuzzLimits are small so that oversized frames are easy to reach.
var fuzzLimits = proto.Limits{MaxFrameSize: 64 << 10, MaxHeaders: 8, MaxHeaderName: 32}

// fuzzTarget is a running echo server shared by every input of one run.
type fuzzTarget struct {
	s      *Server
	addr   string
	ledger *chaosLedger
	logs   *hzLogBuf
	probe  []byte // the frame the fresh client sends
}

// startFuzzTarget starts the shared server; tb's cleanup checks and stops it.
func startFuzzTarget(tb testing.TB) *fuzzTarget {
	logOpt, logs := hzCapture(slog.LevelError)
	s := NewServer("127.0.0.1", 0, WithEventLoops(2), logOpt, WithLimits(fuzzLimits),
		hzOpt(func(c *Config) {
			c.FrameTimeout = 2 * time.Second // a truncated frame is ended by our FIN first
			c.PingInterval = -1
			c.MaxPendingMessages = 1 << 16
		}))
	ft := &fuzzTarget{s: s, ledger: newChaosLedger(s), logs: logs}
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) { _ = c.Send(m) })
	if err := s.StartAsync(); err != nil {
		tb.Fatalf("StartAsync: %v", err)
	}
	ft.addr = s.Addr().String()
	ft.probe, _ = proto.AppendFrame(nil, proto.NewMessage().AddHeader("probe", "1").SetBodyString("still alive?"))
	tb.Cleanup(func() {
		hzWaitFor(tb, 10*time.Second, "every fuzz connection to be disconnected", func() bool {
			return ft.ledger.allGone() && s.NumClients() == 0
		})
		n, reasons := ft.ledger.check(tb)
		if reasons["other"]+reasons["listener panic"] != 0 {
			tb.Errorf("unexpected reasons: %v", reasons)
		}
		if out := logs.String(); out != "" {
			tb.Errorf("errors logged:\n%.4000s", out)
		}
		hzStop(tb, s, 10*time.Second)
		tb.Logf("%d connections; reasons %v", n, reasons)
	})
	return ft
}

// stream sends data in up to four writes chosen by splits, half-closes,
// and reads until the server closes; then a fresh client must get an echo.
func (ft *fuzzTarget) stream(tb testing.TB, data []byte, splits uint16) {
	conn, err := ft.dial()
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	for _, piece := range splitStream(data, splits) {
		if _, err := conn.Write(piece); err != nil {
			break // the server closed on a protocol error: fine
		}
	}
	conn.(*net.TCPConn).CloseWrite()
	// The server must end the connection: at our FIN at the latest.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, conn); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			tb.Fatalf("server kept the connection open after FIN; input %x", data)
		}
		if !isReset(err) {
			tb.Fatalf("reading: %v", err)
		}
	}

	fresh, err := ft.dial()
	if err != nil {
		tb.Fatalf("fresh dial after input %x: %v", data, err)
	}
	defer func() {
		fresh.(*net.TCPConn).SetLinger(0) // no TIME_WAIT: fuzzing makes many connections
		fresh.Close()
	}()
	if _, err := fresh.Write(ft.probe); err != nil {
		tb.Fatalf("fresh write: %v", err)
	}
	fresh.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len(ft.probe))
	if _, err := io.ReadFull(fresh, got); err != nil || !bytes.Equal(got, ft.probe) {
		tb.Fatalf("no echo for a fresh client after input %x: %v %x", data, err, got)
	}
}

// fuzzDials rotates fuzz connections over source addresses 127.0.0.2 to
// 127.0.0.250: tens of thousands of inputs leave as many sockets in
// TIME_WAIT, which would use up the ephemeral ports of one source address
// within a 20 s run.
var fuzzDials atomic.Uint32

func (ft *fuzzTarget) dial() (net.Conn, error) {
	n := fuzzDials.Add(1)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+n%249))}}
	return d.Dial("tcp", ft.addr)
}

// splitStream cuts data into 1 to 4 pieces at positions derived from splits.
func splitStream(data []byte, splits uint16) [][]byte {
	pieces := 1 + int(splits>>14)
	if pieces > len(data) {
		pieces = max(len(data), 1)
	}
	cuts := []int{0, len(data)}
	for i := 1; i < pieces; i++ {
		cuts = append(cuts, (int(splits&0x3fff)*i*7919)%(len(data)+1))
	}
	slices.Sort(cuts)
	var out [][]byte
	for i := 1; i < len(cuts); i++ {
		if cuts[i] > cuts[i-1] {
			out = append(out, data[cuts[i-1]:cuts[i]])
		}
	}
	return out
}

// fuzzSeeds are the seed corpus: valid frames, garbage, oversized
// lengths, truncated frames, and the protocol's edge cases.
func fuzzSeeds() [][]byte {
	frame := func(m *proto.Message) []byte { b, _ := proto.AppendFrame(nil, m); return b }
	msg := frame(proto.NewMessage().AddHeader("a", "b").AddHeader("c", "").SetBodyString("hello"))
	many := proto.NewMessage()
	for i := 0; i < 9; i++ {
		many.AddHeader("h", "v")
	}
	raw, _ := proto.AppendRawFrame(nil, []byte("raw bytes"))
	return [][]byte{
		{},
		msg,
		append(slices.Clone(msg), msg...),
		raw,
		hzControl(proto.KindPing, []byte("ping")),
		hzControl(proto.KindPong, []byte("pong")),
		append(proto.AppendClose(nil, "bye"), msg...), // nothing after CLOSE counts
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		{0x7f, 0xff, 0xff, 0xff}, // oversized length
		{0x00, 0x01, 0x00, 0x01}, // just over MaxFrameSize (64 KiB)
		{0, 0, 0, 0},             // empty frame
		msg[:len(msg)/2],         // truncated frame
		msg[:3],                  // truncated length prefix
		{0, 0, 0, 2, 0x00, 0x80}, // header count varint runs out
		{0, 0, 0, 12, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, // varint overflow
		{0, 0, 0, 3, 0, 0x80, 0x00},                  // overlong varint
		{0, 0, 0, 2, 0x09, 0},                        // unknown kind
		frame(many),                                  // too many headers
		hzControl(proto.KindPing, make([]byte, 200)), // oversized PING
		{0, 0, 0, 5, 0, 1, 0, 0, 0},                  // empty header name
	}
}

// FuzzServerStream: go test -fuzz=FuzzServerStream ./engine
func FuzzServerStream(f *testing.F) {
	for i, seed := range fuzzSeeds() {
		f.Add(seed, uint16(i*4099))
	}
	ft := startFuzzTarget(f)
	f.Fuzz(func(t *testing.T, data []byte, splits uint16) {
		ft.stream(t, data, splits)
	})
}

// TestServerRandomStreams sends 200 random streams, built from a fixed
// seed, through the fuzz target's checks.
func TestServerRandomStreams(t *testing.T) {
	ft := startFuzzTarget(t)
	rng := rand.New(rand.NewPCG(4, 20260601))
	seeds := fuzzSeeds()
	for i := 0; i < 200; i++ {
		ft.stream(t, randomStream(rng, seeds), uint16(rng.Uint32()))
	}
}

// randomStream builds a stream: random bytes, or seeds glued together and
// mutated (flipped bytes, cut, oversized or zero length prefixes).
func randomStream(rng *rand.Rand, seeds [][]byte) []byte {
	var b []byte
	switch rng.IntN(3) {
	case 0:
		b = make([]byte, rng.IntN(512))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
	default:
		for n := 1 + rng.IntN(5); n > 0; n-- {
			b = append(b, seeds[rng.IntN(len(seeds))]...)
		}
		for n := rng.IntN(4); n > 0 && len(b) > 0; n-- {
			switch rng.IntN(4) {
			case 0:
				b[rng.IntN(len(b))] ^= byte(1 << rng.IntN(8))
			case 1:
				b = b[:rng.IntN(len(b))]
			case 2:
				b[rng.IntN(len(b))] = 0xff
			case 3:
				i := rng.IntN(len(b))
				b = append(b[:i], append([]byte{0, 0, byte(rng.IntN(256)), byte(rng.IntN(256))}, b[i:]...)...)
			}
		}
	}
	return b
}

// Package rawgnet is the ceiling of the benchmark: a protocol v1 server
// written directly on gnet v2 with no message objects. Frames are split in
// place with Peek/Discard and a MESSAGE is inspected only far enough to find
// a "bcast" header. Echoes and PONGs are written straight from gnet's inbound
// buffer: consecutive replies are byte-identical to the consecutive request
// bytes (a PING becomes its PONG by patching the kind byte in place), so all
// replies to one read go out in a single c.Write (Config.PerFrame restores
// one write per frame). A broadcast is written to the connections of the
// current loop inline and to those of every other loop by one
// EventLoop.Execute task per loop, with one c.Write per connection per
// broadcast: the usual gnet broadcast, which pays one write(2) per delivery.
package rawgnet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/simpleserver-go/simpleserver/bench/srv"
	"github.com/simpleserver-go/simpleserver/proto"
	"golang.org/x/sys/unix"
)

// maxOutbound is how much unsent data a broadcast target may accumulate
// before it is closed as a slow consumer (gnet itself never caps it).
const maxOutbound = 32 << 20

// Server is a running raw gnet server.
type Server struct {
	gnet.BuiltinEventEngine

	cfg      srv.Config
	maxFrame int
	eng      gnet.Engine
	addr     net.Addr
	booted   chan struct{}
	done     chan struct{}
	runErr   error

	mu    sync.Mutex                   // serializes adding loops
	loops atomic.Pointer[[]*loopState] // copy-on-write list of every loop seen

	tickNext time.Time // touched only by gnet's ticker goroutine
}

// loopState is the set of connections owned by one event loop. conns is
// read and written only on that loop's goroutine.
type loopState struct {
	el    gnet.EventLoop
	conns []gnet.Conn
}

// connState is a connection's context: its loop and its index in loop.conns.
type connState struct {
	loop *loopState
	idx  int
}

// Start starts a raw gnet server and returns once it listens.
func Start(cfg srv.Config) (srv.Server, error) {
	if err := srv.CheckLoopback(cfg.Addr); err != nil {
		return nil, err
	}
	loops := cfg.Loops
	if loops <= 0 {
		loops = 1
	}
	s := &Server{cfg: cfg, maxFrame: cfg.MaxFrameSize(), booted: make(chan struct{}), done: make(chan struct{})}
	s.loops.Store(new([]*loopState))
	opts := []gnet.Option{
		gnet.WithNumEventLoop(loops),
		gnet.WithReuseAddr(true),
		gnet.WithTicker(cfg.TickHz > 0),
		gnet.WithLogger(quietLogger{}),
	}
	go func() {
		s.runErr = gnet.Run(s, "tcp://"+cfg.Addr, opts...)
		close(s.done)
	}()
	select {
	case <-s.booted:
		return s, nil
	case <-s.done:
		if s.runErr == nil {
			s.runErr = errors.New("rawgnet: engine stopped during boot")
		}
		return nil, s.runErr
	}
}

// Addr returns the bound listen address.
func (s *Server) Addr() net.Addr { return s.addr }

// Stop shuts the engine down and waits for gnet.Run to return.
func (s *Server) Stop(ctx context.Context) error {
	// An already-cancelled context makes Engine.Stop return at once instead
	// of polling every 500 ms; Run returns right after.
	c, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.eng.Stop(c)
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// OnBoot records the engine and the bound address (gnet reports ":0" for an
// ephemeral port, so ask the kernel).
func (s *Server) OnBoot(eng gnet.Engine) gnet.Action {
	s.eng = eng
	fd, err := eng.Dup()
	if err != nil {
		s.runErr = fmt.Errorf("rawgnet: dup listener: %w", err)
		return gnet.Shutdown
	}
	sa, err := unix.Getsockname(fd)
	unix.Close(fd)
	if err != nil {
		s.runErr = fmt.Errorf("rawgnet: getsockname: %w", err)
		return gnet.Shutdown
	}
	if a, ok := sa.(*unix.SockaddrInet4); ok {
		s.addr = &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	} else {
		s.runErr = fmt.Errorf("rawgnet: unexpected listen address %T", sa)
		return gnet.Shutdown
	}
	close(s.booted)
	return gnet.None
}

// loopFor returns the loopState of el, adding it on first sight.
func (s *Server) loopFor(el gnet.EventLoop) *loopState {
	for _, ls := range *s.loops.Load() {
		if ls.el == el {
			return ls
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.loops.Load()
	for _, ls := range old {
		if ls.el == el {
			return ls
		}
	}
	ls := &loopState{el: el}
	next := append(append(make([]*loopState, 0, len(old)+1), old...), ls)
	s.loops.Store(&next)
	return ls
}

// OnOpen registers c with its loop.
func (s *Server) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	ls := s.loopFor(c.EventLoop())
	c.SetContext(&connState{loop: ls, idx: len(ls.conns)})
	ls.conns = append(ls.conns, c)
	return nil, gnet.None
}

// OnClose removes c from its loop (swap with the last connection).
func (s *Server) OnClose(c gnet.Conn, _ error) gnet.Action {
	cs, ok := c.Context().(*connState)
	if !ok || cs.idx < 0 {
		return gnet.None
	}
	ls := cs.loop
	last := len(ls.conns) - 1
	moved := ls.conns[last]
	ls.conns[cs.idx] = moved
	moved.Context().(*connState).idx = cs.idx
	ls.conns[last] = nil
	ls.conns = ls.conns[:last]
	cs.idx = -1
	return gnet.None
}

// OnTraffic handles every complete frame buffered on c.
func (s *Server) OnTraffic(c gnet.Conn) gnet.Action {
	buf, err := c.Peek(-1) // everything buffered; valid until Discard
	if err != nil || len(buf) == 0 {
		return gnet.None
	}
	batch := !s.cfg.PerFrame
	pos, run := 0, 0 // run: start of the pending run of echo replies (batch mode)
	for len(buf)-pos >= proto.LengthSize {
		n := int(binary.BigEndian.Uint32(buf[pos:]))
		if n == 0 || n > s.maxFrame {
			return gnet.Close
		}
		end := pos + proto.LengthSize + n
		if end > len(buf) {
			break
		}
		f := buf[pos:end]
		echo := false
		switch proto.Kind(f[proto.LengthSize]) {
		case proto.KindMessage:
			b, err := srv.HasBcastHeader(f[proto.LengthSize+1:])
			if err != nil {
				return gnet.Close
			}
			if b {
				if batch && run < pos {
					c.Write(buf[run:pos])
				}
				s.broadcast(c, f)
				run = end
			} else {
				echo = true
			}
		case proto.KindPing:
			if n-1 > proto.MaxPingPayload {
				return gnet.Close
			}
			f[proto.LengthSize] = byte(proto.KindPong) // a PONG is the PING with another kind byte
			echo = true
		case proto.KindPong:
			if batch && run < pos {
				c.Write(buf[run:pos])
			}
			run = end
		default: // CLOSE or an unknown kind
			return gnet.Close
		}
		if echo && !batch {
			c.Write(f)
		}
		pos = end
	}
	if batch && run < pos {
		c.Write(buf[run:pos])
	}
	c.Discard(pos)
	return gnet.None
}

// broadcast writes frame f, received on from, to every other connection.
func (s *Server) broadcast(from gnet.Conn, f []byte) {
	own := from.Context().(*connState).loop
	loops := *s.loops.Load()
	if len(loops) > 1 {
		// f lives in gnet's buffer, which is reused after this callback:
		// other loops get one shared copy.
		cp := append([]byte(nil), f...)
		for _, ls := range loops {
			if ls == own {
				continue
			}
			ls := ls
			_ = ls.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
				for _, c := range ls.conns {
					write(c, cp)
				}
				return nil
			}))
		}
	}
	for _, c := range own.conns {
		if c != from {
			write(c, f)
		}
	}
}

// write sends f to c (on c's loop), closing c if it stopped reading.
func write(c gnet.Conn, f []byte) {
	if c.OutboundBuffered() > maxOutbound {
		_ = c.Close()
		return
	}
	_, _ = c.Write(f)
}

// OnTick runs the periodic update on gnet's ticker goroutine, scheduling the
// next one against a fixed timeline so lateness does not accumulate.
func (s *Server) OnTick() (time.Duration, gnet.Action) {
	period := time.Second / time.Duration(s.cfg.TickHz)
	now := time.Now()
	if s.cfg.Tick != nil {
		s.cfg.Tick.Tick(now)
	}
	if s.tickNext.IsZero() {
		s.tickNext = now
	}
	s.tickNext = s.tickNext.Add(period)
	if d := s.tickNext.Sub(now); d > 0 {
		return d, gnet.None
	}
	s.tickNext = now.Add(period) // fell behind: restart the timeline
	return period, gnet.None
}

// quietLogger passes on gnet's warnings and errors only (gnet's default
// logger prints an INFO line per engine, and WithLogLevel only applies to
// file logging).
type quietLogger struct{}

// Debugf drops debug messages.
func (quietLogger) Debugf(string, ...any) {}

// Infof drops informational messages.
func (quietLogger) Infof(string, ...any) {}

// Warnf prints a warning to stderr.
func (quietLogger) Warnf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gnet: warning: "+format+"\n", args...)
}

// Errorf prints an error to stderr.
func (quietLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gnet: error: "+format+"\n", args...)
}

// Fatalf prints an error to stderr and exits.
func (quietLogger) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gnet: fatal: "+format+"\n", args...)
	os.Exit(1)
}

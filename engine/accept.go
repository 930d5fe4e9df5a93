package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// The accept loop is the server's own, not gnet's.
//
// gnet v2.9.7's acceptor treats every accept error except EAGAIN, EINTR,
// ECONNRESET and ECONNABORTED as fatal: when the fd table is full, EMFILE
// stops the engine, disconnects every client and closes the port, and
// gnet has no hook to change that. So the server listens on a TCP socket of
// its own, accepts with net/http's backoff and hands every accepted socket
// to a gnet loop through Engine.Register (gnet dups the fd and adopts the
// dup). gnet itself must listen on something: it listens on a Unix socket
// whose path is removed as soon as gnet has bound it, so nothing can ever
// connect there and gnet's acceptor never accepts anything.
//
// On any accept error but a closed listener (EMFILE, ENFILE, ENOBUFS,
// ENOMEM...) the loop stops accepting for 5 ms, doubling up to 1 s while
// the error persists, and retries; a client disconnecting frees an fd and
// cuts the wait short. Meanwhile new connections wait in the kernel's
// backlog (or are refused by the kernel when it is full); no connection is
// half-admitted, and every connected client is served throughout. Near the
// limit, hand-offs go one at a time with an fd reserved for each (see
// tightHold), so that the backlog waits rather than being dropped. The log
// gets one line when accepting stops and one when it resumes, at most once
// per logEvery (later episodes are counted in the next line).
//
// Register picks the loop with the engine's load balancer. gnet's
// round-robin balancer is not safe for concurrent use, and its doc warns
// that Register races with gnet's acceptor; here gnet's acceptor never
// runs and only the accept goroutine calls Register, so nothing races.
type acceptor struct {
	s        *Server
	ln       *net.TCPListener
	dir      string // temporary directory of gnet's socket, "" if none
	gnetAddr string // what gnet listens on

	handoffs chan (<-chan gnet.RegisteredResult) // to the reaper, in accept order
	ready    chan struct{}                       // closed once gnet's loops exist
	readyOne sync.Once
	quit     chan struct{} // closed by stop
	freed    chan struct{} // a client left while paused
	loopDone chan struct{} // run returned
	reapDone chan struct{} // reap returned
	started  bool
	stopOnce sync.Once

	paused   atomic.Bool   // accept is failing: freed is worth a send
	accepted atomic.Uint64 // sockets accepted
	failures atomic.Uint64 // failed accepts (and hand-offs)
	dropped  atomic.Uint64 // accepted sockets gnet could not adopt
	inflight atomic.Int32  // hand-offs not yet reaped
	settled  chan struct{} // the reaper finished one

	handoffErr atomic.Pointer[error] // the last hand-off failure, for the accept loop
	handoffLog logLimiter

	// Accept loop only.
	spare       int        // fd held for the next hand-off's dup, or -1
	tightUntil  time.Time  // hand off one at a time until then (tightHold)
	pauseLog    logLimiter // pause lines
	pauseLogged bool       // this episode's pause was logged: log its end
	pauseStart  time.Time  // when this episode began
	unreported  int        // failures since the last line
}

// Backoff bounds, as net/http's Server.Serve.
const (
	acceptMinDelay = 5 * time.Millisecond
	acceptMaxDelay = time.Second
)

// listen opens the server's TCP listener and chooses gnet's address.
func (a *acceptor) listen(s *Server, hostport string) error {
	a.s = s
	// No TCP keepalive, as before with gnet's listener: the protocol's
	// heartbeat finds dead peers. Go sets TCP_NODELAY on what it accepts;
	// accepted sockets inherit SO_SNDBUF from the listener.
	lc := net.ListenConfig{KeepAlive: -1}
	if n := s.cfg.SocketSendBuffer; n > 0 {
		lc.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, n)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	ln, err := lc.Listen(context.Background(), "tcp", hostport)
	if err != nil {
		return err
	}
	a.ln = ln.(*net.TCPListener)
	a.gnetAddr, a.dir = idleSocket()
	a.handoffs = make(chan (<-chan gnet.RegisteredResult), maxHandoffs)
	a.ready = make(chan struct{})
	a.quit = make(chan struct{})
	a.freed = make(chan struct{}, 1)
	a.settled = make(chan struct{}, 1)
	a.spare = -1
	a.loopDone = make(chan struct{})
	a.reapDone = make(chan struct{})
	return nil
}

// idleSocket returns a Unix socket address for gnet in a fresh private
// directory (removed once gnet has bound it: see booted), or, where no
// temporary directory is usable, a random abstract address (Linux).
func idleSocket() (addr, dir string) {
	for _, base := range []string{"", "/tmp"} {
		d, err := os.MkdirTemp(base, "simpleserver-")
		if err != nil {
			continue
		}
		p := filepath.Join(d, "gnet")
		if len(p) < 100 { // sun_path holds 108 bytes
			return "unix://" + p, d
		}
		os.RemoveAll(d)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("unix://@simpleserver-%d-%x", os.Getpid(), b), ""
}

// booted runs in OnBoot, once gnet has bound its socket: it removes the
// socket's path, so nothing can connect to it, and returns the address
// clients connect to.
func (a *acceptor) booted() net.Addr {
	if a.dir != "" {
		os.RemoveAll(a.dir)
	}
	return a.ln.Addr()
}

// engineReady is called from OnTick. gnet calls OnBoot before it creates
// its event loops, and Register reads the loop list without a lock; its
// ticker goroutine is started after the loops are in place, so the first
// tick is the earliest moment Register is safe (and has loops to use).
func (a *acceptor) engineReady() {
	a.readyOne.Do(func() { close(a.ready) })
}

// start begins accepting (once engineReady) after StartAsync has booted
// the engine. Until then connections wait in the listener's backlog.
func (a *acceptor) start() {
	a.started = true
	go a.run()
	go a.reap()
}

// stop closes the listener and returns once every socket it accepted has
// been handed to a loop and gone through OnOpen (or failed to), so that an
// engine stop queued after it cannot strand one. It is idempotent and
// safe to call concurrently; connections still in the backlog are reset.
func (a *acceptor) stop() {
	a.stopOnce.Do(func() {
		close(a.quit)
		a.ln.Close()
		if a.dir != "" {
			os.RemoveAll(a.dir) // when gnet never booted
		}
		if !a.started {
			return
		}
		<-a.loopDone
		a.releaseSpare()
		close(a.handoffs)
		<-a.reapDone
	})
}

// fdFreed is called when a client has gone: an accept paused by a full fd
// table may succeed now, so it retries at once instead of at the end of
// its backoff.
func (a *acceptor) fdFreed() {
	if a.paused.Load() {
		select {
		case a.freed <- struct{}{}:
		default:
		}
	}
}

// run is the accept loop.
func (a *acceptor) run() {
	defer close(a.loopDone)
	select {
	case <-a.ready:
	case <-a.quit:
		return
	}
	var (
		delay time.Duration
		rate  *tokenBucket
	)
	if r := a.s.cfg.AcceptRate; r > 0 {
		rate = newTokenBucket(r)
	}
	fail := func(err error) bool {
		a.failures.Add(1)
		a.tightUntil = time.Now().Add(tightHold)
		delay = min(max(2*delay, acceptMinDelay), acceptMaxDelay)
		a.acceptFailed(err, delay)
		return a.wait(delay)
	}
	for {
		if rate != nil && !rate.take(a.quit) {
			return
		}
		if time.Now().Before(a.tightUntil) {
			// Near the fd limit: one hand-off at a time, its fd reserved.
			if !a.settle() {
				return
			}
			if err := a.takeHandoffErr(); err != nil {
				if !fail(err) {
					return
				}
				continue
			}
			if err := a.holdSpare(); err != nil {
				if !fail(err) {
					return
				}
				continue
			}
		}
		conn, err := a.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if !fail(err) {
				return
			}
			continue
		}
		if delay != 0 {
			a.acceptResumed()
			delay = 0
		}
		a.accepted.Add(1)
		a.releaseSpare() // the hand-off's dup takes its place
		a.handOff(conn)
		if err := a.takeHandoffErr(); err != nil && !fail(err) {
			return
		}
	}
}

// tightHold is how long the accept loop stays careful after a failure.
//
// gnet adopts a socket by dup'ing it, so a hand-off needs a second fd for
// a moment, and hand-offs run in parallel. When the table is one fd from
// full, a pipelined accept succeeds and its dup then fails: the client is
// dropped, and the accept loop, seeing accept succeed, would drop the
// whole backlog that way. So after any failure the loop hands off one
// socket at a time for tightHold, with a spare fd (/dev/null) held and
// released just before each hand-off for its dup: if the table is full,
// opening the spare fails instead, before anyone is accepted.
const tightHold = 5 * time.Second

// settle waits until no hand-off is in flight; false means stop.
func (a *acceptor) settle() bool {
	for a.inflight.Load() > 0 {
		select {
		case <-a.settled:
		case <-a.quit:
			return false
		case <-a.s.ranOut:
			return false
		}
	}
	return true
}

// holdSpare makes sure the spare fd is held.
func (a *acceptor) holdSpare() error {
	if a.spare >= 0 {
		return nil
	}
	fd, err := syscall.Open(os.DevNull, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("reserve an fd for the next connection: %w", err)
	}
	a.spare = fd
	return nil
}

func (a *acceptor) releaseSpare() {
	if a.spare >= 0 {
		syscall.Close(a.spare)
		a.spare = -1
	}
}

// takeHandoffErr returns (and clears) the last hand-off failure.
func (a *acceptor) takeHandoffErr() error {
	if p := a.handoffErr.Swap(nil); p != nil {
		return *p
	}
	return nil
}

// wait sleeps d, or less if a client leaves; false means stop.
func (a *acceptor) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-a.freed:
	case <-a.quit:
		return false
	}
	return true
}

// acceptFailed records a failed accept and logs it, rate-limited.
func (a *acceptor) acceptFailed(err error, retry time.Duration) {
	now := time.Now()
	a.unreported++
	if a.paused.Load() {
		return
	}
	a.paused.Store(true)
	a.pauseStart = now
	ok, earlier := a.pauseLog.allow(now)
	a.pauseLogged = ok
	if !ok {
		return
	}
	a.s.log.Warn("simpleserver: accept failed; not accepting new connections for now (connected clients are unaffected)",
		"err", err, "retry_in", retry, "clients", a.s.numConns.Load(), "nofile", a.s.fdLimit,
		"failures", a.unreported, "pauses_unlogged", earlier)
	a.unreported = 0
}

// acceptResumed ends a pause episode, logging it if its start was logged.
func (a *acceptor) acceptResumed() {
	a.paused.Store(false)
	if !a.pauseLogged {
		return
	}
	a.pauseLogged = false
	a.s.log.Warn("simpleserver: accepting new connections again",
		"paused", time.Since(a.pauseStart).Round(time.Millisecond), "failures", a.unreported,
		"clients", a.s.numConns.Load())
	a.unreported = 0
}

// handOff gives an accepted socket to a gnet loop. The reaper collects the
// outcome; at most maxHandoffs are outstanding, so a busy engine slows the
// accept loop down instead of piling up sockets.
func (a *acceptor) handOff(conn *net.TCPConn) {
	ch, err := a.s.eng.Register(gnet.NewNetConnContext(context.Background(), conn))
	if err != nil {
		conn.Close()
		a.handoffFailed(err)
		return
	}
	a.inflight.Add(1)
	select {
	case a.handoffs <- ch:
	case <-a.s.ranOut: // the engine is gone: the hand-off never completes
	}
}

// reap waits for each hand-off to finish: gnet then has run OnOpen for it
// and closed the socket's original fd.
func (a *acceptor) reap() {
	defer close(a.reapDone)
	for ch := range a.handoffs {
		select {
		case r := <-ch:
			if r.Err != nil {
				a.handoffFailed(r.Err) // gnet has closed the socket
			}
		case <-a.s.ranOut:
		}
		a.inflight.Add(-1)
		select {
		case a.settled <- struct{}{}:
		default:
		}
	}
}

// handoffFailed records a socket gnet could not adopt (typically EMFILE on
// its dup when the table is full): the client sees the connection closed
// without a word, as if the kernel had refused it. The accept loop backs
// off as for a failed accept. Logged one line per logEvery.
func (a *acceptor) handoffFailed(err error) {
	a.dropped.Add(1)
	a.handoffErr.Store(&err)
	if ok, more := a.handoffLog.allow(time.Now()); ok {
		a.s.log.Warn("simpleserver: accepted connection dropped: cannot hand it to an event loop",
			"err", err, "clients", a.s.numConns.Load(), "dropped_unlogged", more)
	}
}

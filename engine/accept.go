package engine

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The accept loop is the server's own, not gnet's.
//
// gnet v2.9.7's acceptor treats every accept error except EAGAIN, EINTR,
// ECONNRESET and ECONNABORTED as fatal: when the fd table is full, EMFILE
// stops the engine, disconnects every client and closes the port, and
// gnet has no hook to change that. So the server listens on a TCP socket of
// its own, accepts with accept4(2) and net/http's backoff, and hands every
// accepted socket to a gnet loop through Engine.Adopt (our addition to the
// vendored gnet, internal/gnet): the loop takes the fd as it is, as
// gnet's own acceptor would, with no net.Conn, no dup and no goroutine in
// between, so that an idle connection costs what it costs in raw gnet.
// gnet itself must listen on something: it listens on a Unix socket whose
// path is removed as soon as gnet has bound it, so nothing can ever
// connect there and gnet's acceptor never accepts anything.
//
// On any accept error but a closed listener (EMFILE, ENFILE, ENOBUFS,
// ENOMEM...) the loop stops accepting for 5 ms, doubling up to 1 s while
// the error persists, and retries; a client disconnecting frees an fd and
// cuts the wait short. Meanwhile new connections wait in the kernel's
// backlog (or are refused by the kernel when it is full); no connection is
// half-admitted, and every connected client is served throughout. An
// accepted socket needs no further fd to reach its loop, so a full table
// makes accept fail, never a hand-off. The log gets one line when accepting
// stops and one when it resumes, at most once per logEvery (later episodes
// are counted in the next line).
//
// Adopt picks the loop with the engine's load balancer. gnet's round-robin
// balancer is not safe for concurrent use; here gnet's acceptor never runs
// and only the accept goroutine calls Adopt, so nothing races.
type acceptor struct {
	s        *Server
	lf       *os.File // the listening socket, non-blocking, on Go's poller
	rc       syscall.RawConn
	addr     net.Addr // the listener's address: every connection's LocalAddr
	dir      string   // temporary directory of gnet's socket, "" if none
	gnetAddr string   // what gnet listens on

	ready    chan struct{} // closed once gnet's loops exist
	readyOne sync.Once
	quit     chan struct{} // closed by stop
	freed    chan struct{} // a client left while paused
	loopDone chan struct{} // run returned
	started  bool
	stopOnce sync.Once

	paused   atomic.Bool   // accept is failing: freed is worth a send
	accepted atomic.Uint64 // sockets accepted
	failures atomic.Uint64 // failed accepts (and hand-offs)
	dropped  atomic.Uint64 // accepted sockets gnet could not adopt
	inflight atomic.Int32  // hand-offs whose done has not run yet
	settled  chan struct{} // a hand-off's done ran

	handoffErr atomic.Pointer[error] // the last hand-off failure, for the accept loop
	handoffLog logLimiter
	adopted    func(error) // Adopt's done, one func for every hand-off

	// Accept loop only.
	acceptFn    func(fd uintptr) bool // rc.Read's callback: one accept4
	nfd         int                   // what acceptFn accepted
	nsa         unix.Sockaddr
	nerr        error
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
	// heartbeat finds dead peers. Accepted sockets inherit SO_SNDBUF from
	// the listener.
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
	// net resolves and binds; accept4 runs on a dup of the socket in an
	// os.File, because a net.Listener's RawConn cannot wait for a
	// connection (its Read fails with EINVAL) and an os.File's can, on
	// Go's poller.
	a.addr = ln.Addr()
	fd, err := dupSocket(ln.(*net.TCPListener))
	ln.Close()
	if err != nil {
		return err
	}
	a.lf = os.NewFile(uintptr(fd), "simpleserver-listener")
	if a.rc, err = a.lf.SyscallConn(); err != nil {
		a.lf.Close()
		return err
	}
	a.acceptFn = a.accept4
	a.adopted = a.handedOff
	a.gnetAddr, a.dir = idleSocket()
	a.ready = make(chan struct{})
	a.quit = make(chan struct{})
	a.freed = make(chan struct{}, 1)
	a.settled = make(chan struct{}, 1)
	a.loopDone = make(chan struct{})
	return nil
}

// dupSocket returns a non-blocking close-on-exec dup of ln's socket.
func dupSocket(ln *net.TCPListener) (int, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return -1, err
	}
	nfd, derr := -1, error(nil)
	if err := rc.Control(func(fd uintptr) { nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, os.NewSyscallError("fcntl", derr)
	}
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return -1, os.NewSyscallError("fcntl", err)
	}
	return nfd, nil
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
	return a.addr
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
}

// stop closes the listener and returns once every socket it accepted has
// been handed to a loop and gone through OnOpen (or failed to), so that an
// engine stop queued after it cannot strand one. It is idempotent and
// safe to call concurrently; connections still in the backlog are reset.
func (a *acceptor) stop() {
	a.stopOnce.Do(func() {
		close(a.quit)
		a.lf.Close() // wakes the accept loop
		if a.dir != "" {
			os.RemoveAll(a.dir) // when gnet never booted
		}
		if !a.started {
			return
		}
		<-a.loopDone
		a.settle(1)
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
		delay = min(max(2*delay, acceptMinDelay), acceptMaxDelay)
		a.acceptFailed(err, delay)
		return a.wait(delay)
	}
	for {
		if rate != nil && !rate.take(a.quit) {
			return
		}
		if !a.settle(maxHandoffs) {
			return
		}
		fd, sa, err := a.accept()
		if err != nil {
			select {
			case <-a.quit: // the listener is closed
				return
			default:
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
		a.handOff(fd, sa)
		if err := a.takeHandoffErr(); err != nil && !fail(err) {
			return
		}
	}
}

// accept accepts one connection, waiting on Go's poller for it.
func (a *acceptor) accept() (int, unix.Sockaddr, error) {
	if err := a.rc.Read(a.acceptFn); err != nil {
		return -1, nil, err
	}
	if a.nerr != nil {
		return -1, nil, os.NewSyscallError("accept4", a.nerr)
	}
	return a.nfd, a.nsa, nil
}

// accept4 is rc.Read's callback: false asks it to wait until the listener
// is readable and call again.
func (a *acceptor) accept4(fd uintptr) bool {
	for {
		a.nfd, a.nsa, a.nerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch a.nerr {
		case unix.EINTR, unix.ECONNABORTED, unix.ECONNRESET:
			continue // (the last two: a peer gone before we accepted it)
		case unix.EAGAIN:
			return false
		}
		return true
	}
}

// settle waits until fewer than n hand-offs are in flight; false means
// stop (settle(1): none is).
func (a *acceptor) settle(n int32) bool {
	for a.inflight.Load() >= n {
		select {
		case <-a.settled:
		case <-a.quit:
			if n > 1 {
				return false
			}
			// stop: wait for the last ones, unless the engine is gone
			select {
			case <-a.settled:
			case <-a.s.ranOut:
				return false
			}
		case <-a.s.ranOut:
			return false
		}
	}
	return true
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

// handOff gives an accepted socket to a gnet loop; handedOff, on the loop,
// collects the outcome. At most maxHandoffs are outstanding (settle), so a
// busy engine slows the accept loop down instead of piling up sockets.
func (a *acceptor) handOff(fd int, sa unix.Sockaddr) {
	// As net does for what it accepts: no Nagle delay.
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	a.inflight.Add(1)
	if err := a.s.eng.Adopt(fd, sa, a.addr, tcpAddr(sa), nil, a.adopted); err != nil {
		a.inflight.Add(-1)
		unix.Close(fd)
		a.handoffFailed(err)
	}
}

// handedOff is Adopt's done: gnet has run OnOpen for the socket, or failed
// to register it and closed it.
func (a *acceptor) handedOff(err error) {
	if err != nil {
		a.handoffFailed(err)
	}
	a.inflight.Add(-1)
	select {
	case a.settled <- struct{}{}:
	default:
	}
}

// tcpAddr is the peer's address as net reports it. The IP shares sa's
// array, as in gnet's acceptor: gnet keeps sa too, so the pair costs one
// TCPAddr and one Sockaddr per connection.
func tcpAddr(sa unix.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port, Zone: zoneName(sa.ZoneId)}
	}
	return &net.TCPAddr{}
}

// zoneName names an IPv6 zone as net does: the interface name, or the
// index when there is no such interface.
func zoneName(id uint32) string {
	if id == 0 {
		return ""
	}
	if ifi, err := net.InterfaceByIndex(int(id)); err == nil {
		return ifi.Name
	}
	return strconv.FormatUint(uint64(id), 10)
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

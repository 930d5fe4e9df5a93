package engine

import (
	"syscall"
)

// The fd budget. Every client connection is one file descriptor, and the
// process needs others: the listeners, gnet's pollers, the Go runtime's
// poller, stdio, sockets being handed to a loop, and whatever the
// application opens itself (log files, a NATS connection, a metrics
// endpoint). MaxConnections is clamped at start so that the clients alone
// can never fill the table: see Server.fdBudget.
// DefaultReservedFDs is the default of Config.ReservedFDs: fds kept for
// the application's own files and connections.
const DefaultReservedFDs = 64

const (
	// serverFDs is what the server holds whatever the load: our listener
	// and gnet's idle one, gnet's ingress poller and its eventfd, the Go
	// runtime's epoll and eventfd, stdio, and a margin. Each event loop adds
	// a poller and an eventfd on top (fdsPerLoop).
	serverFDs  = 16
	fdsPerLoop = 2
	// maxHandoffs is how many accepted sockets may be on their way to an
	// event loop at once. Each holds its fd meanwhile, not yet counted as a
	// client, and so does one refused at admission until its CLOSE is
	// written; the budget reserves two fds per hand-off.
	maxHandoffs = 32
	// maxHeldRefusals is how many connections refused at admission may be
	// held for their first bytes at once (refuse.go), an fd each. A
	// browser's upgrade request follows its connect within a round trip,
	// so few are held at a time even while the server is full.
	maxHeldRefusals = 32
)

// raiseNoFile raises the soft RLIMIT_NOFILE to the hard limit and returns
// the soft limit then in force, and the one before when it changed it.
//
// Go already does this for the process at start-up (package syscall's
// init sets the soft limit to hard-1, go.dev/issue/46279) and restores the
// original soft limit in child processes it starts. So this only acts when
// something lowered the limit after that (another library, the program
// itself); it leaves a limit of hard-1 alone, because syscall.Setrlimit
// would turn that restoring off for the whole process.
func raiseNoFile() (cur, was uint64, err error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, err
	}
	if lim.Max == 0 || lim.Cur >= lim.Max-1 {
		return lim.Cur, 0, nil
	}
	raised := lim
	raised.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
		// Darwin refuses more than kern.maxfilesperproc (and an infinite
		// hard limit): keep what we have.
		return lim.Cur, 0, nil
	}
	return raised.Cur, lim.Cur, nil
}

// fdReserve is how many fds the budget keeps away from clients.
func (c *Config) fdReserve() int {
	r := serverFDs + fdsPerLoop*c.EventLoops + 2*maxHandoffs + maxHeldRefusals
	if c.ReservedFDs > 0 {
		r += c.ReservedFDs
	}
	return r
}

// fdBudget raises the fd limit and clamps s.cfg.MaxConnections to what fits
// under it, with a warning when that lowers it. It runs in StartAsync
// before anything else reads MaxConnections. A negative MaxConnections (no
// cap) stays: the accept loop's backoff is then the only protection.
func (s *Server) fdBudget() {
	limit, was, err := raiseNoFile()
	if err != nil {
		s.log.Warn("simpleserver: cannot read RLIMIT_NOFILE; MaxConnections not checked against it", "err", err)
		return
	}
	if was != 0 {
		s.log.Debug("simpleserver: raised the soft RLIMIT_NOFILE to the hard limit", "from", was, "to", limit)
	}
	limit = min(limit, 1<<40) // RLIM_INFINITY, where a system allows it
	s.fdLimit = limit
	reserve := s.cfg.fdReserve()
	fit := max(int64(limit)-int64(reserve), 1)
	if s.cfg.MaxConnections > 0 && int64(s.cfg.MaxConnections) > fit {
		s.log.Warn("simpleserver: MaxConnections lowered to fit the open-file limit; raise `ulimit -n` for more",
			"configured", s.cfg.MaxConnections, "effective", fit, "nofile", limit, "reserved", reserve)
		s.mu.Lock()
		s.cfg.MaxConnections = int(fit)
		s.mu.Unlock()
	}
}

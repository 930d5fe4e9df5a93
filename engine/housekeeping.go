package engine

import (
	"time"
)

// Heartbeats, idle and frame timeouts are enforced by one sweep over every
// loop's clients, run by gnet's ticker goroutine: no timer or goroutine per
// connection. The sweep period is a quarter of the shortest timeout, so a
// deadline is enforced within 25% of its length.

const (
	minSweep = 5 * time.Millisecond
	maxSweep = time.Second
)

func (s *Server) sweepPeriod() time.Duration {
	p := maxSweep * 4
	for _, d := range []time.Duration{s.cfg.PingInterval, s.cfg.PingTimeout, s.cfg.FrameTimeout, s.cfg.SessionGrace} {
		if d > 0 && d < p {
			p = d
		}
	}
	return min(max(p/4, minSweep), maxSweep)
}

var pingPayload = []byte("simpleserver")

// sweep checks every client's deadlines and returns the delay until the
// next sweep.
func (s *Server) sweep() time.Duration {
	period := s.sweepPeriod()
	if s.addrUnset() {
		return period
	}
	if s.sessionsOn() {
		s.sweepSessions()
	}
	now := time.Now().UnixNano()
	var buf []*Client
	for _, l := range s.allLoops() {
		buf = l.conns.snapshot(buf[:0])
		for _, c := range buf {
			s.checkDeadlines(c, now)
		}
	}
	return period
}

func (s *Server) addrUnset() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr == nil
}

func (s *Server) checkDeadlines(c *Client, now int64) {
	// A loop waiting for the dispatcher reads nobody: its clients' silence
	// proves nothing, and their clocks restart when it resumes.
	waiting, resumed := c.loopStall()
	if waiting {
		return
	}
	if ft := s.cfg.FrameTimeout; ft > 0 {
		if start := c.frameStart.Load(); start != 0 && now-max(start, resumed) > int64(ft) {
			c.closeWith(ErrFrameTimeout, ErrFrameTimeout.Error(), false)
			return
		}
	}
	if s.cfg.LegacyClients && c.heartbeatExempt() {
		c.kickLegacyFlush() // and no PING, no idle timeout (legacy.go)
		return
	}
	pi := s.cfg.PingInterval
	if pi <= 0 {
		return
	}
	last := max(c.lastRecv.Load(), resumed)
	if now-last < int64(pi) {
		return
	}
	sent := c.pingSent.Load()
	if sent == 0 {
		c.pingSent.Store(now)
		c.queueControl(func(b []byte) []byte { return c.tr.appendPing(b, pingPayload) })
		return
	}
	if pt := s.cfg.PingTimeout; pt > 0 && now-max(sent, resumed) > int64(pt) {
		c.closeWith(ErrIdleTimeout, ErrIdleTimeout.Error(), false)
	}
}

package engine

import (
	"time"
)

// Inbound backpressure (default and manual modes).
//
// gnet cannot pause reading one connection: it reads every readable socket
// and keeps what OnTraffic leaves in a ring that grows without limit. So
// the server throttles where it can: an event loop that is about to stage a
// MESSAGE for a client over its high-water mark (Config.MaxPendingMessages
// or MaxPendingBytes not yet handled), or while the whole queue is over
// Config.MaxQueuedBytes, first hands what it staged to the dispatcher and
// then waits until the client is back under half its marks and the queue
// under half its cap. While it waits the loop reads no socket, so the
// kernel's receive windows fill and TCP slows every sender on that loop
// down. That is physically right: the one logic goroutine is the
// bottleneck, and the per-client marks keep one client from taking the
// whole queue. Nobody is disconnected for sending fast; the only inbound
// disconnect left is for a client that never reads what it is sent, which
// the outbound cap (ErrSlowConsumer) catches.
//
// Why this cannot deadlock: the dispatcher never waits for a loop (sends
// write to the socket directly or queue a loop task without blocking), and
// a waiting loop holds no lock. The dispatcher wakes waiting loops after
// every batch it handled; Stop wakes them all, and closing a client wakes
// its loop. A loop that wakes for Stop, or for its client closing, stops
// waiting and drops that client's further messages while it is over its
// marks (the server is saying goodbye to it: nothing could answer them).
// While a loop waits, the housekeeping sweep leaves its clients alone (their
// bytes are not being read, so silence proves nothing) and restarts their
// idle and frame clocks when it resumes.

// queueOverhead is what the global cap charges per queued message on top of
// its payload: the event and its decoded headers. A flood of empty
// messages is bounded too.
const queueOverhead = 128

// admit is called on c's loop before staging a MESSAGE of n payload bytes.
// It reports whether to stage it: true at once below the marks (the hot
// path: two atomic loads), else after waiting for the dispatcher; false
// when the wait ended because the server is stopping or c is closing.
func (s *Server) admit(c *Client, l *loopState) bool {
	if !s.overHighWater(c, l) {
		return true
	}
	s.pushStaged(l)
	s.stats.throttles.Add(1)
	l.waitFor.Store(c)
	s.waiters.Add(1)
	ok := false
	for {
		// Check after announcing the wait: a dispatcher that released
		// bytes before it saw s.waiters is seen here (no lost wake-up).
		if s.draining.Load() || c.isClosing() {
			break
		}
		if s.belowLowWater(c) {
			ok = true
			break
		}
		<-l.wake
	}
	s.waiters.Add(-1)
	l.waitFor.Store(nil)
	l.resumed.Store(time.Now().UnixNano())
	return ok
}

// overHighWater reports whether c (with what l staged for it) or the queue
// is at its high-water mark.
func (s *Server) overHighWater(c *Client, l *loopState) bool {
	p := c.pending.Load() + l.cur.pend // l.cur's messages are all c's
	msgs, bytes := p/pendingMsg, p%pendingMsg
	if s.cfg.MaxPendingMessages > 0 && msgs >= int64(s.cfg.MaxPendingMessages) ||
		s.cfg.MaxPendingBytes > 0 && bytes >= int64(s.cfg.MaxPendingBytes) {
		return true
	}
	return s.cfg.MaxQueuedBytes > 0 && s.queued.Load()+l.cur.charge >= int64(s.cfg.MaxQueuedBytes)
}

// belowLowWater reports whether c and the queue are back under half their
// marks (at or under, so that a mark of 1 still resumes once drained).
func (s *Server) belowLowWater(c *Client) bool {
	p := c.pending.Load()
	msgs, bytes := p/pendingMsg, p%pendingMsg
	if s.cfg.MaxPendingMessages > 0 && msgs > int64(s.cfg.MaxPendingMessages/2) ||
		s.cfg.MaxPendingBytes > 0 && bytes > int64(s.cfg.MaxPendingBytes/2) {
		return false
	}
	return s.cfg.MaxQueuedBytes <= 0 || s.queued.Load() <= int64(s.cfg.MaxQueuedBytes/2)
}

// pushStaged hands l's current batch to the dispatcher and charges its
// messages to their client and to the queue: one atomic add each per
// batch, not per message.
func (s *Server) pushStaged(l *loopState) {
	b := l.cur
	if len(b.evs) == 0 {
		return
	}
	if b.pend != 0 {
		b.c.pending.Add(b.pend)
		s.queued.Add(b.charge)
	}
	l.cur = s.queue.push(b)
}

// pushEvent queues a connection event at once, behind what l staged.
func (s *Server) pushEvent(l *loopState, kind eventKind, c *Client, reason error) {
	ev := l.cur.next()
	ev.kind, ev.c, ev.reason = kind, c, reason
	s.pushStaged(l)
}

// wakeWaiters wakes the loops waiting on a client that is now under its
// marks. The dispatcher calls it after each batch; it costs one atomic load
// when no loop waits.
func (s *Server) wakeWaiters() {
	if s.waiters.Load() == 0 {
		return
	}
	for _, l := range s.loopList() {
		if c := l.waitFor.Load(); c != nil && s.belowLowWater(c) {
			l.signal()
		}
	}
}

// wakeAllLoops wakes every waiting loop so it rechecks why it waits (Stop).
func (s *Server) wakeAllLoops() {
	for _, l := range s.loopList() {
		l.signal()
	}
}

// signal wakes l if it waits; a stale signal only causes one recheck.
func (l *loopState) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// isClosing reports whether c is being disconnected or gone.
func (c *Client) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing || c.closed
}

// loopStall reports whether c's loop is waiting (its clients' deadlines
// are then suspended) and when it last resumed (unix ns, 0 if never):
// clocks restart from there.
func (c *Client) loopStall() (waiting bool, resumed int64) {
	l := c.loop
	return l.waitFor.Load() != nil, l.resumed.Load()
}

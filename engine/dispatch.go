package engine

import (
	"log/slog"
	"runtime/debug"

	"github.com/simpleserver-go/simpleserver/proto"
)

// How events reach listeners (default and manual modes).
//
// Event loops only read, decode and enqueue: every connection, message and
// disconnect becomes an event in one FIFO queue, in the order it happened.
// One dispatcher at a time (the logic goroutine, or the Update caller) takes
// the whole queue and calls the listeners, inside a flush scope. A
// connection's events are enqueued by its one loop, in order, so each client
// sees OnConnection, its messages in arrival order, then OnDisconnect once.

// dispatchPending runs one cycle: every queued event, then OnUpdate if
// update is set, all in one flush scope. Callers hold s.dispatchMu.
func (s *Server) dispatchPending(update bool) {
	s.logic.begin()
	batches := s.queue.take(s.spare, s.dispatched)
	clear(s.dispatched)
	s.dispatched = s.dispatched[:0]
	for _, b := range batches {
		for i := range b.evs {
			s.dispatch(&b.evs[i])
		}
		if b.pend != 0 {
			// Released per batch: waiting loops resume (at half their
			// marks) while the rest of the queue is dispatched.
			b.c.pending.Add(-b.pend)
			s.queued.Add(-b.charge)
		}
		s.wakeWaiters()
		b.reset(&s.inPool)
		s.dispatched = append(s.dispatched, b)
	}
	clear(batches)
	s.spare = batches[:0]
	if update {
		s.fireUpdate()
	}
	list := s.logic.end()
	s.flushList(list)
	s.logic.recycle(list)
}

func (s *Server) dispatch(ev *event) {
	c := ev.c
	switch ev.kind {
	case evOpen:
		s.reg.add(c)
		s.fireConnection(c)
	case evMessage:
		s.fireMessage(c.user(), &ev.m)
	case evClose:
		s.reg.remove(c)
		s.fireDisconnect(c, ev.reason)
	default:
		s.dispatchSession(ev) // session.go
	}
}

// The fire functions call every listener in order. A panicking listener is
// logged with its stack and the rest still run; a client whose OnConnection
// or OnMessage listener panicked is disconnected with ErrListenerPanic,
// since its state may be half-updated (net/http closes the connection of a
// panicking handler for the same reason).

func (s *Server) fireConnection(c *Client) {
	for _, l := range s.OnConnection.snapshot() {
		if !s.callConn(l.fn, c) {
			c.closeWith(ErrListenerPanic, "internal server error", false)
		}
	}
}

func (s *Server) fireMessage(c *Client, m *proto.Message) {
	s.stats.msgsIn.Add(1)
	for _, l := range s.OnMessage.snapshot() {
		if !s.callMsg(l.fn, c, m) {
			c.closeWith(ErrListenerPanic, "internal server error", false)
		}
	}
}

func (s *Server) fireDisconnect(c *Client, reason error) {
	for _, l := range s.OnDisconnect.snapshot() {
		s.callDisc(l.fn, c, reason)
	}
	s.leaveRooms(c) // after: listeners still see c's rooms
}

func (s *Server) fireUpdate() {
	for _, l := range s.OnUpdate.snapshot() {
		s.callUpdate(l.fn)
	}
}

func (s *Server) callConn(fn func(*Client), c *Client) (ok bool) {
	defer s.recoverListener("OnConnection", c, &ok)
	fn(c)
	return true
}

func (s *Server) callMsg(fn func(*Client, *proto.Message), c *Client, m *proto.Message) (ok bool) {
	defer s.recoverListener("OnMessage", c, &ok)
	fn(c, m)
	return true
}

func (s *Server) callDisc(fn func(*Client, error), c *Client, reason error) (ok bool) {
	defer s.recoverListener("OnDisconnect", c, &ok)
	fn(c, reason)
	return true
}

func (s *Server) callUpdate(fn func()) (ok bool) {
	defer s.recoverListener("OnUpdate", nil, &ok)
	fn()
	return true
}

func (s *Server) recoverListener(event string, c *Client, ok *bool) {
	r := recover()
	if r == nil {
		return
	}
	*ok = false
	attrs := []any{slog.String("event", event), slog.Any("panic", r), slog.String("stack", string(debug.Stack()))}
	if c != nil {
		attrs = append(attrs, slog.Uint64("client", c.id), slog.String("addr", c.addr.String()))
	}
	s.log.Error("simpleserver: listener panicked", attrs...)
}

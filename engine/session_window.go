package engine

import (
	"fmt"

	"github.com/simpleserver-go/simpleserver/proto"
)

// The replay window of a session.
//
// Every MESSAGE frame sent to a session's user is appended to its window
// (and, while it is connected, to its transport's queue as well). Messages
// are numbered implicitly: the n-th MESSAGE of the session is number n, on
// both sides, so a frame carries nothing extra. The client ACKs what it
// has received; the window forgets it. On a resume the client says how
// many it has and the window replays the rest. The window is bounded by
// Config.SessionWindow: past it an exact replay is impossible, and the
// session ends with ErrSessionOverflow.
//
// The other way round, the server counts the client's MESSAGEs as it
// queues them for the listeners, ACKs them every serverAckEvery (and on
// each housekeeping sweep), and tells a resuming client the count in
// WELCOME so that it resends only the rest.

// serverAckEvery is how many client messages the server lets pass before
// it ACKs; the sweep ACKs the remainder.
const serverAckEvery = 32

// send appends one MESSAGE frame (encoded by enc) to sess's window and to
// its transport, if it has one. It returns ErrClientClosed once the session
// has ended, and ErrSessionOverflow when this frame passed the window.
func (sess *session) send(enc func([]byte) ([]byte, error)) error {
	over, err := sess.add(enc)
	if over {
		sess.srv.endSession(sess, ErrSessionOverflow, closeOverflow)
	}
	return err
}

// add is send, except that a frame passing the window only reports over:
// the caller must then end the session, holding no lock a listener may
// need (in inline mode a suspended session's OnDisconnect runs inside
// endSession, and it leaves the client's rooms).
func (sess *session) add(enc func([]byte) ([]byte, error)) (over bool, err error) {
	u := sess.user
	u.mu.Lock()
	if sess.ended {
		u.mu.Unlock()
		return false, ErrClientClosed
	}
	start := len(sess.window)
	w, err := enc(sess.window)
	if err != nil {
		u.mu.Unlock()
		return false, err
	}
	sess.window = w
	sess.frames++
	if limit := sess.srv.cfg.SessionWindow; limit > 0 && len(w)-sess.head > limit {
		u.mu.Unlock()
		return true, ErrSessionOverflow
	}
	t := sess.link
	needFlush := false
	if t != nil {
		// Under u.mu, so that the transport gets frames in window order.
		t.mu.Lock()
		if t.closing || t.closed {
			t.mu.Unlock() // the window keeps it for the resume
		} else {
			t.pend = appendV1(t.tr, t.pend, w[start:])
			needFlush, _ = t.settleLocked()
		}
	}
	u.mu.Unlock()
	if needFlush {
		sess.srv.scheduleFlush(t)
	}
	return false, nil
}

// trimLocked forgets the first n frames of the window (the client has
// them). user.mu must be held; n <= frames.
func (sess *session) trimLocked(n uint64) {
	if n == 0 {
		return
	}
	size, _ := proto.SkipFrames(sess.window[sess.head:], n)
	sess.head += size
	sess.frames -= n
	sess.acked += n
	switch {
	case sess.head == len(sess.window):
		if cap(sess.window) > 4<<10 {
			sess.window = nil // an idle session keeps no big buffer
		} else {
			sess.window = sess.window[:0]
		}
		sess.head = 0
	case sess.head > 4<<10 && sess.head > len(sess.window)/2:
		sess.window = sess.window[:copy(sess.window, sess.window[sess.head:])]
		sess.head = 0
	}
}

// confirmed handles the client's ACK n, on the transport's loop. The first
// ACK on a connection also confirms its WELCOME, retiring the token the
// client resumed with.
func (sess *session) confirmed(n uint64) error {
	u := sess.user
	u.mu.Lock()
	if n < sess.acked || n-sess.acked > sess.frames {
		u.mu.Unlock()
		return &proto.ProtocolError{Err: proto.ErrMalformed, Detail: fmt.Sprintf("ACK %d outside %d..%d", n, sess.acked, sess.acked+sess.frames)}
	}
	sess.trimLocked(n - sess.acked)
	if !sess.ended {
		s := sess.srv
		s.sessions.mu.Lock()
		if sess.hasPrev {
			delete(s.sessions.byToken, sess.prev)
			sess.hasPrev = false
		}
		s.sessions.mu.Unlock()
	}
	u.mu.Unlock()
	return nil
}

// countIn counts a MESSAGE from the client on transport t (its loop) and
// ACKs every serverAckEvery.
func (sess *session) countIn(t *Client) {
	n := sess.in.Add(1)
	if n-sess.ackSent.Load() >= serverAckEvery {
		sess.ackSent.Store(n)
		t.queueControl(func(b []byte) []byte { return appendV1(t.tr, b, proto.AppendAck(nil, n)) })
	}
}

// sweepAck ACKs what the client sent since the last ACK (housekeeping).
func (sess *session) sweepAck(t *Client) {
	n := sess.in.Load()
	if sent := sess.ackSent.Load(); n > sent && sess.ackSent.CompareAndSwap(sent, n) {
		t.queueControl(func(b []byte) []byte { return appendV1(t.tr, b, proto.AppendAck(nil, n)) })
	}
}

// sendShared is appendShared for a session's user: it gets every frame
// while connected, whatever its lane (its replay must be exact), and only
// reliable ones while suspended. It reports whether the frame passed the
// window: a fan-out, which holds the registry's or a room's read lock,
// ends the session once it has released them (finishFanout).
func (sess *session) sendShared(frame []byte, lane Lane) (over bool) {
	if !lane.IsReliable() && sess.suspended() {
		return false
	}
	over, _ = sess.add(func(b []byte) ([]byte, error) { return append(b, frame...), nil })
	return over
}

// closed reports whether the session has ended (Client.Closed of a user).
func (sess *session) closed() bool {
	sess.user.mu.Lock()
	defer sess.user.mu.Unlock()
	return sess.ended
}

// suspendedUsers appends the users of suspended sessions that are not in
// the registry (Broadcast reaches them too). s.reg.mu must be held.
func (s *Server) suspendedUsers(dst []*Client) []*Client {
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	for _, sess := range s.sessions.suspended {
		if sess.user.slots[registrySlot] < 0 {
			dst = append(dst, sess.user)
		}
	}
	return dst
}

// suspended reports whether sess has no connection now (droppable lanes
// skip it then).
func (sess *session) suspended() bool {
	sess.user.mu.Lock()
	defer sess.user.mu.Unlock()
	return sess.link == nil && !sess.ended
}

package engine

import "time"

// The events sessions add: a user suspended (its connection lost) and
// resumed. They go through the same queue as the others, so a listener
// sees a session's OnConnection, then OnMessage, OnSuspend, OnResume in
// the order they happened, and OnDisconnect once at its end.
const (
	evSuspend eventKind = evClose + 1 + iota
	evResume
)

// dispatchSession dispatches the session events.
func (s *Server) dispatchSession(ev *event) {
	c := ev.c
	switch ev.kind {
	case evSuspend:
		s.reg.remove(c)
		for _, l := range s.OnSuspend.snapshot() {
			s.callDisc(l.fn, c, ev.reason)
		}
	case evResume:
		s.reg.add(c)
		c.mu.Lock()
		attached := c.sess.link != nil
		c.mu.Unlock()
		if attached {
			s.sessions.mu.Lock()
			delete(s.sessions.suspended, c.sess.user.id)
			s.sessions.mu.Unlock()
		}
		for _, l := range s.OnResume.snapshot() {
			s.callConn(l.fn, c)
		}
	}
}

// sweepSessions (the housekeeping sweep) ends the suspended sessions whose
// grace has run out (no timer per session: they cost memory while
// suspended), and ACKs, for every connected session, what its client sent
// since the last ACK.
func (s *Server) sweepSessions() {
	type expiry struct {
		sess  *session
		since int64
	}
	var expired []expiry
	now := time.Now().UnixNano()
	grace := int64(s.cfg.SessionGrace)
	s.sessions.mu.Lock()
	for _, sess := range s.sessions.suspended {
		if sess.since != 0 && now-sess.since >= grace {
			expired = append(expired, expiry{sess, sess.since})
		}
	}
	list := make([]*session, 0, len(s.sessions.byToken))
	for _, sess := range s.sessions.byToken {
		list = append(list, sess)
	}
	s.sessions.mu.Unlock()
	for _, e := range expired {
		s.expire(e.sess, e.since)
	}
	for _, sess := range list {
		u := sess.user
		u.mu.Lock()
		t := sess.link
		u.mu.Unlock()
		if t != nil {
			sess.sweepAck(t)
		}
	}
}

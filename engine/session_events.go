package engine

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
			delete(s.sessions.suspended, c.sess)
			s.sessions.mu.Unlock()
		}
		for _, l := range s.OnResume.snapshot() {
			s.callConn(l.fn, c)
		}
	}
}

// sweepSessions ACKs, for every connected session, what its client sent
// since the last ACK (the housekeeping sweep).
func (s *Server) sweepSessions() {
	s.sessions.mu.Lock()
	list := make([]*session, 0, len(s.sessions.byToken))
	for _, sess := range s.sessions.byToken {
		list = append(list, sess)
	}
	s.sessions.mu.Unlock()
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

package engine

import (
	"fmt"
	"net/netip"
	"time"
)

// The caps on suspended sessions.
//
// A suspended session holds no connection, so it counts toward neither
// MaxConnections nor MaxConnectionsPerAddr, yet it keeps up to
// SessionWindow bytes of what is sent to it for the whole grace. Without a
// cap one address could connect, say HELLO, drop and repeat, leaving an
// unbounded number of them. So at most Config.MaxSuspended sessions are
// suspended at once, and, with MaxConnectionsPerAddr set, at most that
// many from one address (the one its lost connection came from, as
// addrcap.go keys it). Suspending one more ends the oldest suspended one
// first, from the same address if that cap is reached, else overall:
// the newest blips are the likeliest to come back, and a flood that
// refused new suspensions would instead keep every honest client from
// resuming. Nothing changes on the wire, nor at admission.
//
// The suspended sessions are kept in lists in suspension order (one
// overall, one per address), so that finding the oldest costs O(1) however
// many there are.

// ErrSessionEvicted is the reason of a suspended session ended before its
// grace ran out, because suspending a newer one passed Config.MaxSuspended
// or, from one address, Config.MaxConnectionsPerAddr. It wraps
// ErrSessionExpired: errors.Is(reason, ErrSessionExpired) holds, and it is
// counted as session_expired.
var ErrSessionEvicted = fmt.Errorf("%w early: too many suspended sessions", ErrSessionExpired)

// errEvictedAddr is ErrSessionEvicted for the cap per address.
var errEvictedAddr = fmt.Errorf("%w from its address", ErrSessionEvicted)

// suspList is a list of suspended sessions, oldest first, linked through
// their links[i] (i: listAll or listAddr).
type suspList struct {
	head, tail *session
	n          int
	key        netip.Prefix // of a list per address
}

// suspLink links a session in a suspList.
type suspLink struct{ prev, next *session }

const (
	listAll  = 0 // the list of every suspended session
	listAddr = 1 // the list of one address's
)

func (l *suspList) push(i int, sess *session) {
	sess.links[i] = suspLink{prev: l.tail}
	if l.tail != nil {
		l.tail.links[i].next = sess
	} else {
		l.head = sess
	}
	l.tail = sess
	l.n++
}

func (l *suspList) remove(i int, sess *session) {
	lk := sess.links[i]
	if lk.prev != nil {
		lk.prev.links[i].next = lk.next
	} else {
		l.head = lk.next
	}
	if lk.next != nil {
		lk.next.links[i].prev = lk.prev
	} else {
		l.tail = lk.prev
	}
	sess.links[i] = suspLink{}
	l.n--
}

// listLocked appends sess, just suspended after losing transport t, to the
// lists the caps count. s.sessions.mu must be held.
func (s *Server) listLocked(sess *session, t *Client) {
	st := &s.sessions
	st.all.push(listAll, sess)
	sess.listed = true
	if s.cfg.MaxConnectionsPerAddr <= 0 {
		return
	}
	k, ok := addrKey(t.addr)
	if !ok {
		return // not capped, as at admission
	}
	l := st.byAddr[k]
	if l == nil {
		if st.byAddr == nil {
			st.byAddr = make(map[netip.Prefix]*suspList)
		}
		l = &suspList{key: k}
		st.byAddr[k] = l
	}
	l.push(listAddr, sess)
	sess.addrList = l
}

// unlistLocked takes sess out of the lists, if it is in them (it is
// resumed, ended, or about to be). s.sessions.mu must be held.
func (s *Server) unlistLocked(sess *session) {
	if !sess.listed {
		return
	}
	st := &s.sessions
	st.all.remove(listAll, sess)
	sess.listed = false
	if l := sess.addrList; l != nil {
		l.remove(listAddr, sess)
		sess.addrList = nil
		if l.n == 0 {
			delete(st.byAddr, l.key)
		}
	}
}

// capSuspended ends the oldest suspended sessions while there are more
// than the caps allow, from sess's address (sess was just suspended), then
// overall. It runs with no lock held: a suspended session's OnDisconnect
// runs inside it in inline mode.
func (s *Server) capSuspended(sess *session) {
	type victim struct {
		sess  *session
		since int64
		why   error
	}
	var victims []victim
	st := &s.sessions
	st.mu.Lock()
	if al := sess.addrList; al != nil {
		for limit := s.cfg.MaxConnectionsPerAddr; al.n > limit; {
			v := al.head
			victims = append(victims, victim{v, v.since, errEvictedAddr})
			s.unlistLocked(v)
		}
	}
	if limit := s.cfg.MaxSuspended; limit > 0 && sess.listed {
		for st.all.n > limit {
			v := st.all.head
			victims = append(victims, victim{v, v.since, ErrSessionEvicted})
			s.unlistLocked(v)
		}
	}
	st.mu.Unlock()
	if len(victims) > 0 {
		// One line per logEvery, so that a flood of sessions cannot flood
		// the log; evictions are counted as session_expired too.
		if ok, more := s.evictions.allow(time.Now()); ok {
			s.log.Warn("simpleserver: suspended sessions evicted, oldest first",
				"reason", victims[0].why.Error(), "evicted", len(victims), "earlier_unlogged", more,
				"max_suspended", s.cfg.MaxSuspended, "max_per_addr", s.cfg.MaxConnectionsPerAddr)
		}
	}
	for _, v := range victims {
		// Unless it resumed in between: it is connected then, and uncounted.
		s.endSessionIf(v.sess, v.why, "", v.since)
	}
}

// resolveMaxSuspended sets the default of Config.MaxSuspended, the
// effective MaxConnections, once fdBudget has settled it (StartAsync).
func (s *Server) resolveMaxSuspended() {
	s.mu.Lock()
	if s.cfg.MaxSuspended == 0 {
		s.cfg.MaxSuspended = s.cfg.MaxConnections
	}
	s.mu.Unlock()
}

// WithMaxSuspended caps the sessions suspended at once; see
// Config.MaxSuspended.
func WithMaxSuspended(n int) Option { return func(c *Config) { c.MaxSuspended = n } }

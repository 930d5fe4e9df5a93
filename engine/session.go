package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simpleserver-go/simpleserver/internal/gnet"

	"github.com/simpleserver-go/simpleserver/proto"
)

// Sessions (Config.SessionGrace > 0; docs/PROTOCOL.md, "Sessions").
//
// A client that opens with HELLO gets a session: the *Client the listeners
// see (the session's user) is then not tied to one TCP connection. Each
// connection carrying it is a transport, an internal *Client that is never
// announced; the user forwards its sends to the current transport, and the
// transport's events are dispatched as the user's. When a transport is lost
// the user is suspended: it keeps its ID, Data and rooms, and what is sent
// to it goes only into its replay window. A HELLO presenting the session's
// token attaches a new transport: the server replays what the client did
// not get, the client resends what the server did not get, and both go on.
//
// Suspended sessions are capped, overall and per address; suspending one
// past a cap ends the oldest first (session_cap.go).
//
// State lives in a session, allocated for session clients only: a plain
// client pays one nil pointer. Lock order: user.mu, then transport.mu, then
// Server.sessions.mu; never the other way.

// Errors of sessions.
var (
	// ErrSessionExpired: the client's connection was lost and it did not
	// come back within Config.SessionGrace.
	ErrSessionExpired = errors.New("session expired")
	// ErrSessionOverflow: more than Config.SessionWindow bytes were waiting
	// for the client to confirm them, so an exact replay was no longer
	// possible.
	ErrSessionOverflow = errors.New("session replay window overflow")
	// errTakeover closes a transport whose session a newer connection
	// resumed before this one was seen to fail.
	errTakeover = errors.New("session resumed on another connection")
)

// CLOSE reasons of sessions. Every one starts with "session: ", which the
// Go client takes as "start a new session".
const (
	closeBadToken  = "session: unknown or expired token"
	closeOverflow  = "session: replay window overflow"
	closeTakeover  = "session: resumed on another connection"
	closeLateHello = "session: HELLO must be the first frame"
	closeBadResume = "session: HELLO count outside the replay window"
)

// tokenLen is the size of a session token: 128 random bits.
const tokenLen = 16

type token [tokenLen]byte

// Client.sx bits (loop-only).
const (
	sxHelloWait = 1 << iota // sessions on: not announced yet, waiting for a first frame
	sxSilent                // never announced (refused HELLO, or gone before a first frame)
)

// session is the state a session shares between its user and transports.
type session struct {
	user *Client
	srv  *Server

	// Guarded by user.mu.
	link    *Client // the transport carrying the session; nil while suspended
	ended   bool
	endWhy  error    // why it ended, for the transport's OnClose to report
	window  []byte   // MESSAGE frames outAcked+1.. not confirmed, from head
	head    int      // window[:head] is confirmed and dead
	frames  uint64   // frames in window[head:]
	acked   uint64   // frames the client confirmed
	waiting *pending // a HELLO waiting for link to close (takeover)

	// Guarded by Server.sessions.mu.
	tok, prev token       // tokens that resume it (prev until the client confirms tok)
	hasPrev   bool        // prev is registered
	listed    bool        // in sessions.all (suspended, and not being evicted)
	since     int64       // unix ns it was suspended; 0 while connected (the sweep expires it)
	links     [2]suspLink // in sessions.all and addrList (session_cap.go)
	addrList  *suspList   // its address's suspended list, if in one

	// Inbound, counted on the transport's loop (read by the sweep).
	in      atomic.Uint64 // MESSAGEs received from the client
	ackSent atomic.Uint64 // the count in the last ACK sent to the client
}

// pending is a resume waiting for the old transport to close.
type pending struct {
	t   *Client
	got uint64
	tok token
}

// sessionTable is the server's set of sessions by token, and the
// suspended ones (so that Broadcast reaches them and Stop ends them). A
// session stays in suspended until its OnResume is dispatched, which puts
// its user back in the registry: a Broadcast never misses it in between.
// The caps (session_cap.go) count the sessions waiting for a resume
// instead: all and byAddr hold those, oldest first.
type sessionTable struct {
	mu        sync.Mutex
	byToken   map[token]*session
	suspended map[uint64]*session // by the user's client ID
	all       suspList
	byAddr    map[netip.Prefix]*suspList
}

func (s *Server) sessionsOn() bool { return s.cfg.SessionGrace > 0 }

// isUser reports whether c is the listeners' side of a session.
func (c *Client) isUser() bool { return c.sess != nil }

// user returns the client listeners see for events of c (itself, unless c
// is a session's transport).
func (c *Client) user() *Client {
	if c.carrier != nil {
		return c.carrier.user
	}
	return c
}

// awaitHello defers announcing a new connection until its first frame
// says whether it opens a session (OnOpen, sessions on). A client that
// says nothing for SessionHelloWait is announced as a plain client.
func (s *Server) awaitHello(c *Client) {
	c.sx = sxHelloWait
	el := c.loop.el
	time.AfterFunc(s.cfg.SessionHelloWait, func() {
		_ = el.Execute(context.Background(), helloTimeout{c})
	})
}

// helloTimeout announces a connection that sent nothing in time.
type helloTimeout struct{ c *Client }

// Run announces the client unless its first frame did already, or it left,
// or it is not yet known to speak v1 or WebSocket (detect.go, proxy.go:
// those wait for its first bytes, and the first frame then decides).
func (h helloTimeout) Run(context.Context) error {
	c := h.c
	if c.sx&sxHelloWait == 0 || c.proxy != proxyDone {
		return nil
	}
	if _, ws := c.tr.(*wsTransport); c.tr == v1 || ws {
		c.sx &^= sxHelloWait
		c.srv.announce(c, false)
	}
	return nil
}

// appendV1 appends v1 frames (whole, length prefixes included) to dst in
// tr's framing: the window holds v1 frames whatever the transport.
func appendV1(tr transport, dst, frames []byte) []byte {
	if tr == v1 {
		return append(dst, frames...)
	}
	for len(frames) > 0 {
		n, ok := proto.SkipFrames(frames, 1)
		if !ok {
			break
		}
		// Only legacy clients refuse frames, and they never open sessions.
		dst, _ = tr.appendFrame(dst, &outFrame{v1: frames[:n]})
		frames = frames[n:]
	}
	return dst
}

// emit delivers an event of a session's user: queued in order, or fired
// at once in inline mode.
func (s *Server) emit(ev event) {
	if s.cfg.Inline {
		s.dispatch(&ev)
		return
	}
	s.queue.pushOne(ev)
}

// emitUnlock emits ev and releases u.mu: queued before the release, so
// that events follow the state changes made under u.mu in order; fired
// after it in inline mode (listeners may send to u).
func (s *Server) emitUnlock(u *Client, ev event) {
	if s.cfg.Inline {
		u.mu.Unlock()
		s.dispatch(&ev)
		return
	}
	s.queue.pushOne(ev)
	u.mu.Unlock()
}

// sessionPayload handles what sessions add to a payload's handling on the
// loop; done says the payload needs nothing more.
func (h *handler) sessionPayload(c *Client, l *loopState, payload []byte) (gnet.Action, bool) {
	s := h.s
	kind := proto.Kind(payload[0])
	if c.sx&sxHelloWait != 0 {
		c.sx &^= sxHelloWait
		if kind == proto.KindHello {
			return h.hello(c, payload[1:]), true
		}
		s.announce(c, true) // a plain client: its first frame is not HELLO
	}
	switch {
	case kind == proto.KindHello:
		if !s.sessionsOn() && c.carrier == nil {
			// No sessions here: say so, and the client goes on as a plain one.
			c.queueControl(func(b []byte) []byte {
				return appendV1(c.tr, b, proto.AppendWelcome(nil, proto.Welcome{}))
			})
			return gnet.None, true
		}
		return h.fail(c, &proto.ProtocolError{Err: proto.ErrMalformed, Detail: "HELLO after the first frame"}, closeLateHello), true
	case c.carrier == nil:
		return gnet.None, false
	case kind == proto.KindMessage:
		c.carrier.countIn(c)
		return gnet.None, false
	case kind == proto.KindAck:
		n, err := proto.ParseAck(payload[1:])
		if err != nil {
			return h.protocolError(c, err), true
		}
		if err := c.carrier.confirmed(n); err != nil {
			return h.protocolError(c, err), true
		}
		return gnet.None, true
	}
	return gnet.None, false
}

// hello answers a connection's first frame, HELLO: a new session, a
// resume, or a refusal.
func (h *handler) hello(t *Client, rest []byte) gnet.Action {
	s := h.s
	hl, err := proto.ParseHello(rest)
	if err != nil {
		t.sx = sxSilent
		return h.protocolError(t, err)
	}
	if len(hl.Token) == 0 {
		s.newSession(t)
		return gnet.None
	}
	var tok token
	sess := (*session)(nil)
	if len(hl.Token) == tokenLen {
		copy(tok[:], hl.Token)
		s.sessions.mu.Lock()
		sess = s.sessions.byToken[tok]
		s.sessions.mu.Unlock()
	}
	if sess == nil {
		t.sx = sxSilent
		return h.fail(t, errBadToken, closeBadToken)
	}
	t.carrier = sess
	return s.resume(sess, t, hl.Received, tok)
}

// errBadToken is the (never reported) reason of a refused HELLO.
var errBadToken = errors.New(closeBadToken)

// newSession makes t the first transport of a new session, and announces
// the session's user.
func (s *Server) newSession(t *Client) {
	u := &Client{
		id:    t.id,
		srv:   s,
		addr:  t.addr,
		loop:  t.loop,
		slots: [2]int32{-1, -1},
		tr:    v1, // never used: a user's sends go to its transport
	}
	sess := &session{user: u, srv: s, link: t}
	u.sess, t.carrier = sess, sess
	s.sessions.mu.Lock()
	s.registerLocked(sess)
	tok := sess.tok
	s.sessions.mu.Unlock()
	t.sx = sxSilent // its own events are the user's
	w := proto.Welcome{Token: tok[:], GraceMillis: uint64(s.cfg.SessionGrace / time.Millisecond)}
	t.queueControl(func(b []byte) []byte { return appendV1(t.tr, b, proto.AppendWelcome(nil, w)) })
	s.emit(event{kind: evOpen, c: u})
}

// registerLocked gives sess a fresh token (keeping the one it was resumed
// with, if any, as prev until the client confirms). s.sessions.mu must be held.
func (s *Server) registerLocked(sess *session) {
	if s.sessions.byToken == nil {
		s.sessions.byToken = make(map[token]*session)
		s.sessions.suspended = make(map[uint64]*session)
	}
	_, _ = rand.Read(sess.tok[:]) // never fails (crypto/rand)
	s.sessions.byToken[sess.tok] = sess
}

// unregisterLocked forgets every token of sess. s.sessions.mu must be held.
func (s *Server) unregisterLocked(sess *session) {
	delete(s.sessions.byToken, sess.tok)
	if sess.hasPrev {
		delete(s.sessions.byToken, sess.prev)
		sess.hasPrev = false
	}
	delete(s.sessions.suspended, sess.user.id)
	s.unlistLocked(sess)
	sess.since = 0
}

// resume attaches transport t (on its loop, its HELLO just read) to sess;
// clientGot is how many of the session's messages the client has.
func (s *Server) resume(sess *session, t *Client, clientGot uint64, tok token) gnet.Action {
	u := sess.user
	u.mu.Lock()
	if sess.ended {
		u.mu.Unlock()
		t.sx = sxSilent
		return (&handler{s: s}).fail(t, errBadToken, closeBadToken)
	}
	if old := sess.link; old != nil {
		// The old connection has not been seen to fail yet (a resume
		// racing with its close): close it; its OnClose attaches t.
		sess.waiting = &pending{t: t, got: clientGot, tok: tok}
		u.mu.Unlock()
		t.sx = sxSilent
		old.closeWith(errTakeover, closeTakeover, true)
		return gnet.None
	}
	u.mu.Unlock()
	t.sx = sxSilent
	s.attach(sess, t, clientGot, tok)
	return gnet.None
}

// attach makes t carry suspended sess: WELCOME, the replay, then live
// traffic. It runs on t's loop or, after a takeover, on the old one's.
func (s *Server) attach(sess *session, t *Client, clientGot uint64, used token) {
	u := sess.user
	u.mu.Lock()
	if sess.ended {
		u.mu.Unlock()
		t.closeWith(errBadToken, closeBadToken, true)
		return
	}
	if clientGot < sess.acked || clientGot-sess.acked > sess.frames {
		u.mu.Unlock()
		t.closeWith(errBadToken, closeBadResume, true)
		return
	}
	t.mu.Lock()
	if t.closing || t.closed {
		t.mu.Unlock()
		u.mu.Unlock()
		return // t died first: the session stays suspended, the token valid
	}
	sess.trimLocked(clientGot - sess.acked)
	s.sessions.mu.Lock()
	// The token used stays valid until the client confirms the new one (its
	// ACK after WELCOME): if this connection dies before the WELCOME
	// arrives, the client still holds only the old one. Any other is dead.
	if sess.hasPrev {
		delete(s.sessions.byToken, sess.prev)
	}
	delete(s.sessions.byToken, sess.tok)
	sess.prev, sess.hasPrev = used, true
	s.sessions.byToken[used] = sess
	s.registerLocked(sess)
	tok := sess.tok
	sess.since = 0 // no expiry (it leaves suspended when OnResume is dispatched)
	s.unlistLocked(sess)
	s.sessions.mu.Unlock()
	sess.link = t
	in := sess.in.Load()
	t.pend = appendV1(t.tr, t.pend, proto.AppendWelcome(nil, proto.Welcome{
		Flags:       proto.WelcomeResumed,
		Token:       tok[:],
		Received:    in,
		GraceMillis: uint64(s.cfg.SessionGrace / time.Millisecond),
	}))
	t.pend = appendV1(t.tr, t.pend, sess.window[sess.head:])
	sess.ackSent.Store(in)
	t.mu.Unlock()
	t.queueControl(func(b []byte) []byte { return b }) // flush it all
	s.emitUnlock(u, event{kind: evResume, c: u})
}

// suspendable reports whether a transport lost for reason leaves its
// session waiting for a resume (the network failed, or a WebSocket client
// dropped it with CloseSuspend: a browser cannot drop a connection without
// a close frame), rather than ending it (the client left, was kicked,
// broke the protocol, the server stops...).
func suspendable(reason error) bool {
	var pc *PeerCloseError
	return errors.Is(reason, ErrPeerGone) || errors.Is(reason, ErrIdleTimeout) ||
		errors.Is(reason, ErrFrameTimeout) || errors.Is(reason, errTakeover) ||
		errors.As(reason, &pc) && pc.Code == CloseSuspend
}

// sessionConnClosed runs in OnClose (on c's loop) for a connection with a
// session role or never announced; it reports whether OnClose must not
// announce the disconnect itself.
func (s *Server) sessionConnClosed(c *Client, reason error) bool {
	if c.carrier == nil {
		if c.sx != 0 {
			c.sx = sxSilent // never announced: nothing to say (and no late hello timeout)
			return true
		}
		return false
	}
	sess := c.carrier
	u := sess.user
	u.mu.Lock()
	if sess.link != c {
		// Not (or no longer) the carrier: a resume that never completed.
		u.mu.Unlock()
		return true
	}
	sess.link = nil
	if sess.ended {
		s.endUserUnlock(u, sess.endWhy)
		return true
	}
	if !suspendable(reason) {
		sess.ended, sess.endWhy = true, reason
		sess.window, sess.head, sess.frames = nil, 0, 0
		w := sess.waiting
		sess.waiting = nil
		s.sessions.mu.Lock()
		s.unregisterLocked(sess)
		s.sessions.mu.Unlock()
		s.endUserUnlock(u, reason)
		if w != nil {
			w.t.closeWith(errBadToken, closeBadToken, true)
		}
		return true
	}
	w := sess.waiting
	sess.waiting = nil
	s.suspendLocked(sess, c, reason)
	if w != nil {
		s.attach(sess, w.t, w.got, w.tok)
	}
	s.capSuspended(sess) // after a takeover's attach: a resumed session is not counted
	return true
}

// endUserUnlock emits the OnDisconnect of a session's user, once per
// session, counts it (Stats.Disconnects: its transports are not counted)
// and releases u.mu, which must be held.
func (s *Server) endUserUnlock(u *Client, reason error) {
	s.countDisconnect(reason)
	s.emitUnlock(u, event{kind: evClose, c: u, reason: reason})
}

// suspendLocked starts sess's grace period (its transport t is gone) and
// releases u.mu, which must be held.
func (s *Server) suspendLocked(sess *session, t *Client, reason error) {
	s.sessions.mu.Lock()
	sess.since = time.Now().UnixNano()
	s.sessions.suspended[sess.user.id] = sess
	s.listLocked(sess, t)
	s.sessions.mu.Unlock()
	s.emitUnlock(sess.user, event{kind: evSuspend, c: sess.user, reason: reason})
}

// expire ends a session whose grace ran out (the housekeeping sweep), if
// it is still suspended since then.
func (s *Server) expire(sess *session, since int64) {
	s.endSessionIf(sess, ErrSessionExpired, "", since)
}

// endSession ends sess for reason: OnDisconnect fires once, now if it is
// suspended, else from its transport's OnClose (after the transport's last
// messages), which is sent CLOSE closeReason. It reports whether this call
// ended it.
func (s *Server) endSession(sess *session, reason error, closeReason string) bool {
	return s.endSessionIf(sess, reason, closeReason, 0)
}

// endSessionIf is endSession, except that a since other than 0 ends sess
// only if it is still suspended since then: not resumed, nor suspended
// anew, in between (since changes only under user.mu, which the check and
// the end share).
func (s *Server) endSessionIf(sess *session, reason error, closeReason string, since int64) bool {
	u := sess.user
	u.mu.Lock()
	if sess.ended {
		u.mu.Unlock()
		return false
	}
	if since != 0 {
		s.sessions.mu.Lock()
		stale := sess.since != since
		s.sessions.mu.Unlock()
		if stale {
			u.mu.Unlock()
			return false
		}
	}
	sess.ended, sess.endWhy = true, reason
	sess.window, sess.head, sess.frames = nil, 0, 0
	t := sess.link
	w := sess.waiting
	sess.waiting = nil
	s.sessions.mu.Lock()
	s.unregisterLocked(sess)
	s.sessions.mu.Unlock()
	if t == nil {
		s.endUserUnlock(u, reason)
	} else {
		u.mu.Unlock()
		if closeReason == "" {
			closeReason = reason.Error()
		}
		t.closeWith(reason, closeReason, false) // its OnClose reports sess.endWhy
	}
	if w != nil {
		w.t.closeWith(errBadToken, closeBadToken, true)
	}
	return true
}

// endSuspended ends every suspended session with reason (Stop).
func (s *Server) endSuspended(reason error) {
	s.sessions.mu.Lock()
	list := make([]*session, 0, len(s.sessions.suspended))
	for _, sess := range s.sessions.suspended {
		list = append(list, sess)
	}
	s.sessions.mu.Unlock()
	for _, sess := range list {
		s.endSession(sess, reason, "")
	}
}

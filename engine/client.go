package engine

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/simpleserver-go/simpleserver/internal/gnet"

	"github.com/simpleserver-go/simpleserver/proto"
)

// Client is one connected client as the server sees it (the seed's
// ConnectionClient). Its methods are safe for concurrent use from any
// goroutine and stay safe after the client has gone: sends then return
// ErrClientClosed.
type Client struct {
	// Data is a slot for the application's own per-client state (a player,
	// a room...). The server never touches it. In the default and manual
	// modes all listeners run on one goroutine, so listeners may use it
	// without locks; other goroutines must synchronise themselves.
	Data any

	id   uint64
	srv  *Server
	gc   gnet.Conn // loop-only methods; Close is safe anywhere
	addr net.Addr
	loop *loopState

	mu      sync.Mutex
	pend    []byte // encoded frames not yet handed to the kernel or gnet
	spare   []byte // second buffer, swapped with pend while the loop writes
	gnetOut int    // gnet's outbound bytes at the last loop flush
	reason  error  // why the client is going; the first reason wins

	// Read by the housekeeping sweep, written by the loop.
	lastRecv   atomic.Int64 // unix ns of the last bytes received
	pingSent   atomic.Int64 // unix ns of the PING not yet answered, 0 if none
	frameStart atomic.Int64 // unix ns an incomplete frame started, 0 if none

	// Decoded messages the dispatcher has not handled yet.
	pending atomic.Int64 // see pendingMsg

	rooms *clientRooms // nil until the first Join (room.go)
	lanes *laneQueue   // nil until a droppable frame is held (lanes.go); c.mu

	sess    *session // a session's user: its session (session.go); set before it is shared
	carrier *session // a session's transport: the session it carries; loop-written once

	tr transport // the codec (transport.go); set under mu

	// The small fields last, packed into one word and a half: the struct
	// is 256 bytes, one size class below what it would be with each in a
	// word of its own, and every idle connection holds one.
	fd      int32    // the socket, for direct writes
	slots   [2]int32 // indexes in the registry and the loop's set (clientSet)
	queued  bool     // c.mu: a flush is already due: in a dirty list or a loop task
	backlog bool     // c.mu: gnet may hold unsent bytes: writes must go through the loop
	recheck bool     // c.mu: a loop flush is due to measure gnetOut again (overCapLocked)
	closing bool     // c.mu: a close is under way: sends fail
	closed  bool     // c.mu: OnClose ran: the fd must not be touched

	announced bool  // loop-only: OnConnection is due or done
	capped    bool  // loop-only: counted by MaxConnectionsPerAddr under addrKey(addr) (addrcap.go)
	proxy     uint8 // loop-only: PROXY protocol state (proxy.go)
	sx        uint8 // loop-only: session admission bits (session.go)
}

// pendingMsg is one message in Client.pending, which counts decoded
// messages the dispatcher has not handled yet (high 24 bits) and their
// payload bytes (low 40 bits): one atomic add per message instead of two.
const pendingMsg = 1 << 40

// ID returns the client's unique ID (unique within the process).
func (c *Client) ID() uint64 { return c.id }

// RemoteAddr returns the client's address (the seed's client.address).
func (c *Client) RemoteAddr() net.Addr { return c.addr }

// String returns "client <id> (<address>)", for logs.
func (c *Client) String() string {
	return "client " + strconv.FormatUint(c.id, 10) + " (" + c.addr.String() + ")"
}

// Send queues m to the client. It encodes m at once, so m may be reused as
// soon as Send returns. Frames queued while the server is busy with other
// events go out together in one write. Send fails with ErrClientClosed once
// the client is leaving and with a *proto.ProtocolError if m cannot be
// encoded. A send that pushes the client's queue over
// Config.MaxOutboundBytes disconnects it (OnDisconnect gets
// ErrSlowConsumer); that send returns ErrSlowConsumer, or ErrClientClosed
// when the event loop noticed first.
func (c *Client) Send(m *proto.Message) error {
	if c.isUser() {
		c.srv.stats.msgsOut.Add(1)
		return c.sess.send(func(b []byte) ([]byte, error) { return proto.AppendFrame(b, m) })
	}
	c.mu.Lock()
	if c.closing || c.closed {
		c.mu.Unlock()
		return ErrClientClosed
	}
	var err error
	if c.pend, err = c.tr.appendMessage(c.pend, m); err != nil {
		c.mu.Unlock()
		return err
	}
	c.srv.stats.msgsOut.Add(1)
	return c.queueLocked()
}

// SendPrepared queues a message encoded once by NewPreparedMessage: the way
// to send one message to many clients yourself. It is sent on pm's lane
// (see SendOn). Errors are as for Send.
func (c *Client) SendPrepared(pm *PreparedMessage) error {
	if c.isUser() {
		if !pm.lane.IsReliable() && c.sess.suspended() {
			return nil // stale by the resume, as SendOn's (lanesend.go)
		}
		c.srv.stats.msgsOut.Add(1)
		return c.sess.send(func(b []byte) ([]byte, error) { return append(b, pm.frame.v1...), nil })
	}
	c.mu.Lock()
	if c.closing || c.closed {
		c.mu.Unlock()
		return ErrClientClosed
	}
	n0 := len(c.pend)
	var err error
	if c.pend, err = c.tr.appendFrame(c.pend, &pm.frame); err != nil {
		c.mu.Unlock()
		return err
	}
	c.srv.stats.msgsOut.Add(1)
	if c.holdIfBehindLocked(n0, pm.lane) {
		c.mu.Unlock()
		return nil
	}
	return c.queueLocked()
}

// Close disconnects the client: it is sent CLOSE with reason, then the
// connection closes once that is written. OnDisconnect receives a
// *KickError. Frames queued before Close are sent first. Closing a client
// that is already leaving does nothing and returns ErrClientClosed.
func (c *Client) Close(reason string) error {
	if !c.closeWith(&KickError{Reason: reason}, reason, false) {
		return ErrClientClosed
	}
	return nil
}

// Closed reports whether the client is disconnected or being disconnected.
func (c *Client) Closed() bool {
	if c.isUser() {
		return c.sess.closed()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing || c.closed
}

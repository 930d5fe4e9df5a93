package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// How a reconnecting client keeps what it sends (WithReconnect).
//
// Every MESSAGE frame goes into one byte queue, in order, before it is
// written. Without a session the queue holds only what no connection has
// taken yet (sends made offline, or a write that failed). In a session it
// holds every frame the server has not confirmed with an ACK: on resume the
// server's WELCOME says how many it got, and the rest is written again. The
// numbering is implicit (the n-th MESSAGE of a session is number n), so a
// frame carries no sequence number. The queue is bounded by QueueBytes.
//
// The reader counts the MESSAGEs it has queued for Read/Receive, presents
// the count in the HELLO of a resume, and ACKs every ackEvery messages or
// ackBytes bytes so the server can forget them.

const (
	ackEvery = 32
	ackBytes = 64 << 10
)

// rstate is a reconnecting client's state. state is guarded by c.mu; the
// write side (queue...) by the write lock; the read side (in*) belongs to
// the goroutine owning the connection (Connect, then the reader).
type rstate struct {
	state State
	addr  string

	// Write side.
	conn     net.Conn
	online   bool   // conn is up and greeted: Send writes at once
	queue    []byte // frames to (re)send, see above
	qFrames  uint64 // frames in queue
	written  int    // bytes of queue already written on conn
	outAcked uint64 // session: frames the server confirmed
	token    []byte // session: resumes it next time
	sessOn   bool   // the server keeps a session for us
	v1       bool   // the server does not know HELLO: never send it

	// Read side.
	inSeq      uint64 // session: MESSAGEs received and queued
	inAcked    uint64 // the count in the last ACK sent
	inAckBytes int    // bytes received since that ACK
}

// errRetryNow makes dialAndGreet try again at once (without HELLO after a
// version 1 server refused it; with a new session after the server
// refused the token).
var errRetryNow = errors.New("client: retry")

// isSessionEnd reports whether a CLOSE reason is the server refusing or
// ending a session (engine's "session: ..." reasons).
func isSessionEnd(reason string) bool { return strings.HasPrefix(reason, "session: ") }

// dialAndGreet dials the server and greets it (HELLO, WELCOME, resend):
// a reader for the connection, and whether the session was resumed.
func (c *Client) dialAndGreet(ctx context.Context) (*reader, bool, error) {
	var last error
	for try := 0; try < 3; try++ {
		rd, resumed, err := c.dialGreetOnce(ctx)
		if !errors.Is(err, errRetryNow) {
			return rd, resumed, err
		}
		last = err
	}
	return nil, false, last
}

func (c *Client) dialGreetOnce(parent context.Context) (*reader, bool, error) {
	ctx, cancel := context.WithTimeout(parent, c.cfg.dialTimeout)
	defer cancel()
	conn, err := c.cfg.dial(ctx, "tcp", c.rs.addr)
	if err != nil {
		return nil, false, fmt.Errorf("client: connect to %s: %w", c.rs.addr, err)
	}
	// Close (c.stop) or ctx ending interrupts the greeting too.
	stopWatch, watchDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case <-c.stop:
			conn.Close()
		case <-ctx.Done():
			conn.Close()
		case <-stopWatch:
		}
	}()
	rd := newReader(c, conn)
	deadline, _ := ctx.Deadline()
	resumed, err := c.greet(rd, deadline)
	close(stopWatch)
	<-watchDone
	if err != nil {
		conn.Close()
		if isClosed(c.stop) {
			return nil, false, ErrClosed
		}
		return nil, false, err
	}
	conn.SetReadDeadline(time.Time{})
	return rd, resumed, nil
}

// greet runs the start of a connection: HELLO and WELCOME (unless the
// server speaks version 1 only or the policy asks for no session), then
// everything queued, then the connection is online.
func (c *Client) greet(rd *reader, deadline time.Time) (resumed bool, err error) {
	rs := c.rs
	select {
	case c.wsem <- struct{}{}:
	case <-c.stop:
		return false, ErrClosed
	}
	defer c.unlockWriter()
	conn := rd.conn
	c.wclosed = false
	if rs.v1 || c.cfg.reconnect.NoSession {
		rs.newSessionLocked(nil)
		if err := sayHello(conn, c.cfg.writeTimeout); err != nil {
			return false, fmt.Errorf("%w: %w", ErrConnectionLost, err)
		}
		return false, c.goOnlineLocked(conn)
	}
	c.wbuf = proto.AppendHello(c.wbuf[:0], rs.token, rs.inSeq)
	if err := c.writeRaw(conn, deadline); err != nil {
		return false, err
	}
	for {
		payload, err := rd.nextFrame(deadline)
		if err != nil {
			return false, err
		}
		switch kind := proto.Kind(payload[0]); kind {
		case proto.KindWelcome:
			w, err := proto.ParseWelcome(payload[1:])
			if err != nil {
				return false, fmt.Errorf("client: from server: %w", err)
			}
			if w.Resumed() && len(rs.token) > 0 {
				if err := rs.resumeLocked(w.Received); err != nil {
					return false, err
				}
			} else {
				rs.newSessionLocked(w.Token)
			}
			rs.token = bytes.Clone(w.Token)
			rs.sessOn = len(w.Token) > 0
			if rs.sessOn {
				// Confirms the WELCOME arrived, which retires the old token.
				c.wbuf = proto.AppendAck(c.wbuf[:0], rs.inSeq)
				if err := c.writeRaw(conn, deadline); err != nil {
					return false, err
				}
				rs.inAcked, rs.inAckBytes = rs.inSeq, 0
			}
			return w.Resumed(), c.goOnlineLocked(conn)
		case proto.KindMessage:
			// A server without sessions may speak before it reads our
			// HELLO (an OnConnection listener sending at once): deliver.
			m := new(proto.Message)
			if _, _, err := proto.ParsePayload(bytes.Clone(payload), m, &c.cfg.limits); err != nil {
				return false, fmt.Errorf("client: from server: %w", err)
			}
			select {
			case c.msgs <- m:
			case <-c.stop:
				return false, ErrClosed
			}
		case proto.KindPing:
			_, rest, _ := proto.ParsePayload(payload, &rd.scratch, &c.cfg.limits)
			c.wbuf = proto.AppendPong(c.wbuf[:0], rest)
			if err := c.writeRaw(conn, deadline); err != nil {
				return false, err
			}
		case proto.KindClose:
			reason := string(payload[1:])
			switch {
			case strings.Contains(reason, proto.ErrUnknownKind.Error()):
				rs.v1 = true // a version 1 server: reconnect without sessions
				return false, errRetryNow
			case isSessionEnd(reason):
				rs.token = nil // refused or expired: ask for a new one
				return false, errRetryNow
			}
			return false, &CloseError{Reason: reason}
		default:
			return false, fmt.Errorf("client: from server: %v before WELCOME", kind)
		}
	}
}

// resumeLocked forgets what the server says it has, of the frames queued:
// the rest is written again.
func (rs *rstate) resumeLocked(serverGot uint64) error {
	if serverGot < rs.outAcked || serverGot-rs.outAcked > rs.qFrames {
		return fmt.Errorf("client: from server: WELCOME says %d received, but %d..%d were sent", serverGot, rs.outAcked, rs.outAcked+rs.qFrames)
	}
	rs.trimLocked(serverGot - rs.outAcked)
	rs.written = 0
	return nil
}

// newSessionLocked starts over: what was written on the old connection is
// dropped (its fate is unknown, and the new session cannot say), what was
// never written is kept and sent first.
func (rs *rstate) newSessionLocked(token []byte) {
	if rs.written > 0 {
		rs.qFrames -= countFrames(rs.queue[:rs.written])
		rs.queue = rs.queue[:copy(rs.queue, rs.queue[rs.written:])]
		rs.written = 0
	}
	rs.outAcked, rs.inSeq, rs.inAcked, rs.inAckBytes = 0, 0, 0, 0
	rs.sessOn = len(token) > 0
}

// trimLocked drops the first n queued frames (confirmed by the server).
func (rs *rstate) trimLocked(n uint64) {
	size, _ := proto.SkipFrames(rs.queue, n)
	rs.queue = rs.queue[:copy(rs.queue, rs.queue[size:])]
	rs.written = max(rs.written-size, 0)
	rs.qFrames -= n
	rs.outAcked += n
}

// wholeFrames returns the size of the whole frames at the start of b.
func wholeFrames(b []byte) int {
	size := 0
	for {
		n, ok := proto.SkipFrames(b[size:], 1)
		if !ok {
			return size
		}
		size += n
	}
}

func countFrames(b []byte) uint64 {
	var n uint64
	for len(b) >= proto.LengthSize {
		size, _ := proto.SkipFrames(b, 1)
		if size == 0 {
			break
		}
		b = b[size:]
		n++
	}
	return n
}

// goOnlineLocked makes conn the connection Send writes to, and writes what
// is queued. The write lock must be held.
func (c *Client) goOnlineLocked(conn net.Conn) error {
	rs := c.rs
	rs.conn, rs.online = conn, true
	if len(rs.queue) > rs.written {
		if !c.flushQueueLocked() {
			return fmt.Errorf("%w: resend failed", ErrConnectionLost)
		}
	}
	return nil
}

// goOffline makes Send queue instead of writing, once the connection is lost.
func (c *Client) goOffline() {
	c.wsem <- struct{}{} // the connection is closed: a writer stuck on it has returned
	c.rs.online = false
	c.rs.conn = nil
	c.unlockWriter()
}

// writeRaw writes c.wbuf during the greeting. The write lock must be held.
func (c *Client) writeRaw(conn net.Conn, deadline time.Time) error {
	conn.SetWriteDeadline(deadline)
	if _, err := conn.Write(c.wbuf); err != nil {
		return fmt.Errorf("%w: %w", ErrConnectionLost, err)
	}
	return nil
}

// flushQueueLocked writes the unwritten part of the queue. A failed write
// closes the connection (the reader then reconnects); the frames stay
// queued. The write lock must be held.
func (c *Client) flushQueueLocked() bool {
	rs := c.rs
	if c.cfg.writeTimeout > 0 {
		rs.conn.SetWriteDeadline(time.Now().Add(c.cfg.writeTimeout))
	}
	if n, err := rs.conn.Write(rs.queue[rs.written:]); err != nil {
		// Frames written whole may have arrived: they count as sent (a
		// session resends them only if the server says it lacks them). A
		// frame cut in two never reaches the server's listeners, so it is
		// written again, whole.
		whole := wholeFrames(rs.queue[rs.written : rs.written+n])
		if rs.sessOn {
			rs.written += whole
		} else {
			rs.qFrames -= countFrames(rs.queue[rs.written : rs.written+whole])
			rs.queue = rs.queue[:rs.written+copy(rs.queue[rs.written:], rs.queue[rs.written+whole:])]
		}
		c.wclosed = true
		rs.online = false
		rs.conn.Close()
		return false
	}
	if rs.sessOn {
		rs.written = len(rs.queue)
	} else {
		rs.queue, rs.written, rs.qFrames = rs.queue[:0], 0, 0
	}
	return true
}

// rsSend is Send for a reconnecting client: queue, then write if online.
func (c *Client) rsSend(enc func([]byte) ([]byte, error)) error {
	c.mu.Lock()
	st := c.state
	c.mu.Unlock()
	switch st {
	case stateNew, stateConnecting:
		return ErrNotConnected
	case stateClosed:
		return ErrClosed
	}
	select {
	case c.wsem <- struct{}{}:
	case <-c.ended:
		return c.writeErr()
	}
	defer c.unlockWriter()
	if isClosed(c.ended) {
		return c.writeErr()
	}
	rs := c.rs
	start := len(rs.queue)
	q, err := enc(rs.queue)
	if err != nil {
		return fmt.Errorf("client: send: %w", err)
	}
	if len(q) > c.cfg.reconnect.QueueBytes {
		rs.queue = q[:start]
		return fmt.Errorf("%w: %d bytes kept, %d more would pass %d", ErrQueueFull, start, len(q)-start, c.cfg.reconnect.QueueBytes)
	}
	rs.queue = q
	rs.qFrames++
	if rs.online && !c.wclosed {
		c.flushQueueLocked()
	}
	return nil
}

// ackReceived handles an ACK from the server: it forgets what it confirms.
func (rd *reader) ackReceived(rest []byte) error {
	c := rd.c
	n, err := proto.ParseAck(rest)
	if err != nil {
		return err
	}
	if !c.acquireWriter(c.stop, nil) {
		return nil
	}
	defer c.unlockWriter()
	rs := c.rs
	if n < rs.outAcked || n-rs.outAcked > rs.qFrames {
		return &proto.ProtocolError{Err: proto.ErrMalformed, Detail: fmt.Sprintf("ACK %d outside %d..%d", n, rs.outAcked, rs.outAcked+rs.qFrames)}
	}
	rs.trimLocked(n - rs.outAcked)
	return nil
}

// countReceived counts a MESSAGE queued for Read/Receive in a session.
func (rd *reader) countReceived(size int) {
	if rs := rd.c.rs; rs != nil && rs.sessOn {
		rs.inSeq++
		rs.inAckBytes += size
	}
}

// maybeAck tells the server what arrived, every ackEvery messages or
// ackBytes bytes.
func (rd *reader) maybeAck() {
	c := rd.c
	rs := c.rs
	if rs == nil || !rs.sessOn || (rs.inSeq-rs.inAcked < ackEvery && rs.inAckBytes < ackBytes) {
		return
	}
	if c.acquireWriter(c.stop, nil) {
		c.wbuf = proto.AppendAck(c.wbuf[:0], rs.inSeq)
		c.flushLocked(rd.conn, c.cfg.writeTimeout) // a failure ends the connection
		c.unlockWriter()
		rs.inAcked, rs.inAckBytes = rs.inSeq, 0
	}
}

// nextFrame reads until a whole frame is buffered and returns its payload
// (valid until the next read), for the greeting.
func (rd *reader) nextFrame(deadline time.Time) ([]byte, error) {
	maxFrame := rd.c.cfg.limits.MaxFrameSize
	rd.conn.SetReadDeadline(deadline)
	rd.lastDeadline = deadline
	for {
		payload, n, err := proto.Split(rd.buf[rd.r:rd.w], maxFrame)
		if err != nil {
			return nil, fmt.Errorf("client: from server: %w", err)
		}
		if n > 0 {
			rd.r += n
			return payload, nil
		}
		rd.makeRoom()
		m, err := rd.conn.Read(rd.buf[rd.w:])
		rd.w += m
		if err != nil && m == 0 {
			return nil, fmt.Errorf("%w: %w", ErrConnectionLost, err)
		}
	}
}

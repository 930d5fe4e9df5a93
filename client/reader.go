package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// maxIdleReadBuffer is the largest read buffer kept while no frame is
// pending; a bigger one (grown for a big frame) goes back to the initial size.
const maxIdleReadBuffer = 256 << 10

// reader is the state of the goroutine that reads the connection. It owns
// buf; buf[r:w] holds bytes received and not yet handled.
type reader struct {
	c    *Client
	conn net.Conn
	buf  []byte
	r, w int

	deadline     time.Time     // the read deadline wanted for the next Read
	lastDeadline time.Time     // the read deadline last set
	scratch      proto.Message // ParsePayload's target for control frames (never filled)

	// Keep-alive (WithKeepAlive): the read deadline doubles as its timer.
	lastRecv     time.Time // when bytes last arrived (or the connection began)
	pingOut      bool      // a keep-alive PING waits for an answer
	pingDeadline time.Time // when that PING's answer is overdue
}

// readLoop runs for the life of the connection: it delivers frames until
// the connection ends, then drains what the server still sends if it should.
// With WithReconnect, a lost connection is replaced (see reconnect) and
// delivery goes on from the new one.
func (c *Client) readLoop(rd *reader) {
	defer close(c.done)
	for {
		cause, drain := rd.deliver()
		if c.rs == nil || !retryable(cause) || rd.stopping() {
			c.finish(cause)
			if drain {
				rd.drain()
			}
			rd.conn.Close()
			return
		}
		rd.conn.Close()
		next, err := c.reconnect(cause)
		if next == nil {
			c.finish(err)
			return
		}
		rd = next
	}
}

func newReader(c *Client, conn net.Conn) *reader {
	rd := &reader{c: c, conn: conn, buf: make([]byte, initialReadBuffer)}
	if c.cfg.kaInterval > 0 {
		rd.lastRecv = time.Now()
		rd.deadline = rd.lastRecv.Add(c.cfg.kaInterval)
	}
	return rd
}

// deliver handles frames as they arrive: messages are queued, PINGs
// answered. It returns why delivery stopped, and whether the reader should
// drain the connection (it sent CLOSE and waits for the server to close).
func (rd *reader) deliver() (cause error, drain bool) {
	c := rd.c
	maxFrame := c.cfg.limits.MaxFrameSize
	var readErr error
	timedOut := false
	for {
		for {
			payload, n, err := proto.Split(rd.buf[rd.r:rd.w], maxFrame)
			if err != nil {
				return rd.protocolError(err), true
			}
			if n == 0 {
				break
			}
			rd.r += n
			if cause, drain, stop := rd.handle(payload); stop {
				return cause, drain
			}
		}
		if readErr != nil {
			if errors.Is(readErr, io.EOF) && rd.w > rd.r {
				readErr = io.ErrUnexpectedEOF // the server left mid-frame
			}
			return fmt.Errorf("%w: %w", ErrConnectionLost, readErr), false
		}
		if timedOut {
			timedOut = false
			if rd.stopping() {
				return ErrClosed, true
			}
			if err := rd.keepAlive(); err != nil {
				return err, false
			}
		}
		if !rd.setDeadline() {
			return ErrClosed, true // Close asked us to stop
		}
		rd.maybeAck()
		rd.makeRoom()
		n, err := rd.conn.Read(rd.buf[rd.w:])
		if n > 0 {
			rd.w += n
			if c.cfg.kaInterval > 0 {
				rd.lastRecv = time.Now()
				if rd.pingOut { // answered: idle again from now
					rd.pingOut = false
					rd.deadline = rd.lastRecv.Add(c.cfg.kaInterval)
				}
				// Otherwise the deadline is left alone: set it on every
				// read and it would cost a timer update per read. When it
				// passes early, keepAlive moves it.
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			timedOut = true
		default:
			readErr = err // handle what arrived first
		}
	}
}

// keepAlive runs when a read deadline passes: it sends a PING after
// kaInterval of silence, and gives up kaTimeout later if nothing came. It
// returns the cause when the connection is to be given up.
func (rd *reader) keepAlive() error {
	c := rd.c
	if c.cfg.kaInterval <= 0 {
		return nil
	}
	now := time.Now()
	if rd.pingOut {
		if now.Before(rd.pingDeadline) {
			rd.deadline = rd.pingDeadline // woken early
			return nil
		}
		if c.rs == nil || !c.rs.sessOn {
			rd.sayGoodbye("keep-alive timeout") // (a CLOSE would end the session)
		}
		return fmt.Errorf("%w: nothing received for %v after a PING", ErrKeepAliveTimeout, c.cfg.kaTimeout)
	}
	if idle := now.Sub(rd.lastRecv); idle < c.cfg.kaInterval {
		rd.deadline = rd.lastRecv.Add(c.cfg.kaInterval) // bytes came since the deadline was set
		return nil
	}
	if c.acquireWriter(c.stop, nil) {
		c.wbuf = proto.AppendPing(c.wbuf[:0], keepAlivePing)
		c.flushLocked(rd.conn, c.cfg.writeTimeout) // a failure ends the connection
		c.unlockWriter()
	}
	rd.pingOut = true
	rd.pingDeadline = now.Add(c.cfg.kaTimeout)
	rd.deadline = rd.pingDeadline
	return nil
}

// keepAlivePing is the payload of keep-alive PINGs. Their PONGs need no
// matching: any byte received proves the server alive.
var keepAlivePing = []byte("keep-alive")

// sayGoodbye writes CLOSE with reason if the write lock comes within the
// close timeout. Nothing may be written after it.
func (rd *reader) sayGoodbye(reason string) (sent bool) {
	c := rd.c
	t := time.NewTimer(c.cfg.closeTimeout)
	defer t.Stop()
	if c.acquireWriter(c.stop, t.C) {
		sent = c.writeCloseLocked(rd.conn, reason)
		c.unlockWriter()
	}
	return sent
}

// stopping reports whether Close has asked the reader to stop delivering.
func (rd *reader) stopping() bool {
	rd.c.dlMu.Lock()
	defer rd.c.dlMu.Unlock()
	return rd.c.draining
}

// handle acts on one frame's payload. stop says delivery is over, for the
// reason cause.
func (rd *reader) handle(payload []byte) (cause error, drain, stop bool) {
	c := rd.c
	if proto.Kind(payload[0]) == proto.KindMessage {
		// The caller owns the message: decode it from a copy of the payload,
		// since buf is reused.
		m := new(proto.Message)
		if _, _, err := proto.ParsePayload(bytes.Clone(payload), m, &c.cfg.limits); err != nil {
			return rd.protocolError(err), true, true
		}
		select {
		case c.msgs <- m:
			rd.countReceived(len(payload))
			return nil, false, false
		default:
		}
		// The queue is full: wait, and read nothing meanwhile, so that TCP
		// pushes back on the server.
		select {
		case c.msgs <- m:
			rd.countReceived(len(payload))
			return nil, false, false
		case <-c.stop:
			return ErrClosed, true, true
		}
	}
	if proto.Kind(payload[0]) == proto.KindAck && c.rs != nil && c.rs.sessOn {
		if err := rd.ackReceived(payload[1:]); err != nil {
			return rd.protocolError(err), true, true
		}
		return nil, false, false
	}
	kind, rest, err := proto.ParsePayload(payload, &rd.scratch, &c.cfg.limits)
	if err != nil {
		return rd.protocolError(err), true, true
	}
	switch kind {
	case proto.KindPing:
		if c.acquireWriter(c.stop, nil) {
			c.wbuf = proto.AppendPong(c.wbuf[:0], rest)
			c.flushLocked(rd.conn, c.cfg.writeTimeout) // a failure ends the connection
			c.unlockWriter()
		}
	case proto.KindPong:
		c.pongReceived(rest, time.Now())
	case proto.KindClose:
		// The server closes its side next; nothing after CLOSE counts.
		return &CloseError{Reason: string(rest)}, false, true
	}
	return nil, false, false
}

// protocolError answers bytes that break the protocol: CLOSE with the
// reason, then a drain. It returns the cause to record.
func (rd *reader) protocolError(perr error) error {
	c := rd.c
	until := time.Now()
	if rd.sayGoodbye(perr.Error()) {
		until = time.Now().Add(c.cfg.closeTimeout)
	}
	c.startDrain(rd.conn, until)
	return fmt.Errorf("client: from server: %w", perr)
}

// setDeadline sets the read deadline for the next Read. It returns false
// when Close has started draining, and delivery must stop.
func (rd *reader) setDeadline() bool {
	c := rd.c
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	if c.draining {
		return false
	}
	if !rd.deadline.Equal(rd.lastDeadline) {
		rd.conn.SetReadDeadline(rd.deadline)
		rd.lastDeadline = rd.deadline
	}
	return true
}

// makeRoom makes sure buf has room to read into after buf[r:w], and room
// for the whole of the frame that starts at r.
func (rd *reader) makeRoom() {
	if rd.r == rd.w {
		rd.r, rd.w = 0, 0
		if len(rd.buf) > maxIdleReadBuffer {
			rd.buf = make([]byte, initialReadBuffer)
		}
		return
	}
	maxFrame := rd.c.cfg.limits.MaxFrameSize
	size, _ := proto.FrameSize(rd.buf[rd.r:rd.w], maxFrame) // Split already vetted it
	if size == 0 {
		size = proto.LengthSize // the length prefix is incomplete
	}
	if rd.r+size <= len(rd.buf) {
		return // the pending frame fits where it is; it is incomplete, so w < len(buf)
	}
	dst := rd.buf
	if size > len(rd.buf) {
		dst = make([]byte, max(size, min(2*len(rd.buf), proto.LengthSize+maxFrame)))
	}
	rd.w = copy(dst, rd.buf[rd.r:rd.w])
	rd.r = 0
	rd.buf = dst
}

// drain reads and discards until the server closes or the drain deadline
// (set by whoever started the drain) passes.
func (rd *reader) drain() {
	for {
		if _, err := rd.conn.Read(rd.buf); err != nil {
			return
		}
	}
}

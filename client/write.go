package client

import (
	"fmt"
	"net"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// maxKeptWriteBuffer is the largest encode buffer kept between writes; a
// bigger one (left by a big message) is dropped after its write.
const maxKeptWriteBuffer = 64 << 10

// lockWriter takes the write lock for a caller's Send. It fails with the
// reason when the connection cannot be written to.
func (c *Client) lockWriter() (net.Conn, error) {
	c.mu.Lock()
	conn, err := c.conn, c.connErrLocked()
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !c.acquireWriter(c.ended, nil) {
		return nil, c.writeErr()
	}
	return conn, nil
}

// acquireWriter takes the write lock unless cancel or timeout fires first
// (nil channels never fire) or the stream must not be written to any more.
// It reports whether the caller holds the lock.
func (c *Client) acquireWriter(cancel <-chan struct{}, timeout <-chan time.Time) bool {
	select {
	case c.wsem <- struct{}{}:
	case <-cancel:
		return false
	case <-timeout:
		return false
	}
	if c.wclosed || isClosed(c.ended) {
		c.unlockWriter()
		return false
	}
	return true
}

func (c *Client) unlockWriter() { <-c.wsem }

// writeErr is the error for a write refused or failed: ErrClosed after
// Close, otherwise why the connection ended.
func (c *Client) writeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.connErrLocked(); err != nil {
		return err
	}
	return ErrConnectionLost // a write failed before its cause was recorded: not reached
}

// flushLocked writes c.wbuf, one frame or more, in one Write. A failed
// write may have sent part of a frame, so it ends the connection. The write
// lock must be held.
func (c *Client) flushLocked(conn net.Conn, timeout time.Duration) error {
	if timeout > 0 {
		conn.SetWriteDeadline(time.Now().Add(timeout))
	}
	_, err := conn.Write(c.wbuf)
	if cap(c.wbuf) > maxKeptWriteBuffer {
		c.wbuf = nil
	}
	if err != nil {
		c.wclosed = true
		c.fail(conn, fmt.Errorf("%w: write: %w", ErrConnectionLost, err))
		return c.writeErr()
	}
	return nil
}

// writeCloseLocked writes a CLOSE frame with reason and shuts down the
// sending side: nothing may follow a CLOSE. It reports whether the frame was
// written. The write lock must be held.
func (c *Client) writeCloseLocked(conn net.Conn, reason string) bool {
	c.wbuf = proto.AppendClose(c.wbuf[:0], reason)
	err := c.flushLocked(conn, c.cfg.closeTimeout)
	c.wclosed = true
	if err != nil {
		return false
	}
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite() // FIN after the CLOSE: the server sees EOF, not a reset
	}
	return true
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

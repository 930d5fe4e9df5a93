package engine

import (
	"context"

	"golang.org/x/sys/unix"
)

// How bytes leave the server.
//
// Every client has one byte queue, pend, that holds encoded frames in send
// order. Whoever flushes it takes all of it, so frames are never reordered
// and frames queued while a flush was pending leave in one write. A flush
// runs either on any goroutine (flushDirect: one write(2) on the socket,
// like net.Conn does) or on the client's event loop (flushOnLoop: through
// gnet, which keeps and later sends what the kernel did not take).
//
// Direct writes are safe because (1) the fd cannot be closed while c.mu is
// held: gnet closes it only after OnClose, which marks c.closed under c.mu;
// and (2) they happen only while gnet holds no bytes of ours (!c.backlog),
// so they cannot overtake older data. Once gnet holds bytes, every flush
// goes through the loop until a loop flush sees gnet's buffer empty.
//
// Listeners run inside a flush scope (see scope.go): their sends only
// queue, and the scope flushes every client it touched once, at its end.

// overCapLocked applies Config.MaxOutboundBytes after pend grew, and
// reports whether c must be disconnected as a slow consumer: pend alone is
// over the cap. When only pend plus gnetOut is over it, gnetOut may be
// stale (measured at the last loop flush; gnet has sent bytes since, and
// a client that caught up would be cut for data already delivered), so it
// has the loop flush and measure now instead: flushOnLoop disconnects c if
// it really is over. c.mu must be held.
func (c *Client) overCapLocked() bool {
	limit := c.srv.cfg.MaxOutboundBytes
	if limit <= 0 || len(c.pend)+c.gnetOut <= limit {
		return false
	}
	if len(c.pend) > limit {
		return true
	}
	if !c.recheck {
		c.recheck = true
		c.queued = true
		c.execLocked((*flushTask)(c))
	}
	return false
}

// settleLocked finishes queueing bytes just appended to pend: it applies
// the cap and marks c queued. It releases c.mu and reports whether the
// caller must arrange a flush (c was not queued yet), or ErrSlowConsumer
// when c was disconnected instead. c.mu must be held.
func (c *Client) settleLocked() (needFlush bool, err error) {
	if c.overCapLocked() {
		c.mu.Unlock()
		c.closeWith(ErrSlowConsumer, ErrSlowConsumer.Error(), true)
		return false, ErrSlowConsumer
	}
	needFlush = !c.queued
	c.queued = true
	c.mu.Unlock()
	return needFlush, nil
}

// queueLocked finishes a send: settleLocked, then a flush in the current
// scope or right now. c.mu must be held; it is released.
func (c *Client) queueLocked() error {
	needFlush, err := c.settleLocked()
	if needFlush {
		c.srv.scheduleFlush(c)
	}
	return err
}

// queueControl appends a control frame built by enc and flushes at once;
// it is how the server sends PONG (from the loop) and PING (from the
// sweep). It does not join the logic goroutine's flush scope: that scope
// stays open while a listener runs, so a blocked listener would hold back
// every PONG and PING (and get healthy clients cut for idleness). It skips
// closing clients.
func (c *Client) queueControl(enc func([]byte) []byte) {
	c.mu.Lock()
	if c.closing || c.closed {
		c.mu.Unlock()
		return
	}
	c.pend = enc(c.pend)
	if c.overCapLocked() {
		c.mu.Unlock()
		c.closeWith(ErrSlowConsumer, ErrSlowConsumer.Error(), true)
		return
	}
	c.queued = true
	c.mu.Unlock()
	c.flushDirect() // a scope holding c flushes it again: harmless
}

// flushDirect writes pend to the socket from the calling goroutine, or hands
// it to the loop when gnet holds older bytes or the kernel is full.
func (c *Client) flushDirect() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queued = false
	if c.closed || len(c.pend) == 0 {
		return
	}
	if c.tr == legacyTr {
		c.flushLegacyDirectLocked() // one write per message (legacyflush.go)
		return
	}
	if !c.backlog {
		n, err := writeFd(int(c.fd), c.pend)
		if err != nil {
			c.pend = c.pend[:0]
			c.setReasonLocked(ErrPeerGone)
			_ = c.gc.Close() // async: the loop reports it through OnClose
			return
		}
		c.loop.counters.bytesOut.Add(uint64(n))
		if n == len(c.pend) {
			c.pend = c.pend[:0]
			return
		}
		c.pend = c.pend[:copy(c.pend, c.pend[n:])]
		c.backlog = true
	}
	c.queued = true
	c.execLocked((*flushTask)(c))
}

// writeFd does one non-blocking write, retrying on EINTR; EAGAIN is 0 bytes.
func writeFd(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Write(fd, b)
		switch err {
		case nil:
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil
		}
		return 0, err
	}
}

// flushOnLoop hands pend to gnet. It must run on c's event loop. gnet's
// Write may close the connection (and call OnClose) on a write error, so it
// runs without c.mu; backlog stays set meanwhile so that no direct write
// can slip in between.
func (c *Client) flushOnLoop() {
	c.mu.Lock()
	c.queued = false
	c.recheck = false
	if c.closed {
		c.mu.Unlock()
		return
	}
	if c.tr == legacyTr {
		c.flushLegacyOnLoopLocked() // one write per message (legacyflush.go)
		return
	}
	data := c.pend
	if limit := c.srv.cfg.MaxOutboundBytes; limit > 0 && len(data) > 0 && !c.closing {
		// Measure before handing more to gnet, so that it never holds
		// more than the cap for c.
		if c.gnetOut = c.gc.OutboundBuffered(); c.gnetOut+len(data) > limit {
			c.mu.Unlock()
			c.closeWith(ErrSlowConsumer, ErrSlowConsumer.Error(), true)
			return
		}
	}
	if len(data) > 0 {
		c.pend, c.spare = c.spare[:0], nil
		c.backlog = true
		c.mu.Unlock()
		_, _ = c.gc.Write(data) // copies what the kernel does not take
		c.loop.counters.bytesOut.Add(uint64(len(data)))
		c.mu.Lock()
		c.spare = data[:0]
		if c.closed {
			c.mu.Unlock()
			return
		}
	}
	c.gnetOut = c.gc.OutboundBuffered()
	c.backlog = c.gnetOut > 0
	over := c.srv.cfg.MaxOutboundBytes > 0 && c.gnetOut+len(c.pend) > c.srv.cfg.MaxOutboundBytes
	tail := c.lanes != nil && c.releaseLocked() // held frames, if the socket has room
	c.mu.Unlock()
	if over {
		c.closeWith(ErrSlowConsumer, ErrSlowConsumer.Error(), true)
	} else if tail {
		c.flushOnLoop()
	}
}

// execLocked runs task on c's loop. If the engine no longer runs tasks the
// connection is closed instead (gnet's shutdown closes it anyway).
func (c *Client) execLocked(task interface{ Run(context.Context) error }) {
	if err := c.gc.EventLoop().Execute(context.Background(), task); err != nil {
		c.queued = false
		_ = c.gc.Close()
	}
}

// flushTask runs flushOnLoop on the client's loop.
type flushTask Client

// Run flushes the client on its loop.
func (t *flushTask) Run(context.Context) error { (*Client)(t).flushOnLoop(); return nil }

// closeTask flushes what is queued (the CLOSE frame last), then closes.
type closeTask Client

// Run flushes the client on its loop, then closes it.
func (t *closeTask) Run(context.Context) error {
	c := (*Client)(t)
	c.flushOnLoop()
	_ = c.gc.Close()
	return nil
}

// closeWith starts disconnecting c for reason, sending CLOSE closeReason
// after what is queued (or instead of it, when drop). It reports whether
// this call started the close.
func (c *Client) closeWith(reason error, closeReason string, drop bool) bool {
	if c.isUser() {
		return c.srv.endSession(c.sess, reason, closeReason)
	}
	c.mu.Lock()
	if c.closing || c.closed {
		c.mu.Unlock()
		return false
	}
	c.closing = true
	c.setReasonLocked(reason)
	if drop {
		c.pend = c.pend[:0]
	}
	c.pend = c.tr.appendClose(c.pend, reason, closeReason)
	c.queued = true
	c.execLocked((*closeTask)(c))
	c.mu.Unlock()
	c.loop.signal() // the loop may be waiting on c (backpressure.go)
	return true
}

func (c *Client) setReasonLocked(err error) {
	if c.reason == nil {
		c.reason = err
	}
}

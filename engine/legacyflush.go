package engine

import "encoding/binary"

// How a legacy client's queue is written: one write(2) per message.
//
// A legacy client's pend holds records, each a 2-byte length and one
// message (legacyTransport.appendMessage). A flush writes the messages one
// by one, each with its own write, while the kernel takes them whole. When
// it takes only part of one (the client is a full socket buffer behind),
// the rest of that message goes to gnet, which sends it when the socket
// drains, and the later messages wait in pend until gnet holds nothing
// again: gnet never holds two messages, so it never writes two at once. The
// next flush to find gnet empty goes on: the lane poller's (lanepoll.go),
// which flushes such a client every LanePollInterval while it waits, or
// its next send or read, or the housekeeping sweep. Only a closing client
// has all that is left handed to gnet at once, since nothing can follow.

// legacyRecord returns the first record of b: the message, or what is left
// of it, and the record's size in b.
// legacyWriteHook, when set (by tests), sees every write of a legacy
// client's bytes: to the socket, or handed to gnet (viaGnet).
var legacyWriteHook func(c *Client, b []byte, viaGnet bool)

func legacyRecord(b []byte) (msg []byte, size int) {
	n := int(binary.BigEndian.Uint16(b))
	return b[legacyRecordHead : legacyRecordHead+n], legacyRecordHead + n
}

// writeLegacyLocked writes whole messages from pend straight to the socket
// while the kernel takes them. It reports whether records remain; when the
// kernel took part of one, the first record now holds the rest. A failed
// write ends the connection. c.mu must be held and gnet must hold nothing.
func (c *Client) writeLegacyLocked() (more bool) {
	done := 0
	defer func() { c.pend = c.pend[:copy(c.pend, c.pend[done:])] }()
	for done < len(c.pend) {
		msg, size := legacyRecord(c.pend[done:])
		n, err := writeFd(int(c.fd), msg)
		if legacyWriteHook != nil && n > 0 {
			legacyWriteHook(c, msg[:n], false)
		}
		if err != nil {
			done = len(c.pend)
			c.setReasonLocked(ErrPeerGone)
			_ = c.gc.Close() // async: the loop reports it through OnClose
			return false
		}
		c.loop.counters.bytesOut.Add(uint64(n))
		if n < len(msg) {
			// Keep the rest as the first record.
			done += n
			binary.BigEndian.PutUint16(c.pend[done:], uint16(len(msg)-n))
			return true
		}
		done += size
	}
	return false
}

// flushLegacyDirectLocked is flushDirect for a legacy client: c.mu is
// held, pend is not empty and c is not closed.
func (c *Client) flushLegacyDirectLocked() {
	if !c.backlog && !c.writeLegacyLocked() {
		return
	}
	if c.closed || len(c.pend) == 0 {
		return
	}
	c.backlog = true
	c.queued = true
	c.execLocked((*flushTask)(c))
}

// flushLegacyOnLoopLocked is flushOnLoop for a legacy client: it runs on
// c's loop with c.mu held, c not closed, and releases c.mu.
func (c *Client) flushLegacyOnLoopLocked() {
	if c.gnetOut = c.gc.OutboundBuffered(); c.gnetOut == 0 && len(c.pend) > 0 {
		c.writeLegacyLocked()
	}
	var hand [][]byte // messages for gnet, in order
	if len(c.pend) > 0 && !c.closed && (c.gnetOut == 0 || c.closing) {
		// The kernel is full: gnet takes the next message (all of them
		// when closing) and sends it when the socket drains.
		done := 0
		for done < len(c.pend) && (len(hand) == 0 || c.closing) {
			msg, size := legacyRecord(c.pend[done:])
			hand = append(hand, msg)
			done += size
		}
		data := c.pend[:done]
		c.pend = append(c.spare[:0], c.pend[done:]...)
		c.spare = nil
		c.backlog = true
		c.mu.Unlock()
		for _, msg := range hand {
			if legacyWriteHook != nil {
				legacyWriteHook(c, msg, true)
			}
			_, _ = c.gc.Write(msg) // copies what the kernel does not take
			c.loop.counters.bytesOut.Add(uint64(len(msg)))
		}
		c.mu.Lock()
		c.spare = data[:0]
		if c.closed {
			c.mu.Unlock()
			return
		}
		c.gnetOut = c.gc.OutboundBuffered()
	}
	c.backlog = c.gnetOut > 0 || len(c.pend) > 0
	c.legacyPollLocked(len(c.pend) > 0 && !c.closing)
	over := c.srv.cfg.MaxOutboundBytes > 0 && c.gnetOut+len(c.pend) > c.srv.cfg.MaxOutboundBytes
	c.mu.Unlock()
	if over {
		c.closeWith(ErrSlowConsumer, ErrSlowConsumer.Error(), true)
	}
}

// legacyPollLocked keeps c in the lane poller while its queue waits for
// gnet to drain (the poller's task flushes it on its loop), and takes it
// out when it does not. It uses c.lanes for its slot only: legacy clients
// hold no frames. c.mu must be held.
func (c *Client) legacyPollLocked(waiting bool) {
	switch {
	case waiting && c.lanes == nil:
		c.lanes = newLaneQueue()
		fallthrough
	case waiting && c.lanes.pollSlot < 0:
		c.srv.poll.add(c.srv, c)
	case !waiting && c.lanes != nil:
		c.srv.poll.remove(c)
	}
}

// resumeLegacyFlush goes on writing a legacy client's queue that waits for
// gnet to drain; it runs on c's loop (its reads, and the sweep's task).
func (c *Client) resumeLegacyFlush() {
	c.mu.Lock()
	waiting := c.backlog && len(c.pend) > 0 && !c.queued
	c.mu.Unlock()
	if waiting {
		c.flushOnLoop()
	}
}

// kickLegacyFlush has the sweep resume a legacy client's waiting queue.
func (c *Client) kickLegacyFlush() {
	c.mu.Lock()
	if c.backlog && len(c.pend) > 0 && !c.queued && !c.closed {
		c.queued = true
		c.execLocked((*flushTask)(c))
	}
	c.mu.Unlock()
}

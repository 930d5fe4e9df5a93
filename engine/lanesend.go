package engine

import (
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// Sending on a lane. The lane comes first, before the message, like the
// address on an envelope, and the methods without "On" keep their
// signatures and mean Reliable: a variadic option could not be added to
// Broadcast, whose variadic is taken by the exclusions, and one shape for
// every call site reads best:
//
//	c.SendOn(engine.Latest(p.ID), pos)
//	room.BroadcastOn(engine.Ephemeral(200*time.Millisecond), voice, speaker)
//
// A PreparedMessage carries its lane (WithLane), since it already is the
// "send this to many" value.

// SendOn is Send on the given lane. While c keeps up, it is exactly Send.
// While c is behind, a frame on a droppable lane is held (replaced, or
// dropped, as its lane says) instead of queued, and does not count against
// MaxOutboundBytes. A client with a session (Config.SessionGrace) gets
// every frame whatever its lane while connected, since its replay after a
// reconnect must be exact; while it is suspended, droppable frames are
// dropped instead of filling its replay window (they would be stale).
func (c *Client) SendOn(lane Lane, m *proto.Message) error {
	if c.isUser() && !lane.IsReliable() && c.sess.suspended() {
		return nil
	}
	if lane.IsReliable() || c.isUser() {
		return c.Send(m) // a session's replay must be exact: every frame
	}
	c.mu.Lock()
	if c.closing || c.closed {
		c.mu.Unlock()
		return ErrClientClosed
	}
	n0 := len(c.pend)
	var err error
	if c.pend, err = c.tr.appendMessage(c.pend, m); err != nil {
		c.pend = c.pend[:n0]
		c.mu.Unlock()
		return err
	}
	c.srv.stats.msgsOut.Add(1)
	if c.holdIfBehindLocked(n0, lane) {
		c.mu.Unlock()
		return nil
	}
	return c.queueLocked()
}

// BroadcastOn is Broadcast on the given lane.
func (s *Server) BroadcastOn(lane Lane, m *proto.Message, exclusions ...*Client) error {
	return s.fanoutMessage(m, lane, nil, exclusions, true)
}

// MessageClientsOn is MessageClients on the given lane.
func (s *Server) MessageClientsOn(lane Lane, targets []*Client, m *proto.Message) error {
	return s.fanoutMessage(m, lane, targets, nil, false)
}

// WithLane returns a PreparedMessage with the same encoded frame, sent on
// lane by SendPrepared and the BroadcastPrepared methods. pm is unchanged.
func (pm *PreparedMessage) WithLane(lane Lane) *PreparedMessage {
	cp := *pm // the frame and its per-transport forms are immutable: shared
	cp.lane = lane
	return &cp
}

// Lane returns the lane the prepared message is sent on.
func (pm *PreparedMessage) Lane() Lane { return pm.lane }

// behindLocked reports whether c's socket is full: gnet holds bytes of
// ours, or frames are held already (a new droppable frame must then wait
// behind them, for its lane's order). c.mu must be held.
func (c *Client) behindLocked() bool {
	return c.backlog || (c.lanes != nil && c.lanes.held())
}

// holdIfBehindLocked is called after a send appended one frame, in c's
// transport's framing, at pend[n0:]. If the lane is droppable and c is
// behind, it moves the frame from pend to the lane queue and reports true:
// the caller then must not queue a flush. c.mu must be held.
func (c *Client) holdIfBehindLocked(n0 int, lane Lane) bool {
	// A legacy client's queue is records, written one by one
	// (legacyflush.go): its lanes are all reliable.
	if lane.IsReliable() || !c.behindLocked() || c.tr == legacyTr {
		return false
	}
	c.holdLocked(c.pend[n0:], lane)
	c.pend = c.pend[:n0]
	return true
}

// holdLocked keeps a copy of frame on its droppable lane. c.mu must be held.
func (c *Client) holdLocked(frame []byte, lane Lane) {
	s := c.srv
	q := c.lanes
	if q == nil {
		q = newLaneQueue()
		c.lanes = q
	}
	switch lane.kind {
	case laneLatest:
		q.putLatest(lane.arg, frame, s.cfg.MaxLatestBytes, &s.laneStats)
	case laneEphemeral:
		q.putEphemeral(time.Now().UnixNano()+int64(lane.arg), frame, s.cfg.MaxEphemeralBytes, &s.laneStats)
	}
	if q.pollSlot < 0 && q.held() {
		s.poll.add(s, c)
	}
}

// releaseLocked runs on c's loop at the end of a loop flush. It drops
// expired frames and, when gnet's buffer and pend are empty, writes held
// frames to the socket, up to what the kernel takes. It reports whether
// the tail of a frame cut by a short write was left in pend, which the
// caller must then hand to gnet. c.mu must be held.
func (c *Client) releaseLocked() (tail bool) {
	s := c.srv
	q := c.lanes
	if c.closing {
		q.drop(&s.laneStats)
		s.poll.remove(c)
		return false
	}
	now := time.Now().UnixNano()
	q.expire(now, &s.laneStats)
	switch {
	case !q.held():
		s.poll.remove(c)
		return false
	case c.backlog || len(c.pend) > 0:
		return false
	case q.skipPolls > 0:
		q.skipPolls--
		return false
	}
	batch, ne, nl := q.assemble(c.pend[:0], now, &s.laneStats)
	n, err := writeFd(int(c.fd), batch)
	if err != nil {
		c.pend = batch[:0]
		c.setReasonLocked(ErrPeerGone)
		_ = c.gc.Close() // the loop reports it through OnClose
		return false
	}
	if n == 0 && len(batch) > 0 {
		// The kernel is full although gnet is empty: nothing tells us when
		// it drains, so back off a few polls rather than retry each one.
		q.backoff = min(max(q.backoff*2, 1), 4)
		q.skipPolls = q.backoff
		c.pend = batch[:0]
		return false
	}
	q.backoff = 0
	c.loop.counters.bytesOut.Add(uint64(n))
	done, off := 0, 0
	for ; done < ne+nl; done++ {
		sz := q.frameSize(done, ne)
		if off+sz > n {
			break
		}
		off += sz
	}
	if off < n { // frame done was cut: it is gone from the lane, its tail goes to gnet
		end := off + q.frameSize(done, ne)
		done++
		c.pend = batch[:copy(batch, batch[n:end])]
		tail = true
	} else {
		c.pend = batch[:0]
	}
	q.consume(min(done, ne), max(done-ne, 0), &s.laneStats)
	if !q.held() {
		s.poll.remove(c)
	}
	return tail
}

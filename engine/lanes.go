package engine

import (
	"strconv"
	"time"
)

// Delivery lanes.
//
// Every send travels on a lane. While a client keeps up, the lane changes
// nothing: every frame, whatever its lane, is appended to the client's one
// byte queue (pend) and leaves in the same coalesced write. A client is
// "behind" while gnet holds bytes the kernel would not take (Client.backlog)
// or the client has held frames. A reliable frame then still joins pend
// (and may push the client over MaxOutboundBytes, as always). A droppable
// frame is held instead, in the client's laneQueue, where it can still be
// replaced (latest) or dropped (ephemeral): once bytes are in gnet or the
// kernel they can no longer be taken back.
//
// Held frames leave only when the socket has room: gnet gives no callback
// when its buffer drains, so the lane poller (lanepoll.go) has every
// client with held frames flushed on its loop every LanePollInterval, and
// every loop flush of such a client (a reliable send, for one) checks
// too. When gnet's buffer and pend are both empty, the held frames are
// written straight to the socket, up to what the kernel takes; only the
// tail of a frame cut by a short write goes to gnet. So a droppable frame
// is never stuck behind other droppable frames in a buffer we cannot drop
// from.
//
// Order: frames of one lane keep their order (for latest: of one key; a
// frame held is released before any later frame of the same lane can
// leave, because a client with held frames holds every droppable frame).
// Between lanes, nothing is promised while the client is behind: a reliable
// frame sent after a held droppable one may arrive first. While the client
// keeps up, every frame leaves in send order.

// laneKind is a Lane's delivery policy.
type laneKind uint8

const (
	laneReliable laneKind = iota
	laneLatest
	laneEphemeral
)

// Lane says what happens to a frame while its client is behind (its socket
// is full). The zero Lane is Reliable. Lanes are small values: passing one
// allocates nothing.
type Lane struct {
	kind laneKind
	arg  uint64 // latest: the key; ephemeral: the ttl in ns
}

// Reliable is the default lane: frames are queued in order; a client more
// than Config.MaxOutboundBytes behind is disconnected with ErrSlowConsumer.
var Reliable = Lane{}

// Latest returns the lane for state that only matters in its newest form
// (a player's position): while the client is behind, a newer frame with
// the same key replaces the queued, unsent one, so the client gets the
// newest state per key. It never gets the client kicked.
func Latest(key uint64) Lane { return Lane{kind: laneLatest, arg: key} }

// Ephemeral returns the lane for data that is worthless late (voice): a
// frame that could not be handed to the kernel within ttl of the send is
// dropped, and while the lane's per-client budget (Config.MaxEphemeralBytes)
// is full the oldest frames are dropped first. It never gets the client
// kicked. A ttl of 0 or less drops the frame unless it can leave at once.
func Ephemeral(ttl time.Duration) Lane {
	return Lane{kind: laneEphemeral, arg: uint64(max(ttl, 0))}
}

// IsReliable reports whether l is the Reliable lane.
func (l Lane) IsReliable() bool { return l.kind == laneReliable }

// String returns "reliable", "latest(<key>)" or "ephemeral(<ttl>)".
func (l Lane) String() string {
	switch l.kind {
	case laneLatest:
		return "latest(" + strconv.FormatUint(l.arg, 10) + ")"
	case laneEphemeral:
		return "ephemeral(" + time.Duration(l.arg).String() + ")"
	}
	return "reliable"
}

// laneQueue holds one client's droppable frames while it is behind. It is
// allocated at the first frame held and guarded by Client.mu. Frames are
// stored in flat byte buffers (no allocation per frame once they have
// grown); a frame is held whole, in the form it goes on the wire.
type laneQueue struct {
	// latest: one entry per key, in the order keys were first held.
	latest    []heldFrame
	index     map[uint64]int // key -> index in latest
	lbuf      []byte         // frame bytes of latest; replaced ones leave garbage
	lspare    []byte         // compaction target, swapped with lbuf
	lbytes    int            // live bytes in lbuf
	lgarbage  int            // dead bytes in lbuf
	eph       []heldFrame    // ephemeral FIFO: eph[ehead:] are held
	ehead     int
	ebuf      []byte // frame bytes of eph, contiguous from eph[ehead].off
	ebytes    int    // live bytes in ebuf
	pollSlot  int    // index in the lane poller's set, -1 when not in it
	skipPolls int    // polls to skip after the kernel took nothing
	backoff   int    // the next skipPolls after EAGAIN

	stats laneCounters
}

// heldFrame is one held frame: its bytes are buf[off:off+n].
type heldFrame struct {
	key uint64 // latest: the key; ephemeral: the deadline, unix ns
	off int
	n   int
}

func newLaneQueue() *laneQueue {
	return &laneQueue{index: make(map[uint64]int), pollSlot: -1}
}

// held reports whether any frame is held.
func (q *laneQueue) held() bool { return len(q.latest) > 0 || q.ehead < len(q.eph) }

// heldBytes returns the bytes held in both lanes.
func (q *laneQueue) heldBytes() int { return q.lbytes + q.ebytes }

// putLatest holds frame as the newest state of key. A key already held is
// replaced (even when the new frame is larger: the client must never be
// left with an older state); a new key that does not fit budget is dropped.
func (q *laneQueue) putLatest(key uint64, frame []byte, budget int, srv *laneCounters) {
	if i, ok := q.index[key]; ok {
		e := &q.latest[i]
		if len(frame) == e.n {
			copy(q.lbuf[e.off:], frame)
		} else {
			q.lgarbage += e.n
			q.lbytes += len(frame) - e.n
			srv.held.Add(int64(len(frame) - e.n))
			e.off, e.n = len(q.lbuf), len(frame)
			q.lbuf = append(q.lbuf, frame...)
			if q.lgarbage > q.lbytes {
				q.compactLatest()
			}
		}
		q.stats.replaced.Add(1)
		srv.replaced.Add(1)
		return
	}
	if q.lbytes+len(frame) > budget {
		q.stats.evicted.Add(1)
		srv.evicted.Add(1)
		return
	}
	q.index[key] = len(q.latest)
	q.latest = append(q.latest, heldFrame{key: key, off: len(q.lbuf), n: len(frame)})
	q.lbuf = append(q.lbuf, frame...)
	q.lbytes += len(frame)
	srv.held.Add(int64(len(frame)))
}

// compactLatest copies the live frames of lbuf into lspare and swaps them.
func (q *laneQueue) compactLatest() {
	dst := q.lspare[:0]
	for i := range q.latest {
		e := &q.latest[i]
		off := len(dst)
		dst = append(dst, q.lbuf[e.off:e.off+e.n]...)
		e.off = off
	}
	q.lbuf, q.lspare = dst, q.lbuf[:0]
	q.lgarbage = 0
}

// putEphemeral holds frame until deadline (unix ns), dropping the oldest
// held frames while it would not fit budget.
func (q *laneQueue) putEphemeral(deadline int64, frame []byte, budget int, srv *laneCounters) {
	if len(frame) > budget {
		q.stats.evicted.Add(1)
		srv.evicted.Add(1)
		return
	}
	for q.ebytes+len(frame) > budget {
		q.popEphemeral(srv)
		q.stats.evicted.Add(1)
		srv.evicted.Add(1)
	}
	if q.ehead == len(q.eph) {
		q.eph, q.ehead, q.ebuf = q.eph[:0], 0, q.ebuf[:0]
	} else if start := q.eph[q.ehead].off; start > len(q.ebuf)/2 && start >= 4096 {
		// Slide the live frames to the front, so ebuf stays within about
		// twice the budget without allocating.
		n := copy(q.ebuf, q.ebuf[start:])
		q.ebuf = q.ebuf[:n]
		k := copy(q.eph, q.eph[q.ehead:])
		q.eph, q.ehead = q.eph[:k], 0
		for i := range q.eph {
			q.eph[i].off -= start
		}
	}
	q.eph = append(q.eph, heldFrame{key: uint64(deadline), off: len(q.ebuf), n: len(frame)})
	q.ebuf = append(q.ebuf, frame...)
	q.ebytes += len(frame)
	srv.held.Add(int64(len(frame)))
}

// popEphemeral drops the oldest held ephemeral frame (the caller counts why).
func (q *laneQueue) popEphemeral(srv *laneCounters) {
	n := q.eph[q.ehead].n
	q.ebytes -= n
	srv.held.Add(-int64(n))
	q.ehead++
}

// expire drops the ephemeral frames whose deadline passed, from the oldest
// on (frames with a longer ttl behind a shorter one are checked at release).
func (q *laneQueue) expire(now int64, srv *laneCounters) {
	for q.ehead < len(q.eph) && int64(q.eph[q.ehead].key) < now {
		if q.eph[q.ehead].n > 0 { // 0: dropped already, by assemble
			q.stats.expired.Add(1)
			srv.expired.Add(1)
		}
		q.popEphemeral(srv)
	}
}

// releaseBatch is how many held bytes one release offers the kernel at most.
const releaseBatch = 64 << 10

// assemble appends held frames to dst, ephemeral first (they go stale
// fastest), skipping expired ones, up to about releaseBatch bytes. It
// returns dst and how many frames of each lane it took.
func (q *laneQueue) assemble(dst []byte, now int64, srv *laneCounters) ([]byte, int, int) {
	start := len(dst)
	ne := 0
	for i := q.ehead; i < len(q.eph) && len(dst)-start < releaseBatch; i++ {
		e := &q.eph[i]
		if e.n == 0 {
			// dropped already
		} else if int64(e.key) < now {
			// Expired behind a longer-lived frame: drop it in place.
			q.ebytes -= e.n
			srv.held.Add(-int64(e.n))
			e.n = 0
			q.stats.expired.Add(1)
			srv.expired.Add(1)
		} else {
			dst = append(dst, q.ebuf[e.off:e.off+e.n]...)
		}
		ne++
	}
	nl := 0
	for i := 0; i < len(q.latest) && len(dst)-start < releaseBatch; i++ {
		e := q.latest[i]
		dst = append(dst, q.lbuf[e.off:e.off+e.n]...)
		nl++
	}
	return dst, ne, nl
}

// consume removes the first ne ephemeral and nl latest frames, which were
// handed to the kernel (the last perhaps in part: its tail is the caller's).
func (q *laneQueue) consume(ne, nl int, srv *laneCounters) {
	for ; ne > 0; ne-- {
		q.popEphemeral(srv) // an expired frame has n 0: nothing to subtract
	}
	if nl == 0 {
		return
	}
	for _, e := range q.latest[:nl] {
		q.lbytes -= e.n
		srv.held.Add(-int64(e.n))
		delete(q.index, e.key)
	}
	k := copy(q.latest, q.latest[nl:])
	clear(q.latest[k:])
	q.latest = q.latest[:k]
	for i, e := range q.latest {
		q.index[e.key] = i
	}
	if k == 0 {
		q.lbuf, q.lbytes, q.lgarbage = q.lbuf[:0], 0, 0
	}
}

// frameSize returns the size of frame i of those assemble took (ne of them
// ephemeral), in their order, to find where a short write cut.
func (q *laneQueue) frameSize(i, ne int) int {
	if i < ne {
		return q.eph[q.ehead+i].n
	}
	return q.latest[i-ne].n
}

// drop discards every held frame (the client is leaving).
func (q *laneQueue) drop(srv *laneCounters) {
	srv.held.Add(-int64(q.heldBytes()))
	clear(q.latest)
	clear(q.index)
	q.latest, q.lbuf, q.lspare, q.eph, q.ebuf = nil, nil, nil, nil, nil
	q.ehead, q.lbytes, q.lgarbage, q.ebytes = 0, 0, 0, 0
}

package engine

import "sync/atomic"

// laneCounters count what the droppable lanes did. The server keeps one
// set for all clients and each client's laneQueue one of its own; both are
// atomics so that a stats snapshot needs no lock.
type laneCounters struct {
	replaced atomic.Uint64 // latest frames replaced by a newer one of their key
	expired  atomic.Uint64 // ephemeral frames dropped because their ttl passed
	evicted  atomic.Uint64 // frames dropped for a lane's budget
	held     atomic.Int64  // bytes held now (the server's set only)
}

// LaneStats is a snapshot of what the droppable lanes did, for one client
// (Client.LaneStats) or summed over all clients (Server.LaneStats).
// Frames are only ever replaced or dropped while their client is behind.
type LaneStats struct {
	// Replaced counts latest frames replaced by a newer frame of the same
	// key before they were sent.
	Replaced uint64
	// Expired counts ephemeral frames dropped because they could not be
	// handed to the kernel within their ttl.
	Expired uint64
	// Evicted counts frames dropped for a lane's budget: the oldest
	// ephemeral frames when Config.MaxEphemeralBytes is full, and latest
	// frames of a new key when Config.MaxLatestBytes is.
	Evicted uint64
	// HeldBytes is the bytes of droppable frames held right now, waiting
	// for the socket to have room.
	HeldBytes int64
}

// Dropped returns the frames dropped, for whatever reason (Expired plus
// Evicted). Replaced frames are not counted: their newer state was sent.
func (s LaneStats) Dropped() uint64 { return s.Expired + s.Evicted }

func (lc *laneCounters) snapshot() LaneStats {
	return LaneStats{
		Replaced:  lc.replaced.Load(),
		Expired:   lc.expired.Load(),
		Evicted:   lc.evicted.Load(),
		HeldBytes: lc.held.Load(),
	}
}

// LaneStats returns the lane counters summed over every client since the
// server started, and the bytes held now. Safe from any goroutine.
func (s *Server) LaneStats() LaneStats { return s.laneStats.snapshot() }

// LaneStats returns what the droppable lanes did for this client, and the
// bytes it has held now. Safe from any goroutine.
func (c *Client) LaneStats() LaneStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lanes == nil {
		return LaneStats{}
	}
	st := c.lanes.stats.snapshot()
	st.HeldBytes = int64(c.lanes.heldBytes())
	return st
}

package engine

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// What a server counts, for Server.Stats and the metrics package.
//
// The hot path pays one uncontended atomic add per event: counters a loop
// writes (bytes in) live in its loopState, counters the dispatcher or a
// broadcaster writes live in the Server, each on its own cache line.
// Gauges that are cheap to compute on demand (queued bytes, queue depth)
// are computed by Stats instead of being maintained per message.

// DisconnectReason classifies why a client went, for Stats.Disconnects.
type DisconnectReason uint8

// Disconnect reasons as counted by Stats; String gives the metric label.
const (
	ReasonPeerGone DisconnectReason = iota
	ReasonPeerClosed
	ReasonKicked
	ReasonSlowConsumer
	ReasonIdleTimeout
	ReasonFrameTimeout
	ReasonProtocolError
	ReasonListenerPanic
	ReasonServerShutdown
	ReasonProxyProtocol
	ReasonSessionExpired
	ReasonSessionOverflow
	ReasonOther
	// NumDisconnectReasons is the number of reasons, the length of Stats.Disconnects.
	NumDisconnectReasons
)

var reasonNames = [NumDisconnectReasons]string{
	"peer_gone", "peer_closed", "kicked", "slow_consumer",
	"idle_timeout", "frame_timeout", "protocol_error", "listener_panic",
	"server_shutdown", "proxy_protocol", "session_expired", "session_overflow", "other",
}

// String returns the reason's snake_case name, e.g. "slow_consumer".
func (r DisconnectReason) String() string {
	if r < NumDisconnectReasons {
		return reasonNames[r]
	}
	return "other"
}

// ReasonOf classifies a disconnect reason as given to OnDisconnect.
func ReasonOf(err error) DisconnectReason {
	var pe *proto.ProtocolError
	switch {
	case err == nil, errors.Is(err, ErrPeerGone):
		return ReasonPeerGone
	case errors.Is(err, ErrPeerClosed):
		return ReasonPeerClosed
	case errors.Is(err, ErrKicked):
		return ReasonKicked
	case errors.Is(err, ErrSlowConsumer):
		return ReasonSlowConsumer
	case errors.Is(err, ErrIdleTimeout):
		return ReasonIdleTimeout
	case errors.Is(err, ErrFrameTimeout):
		return ReasonFrameTimeout
	case errors.As(err, &pe):
		return ReasonProtocolError
	case errors.Is(err, ErrListenerPanic):
		return ReasonListenerPanic
	case errors.Is(err, ErrServerShutdown):
		return ReasonServerShutdown
	case errors.Is(err, ErrProxyProtocol):
		return ReasonProxyProtocol
	case errors.Is(err, ErrSessionExpired):
		return ReasonSessionExpired
	case errors.Is(err, ErrSessionOverflow):
		return ReasonSessionOverflow
	}
	return ReasonOther
}

// Stats is a snapshot of a server's counters, taken by Server.Stats.
// Totals count from the server's creation and never go down.
type Stats struct {
	// Connections is the number of clients connected now.
	Connections int64
	// SuspendedSessions is the number of sessions suspended now: their
	// connection is gone, and they wait within SessionGrace for a resume.
	SuspendedSessions int
	// ConnectionsTotal counts the connections admitted.
	ConnectionsTotal uint64
	// ConnectionsRefused counts connections refused at admission (server
	// full, shutting down) or before they were announced (PROXY protocol).
	ConnectionsRefused uint64
	// AcceptFailures counts failed accepts (EMFILE when the fd table is
	// full...), each followed by a pause of the accept loop; AcceptDropped
	// the accepted connections closed because no fd was left to hand them
	// to an event loop; AcceptPaused says whether accepting is paused now.
	AcceptFailures uint64
	AcceptDropped  uint64
	AcceptPaused   bool
	// MessagesReceived counts MESSAGE frames handed to OnMessage.
	MessagesReceived uint64
	// BytesReceived counts bytes read from clients and consumed (frames
	// of any kind, with their length prefixes).
	BytesReceived uint64
	// MessagesSent counts MESSAGE frames queued to clients: a broadcast
	// counts once per recipient.
	MessagesSent uint64
	// SkippedSends counts fan-out recipients (Broadcast, MessageClients,
	// rooms) skipped because their transport cannot carry the message: an
	// original Python client and a message the legacy format cannot
	// represent (a single Send returns the error instead).
	SkippedSends uint64
	// BytesSent counts bytes written to clients' sockets or handed to gnet
	// to write.
	BytesSent uint64
	// Disconnects counts announced clients that left, by reason.
	Disconnects [NumDisconnectReasons]uint64
	// SlowConsumerKicks counts clients disconnected because their queue
	// passed Config.MaxOutboundBytes (Disconnects[ReasonSlowConsumer]).
	SlowConsumerKicks uint64
	// QueuedBytes is what is queued to clients now and not yet written:
	// the server's queues plus what gnet holds. Stats visits every client
	// for it.
	QueuedBytes int64
	// DispatchQueue is the number of events waiting for the dispatcher.
	DispatchQueue int
	// InboundQueuedBytes is what received MESSAGEs not yet handled are
	// charged against Config.MaxQueuedBytes (payload + 128 B each).
	InboundQueuedBytes int64
	// ThrottledLoops is the number of event loops waiting for the
	// dispatcher now; InboundThrottles counts such waits (backpressure on
	// a sender at its high-water mark, or on everyone at MaxQueuedBytes).
	ThrottledLoops   int
	InboundThrottles uint64
	// TickOverruns counts ticks whose dispatch and OnUpdate took longer
	// than a tick period (1/TickRate).
	TickOverruns uint64
	// BrokerPublished counts publications sent to the broker;
	// BrokerPublishErrors those the broker refused (down, reconnecting,
	// too large); BrokerReceived publications received from other nodes.
	BrokerPublished     uint64
	BrokerPublishErrors uint64
	BrokerReceived      uint64
	// BrokerDirectMisses counts direct sends (SendToID) from other nodes
	// whose client was no longer here when they arrived.
	BrokerDirectMisses uint64
	// BrokerSubscriptions is the number of broker topics subscribed now.
	BrokerSubscriptions int64
	// Lanes counts what the droppable delivery lanes replaced and dropped
	// for clients that were behind, and what they hold now (LaneStats).
	Lanes LaneStats
}

// paddedCounter is an atomic counter alone on its cache line, so that
// counters written by different goroutines do not contend.
type paddedCounter struct {
	atomic.Uint64
	_ [56]byte
}

// serverStats are the counters kept in the Server.
type serverStats struct {
	connsTotal       paddedCounter // OnOpen (loops)
	refused          paddedCounter
	msgsIn           paddedCounter // fireMessage (the dispatcher, or loops inline)
	msgsOut          paddedCounter // Send, fan-out
	skipped          paddedCounter // fan-out targets whose transport cannot carry the message
	tickOverruns     paddedCounter
	throttles        paddedCounter // backpressure waits (loops, slow path)
	brokerPub        paddedCounter
	brokerPubErrs    paddedCounter
	brokerRecv       paddedCounter
	brokerDirectMiss atomic.Uint64 // rare
	brokerSubs       atomic.Int64
	disconnects      [NumDisconnectReasons]atomic.Uint64 // rare: shared line is fine
}

// loopCounters are the counters a loop's connections write.
type loopCounters struct {
	bytesIn  paddedCounter // written by the loop only
	bytesOut paddedCounter // written by whoever flushes the loop's clients
}

func (s *Server) countDisconnect(reason error) {
	s.stats.disconnects[ReasonOf(reason)].Add(1)
}

// Stats returns a snapshot of the server's counters. It is safe to call
// from any goroutine at any time; it visits every connected client for
// QueuedBytes, so call it per scrape, not per message.
func (s *Server) Stats() Stats {
	st := Stats{
		Connections:         s.numConns.Load(),
		ConnectionsTotal:    s.stats.connsTotal.Load(),
		ConnectionsRefused:  s.stats.refused.Load(),
		AcceptFailures:      s.acc.failures.Load(),
		AcceptDropped:       s.acc.dropped.Load(),
		AcceptPaused:        s.acc.paused.Load(),
		MessagesReceived:    s.stats.msgsIn.Load(),
		MessagesSent:        s.stats.msgsOut.Load(),
		SkippedSends:        s.stats.skipped.Load(),
		TickOverruns:        s.stats.tickOverruns.Load(),
		BrokerPublished:     s.stats.brokerPub.Load(),
		BrokerPublishErrors: s.stats.brokerPubErrs.Load(),
		BrokerReceived:      s.stats.brokerRecv.Load(),
		BrokerDirectMisses:  s.stats.brokerDirectMiss.Load(),
		BrokerSubscriptions: s.stats.brokerSubs.Load(),
	}
	if st.Connections < 0 {
		st.Connections = 0
	}
	for i := range st.Disconnects {
		st.Disconnects[i] = s.stats.disconnects[i].Load()
	}
	st.SlowConsumerKicks = st.Disconnects[ReasonSlowConsumer]
	if s.sessionsOn() {
		s.sessions.mu.Lock()
		st.SuspendedSessions = len(s.sessions.suspended)
		s.sessions.mu.Unlock()
	}
	st.Lanes = s.LaneStats()
	var buf []*Client
	for _, l := range s.allLoops() {
		st.BytesReceived += l.counters.bytesIn.Load()
		st.BytesSent += l.counters.bytesOut.Load()
		buf = l.conns.snapshot(buf[:0])
		for _, c := range buf {
			c.mu.Lock()
			st.QueuedBytes += int64(len(c.pend) + c.gnetOut)
			c.mu.Unlock()
		}
	}
	st.DispatchQueue = s.queue.len()
	st.InboundQueuedBytes = s.queued.Load()
	st.ThrottledLoops = int(s.waiters.Load())
	st.InboundThrottles = s.stats.throttles.Load()
	return st
}

// countOverrun counts a tick that started at start and took longer than
// a tick period.
func (s *Server) countOverrun(start time.Time) {
	if time.Since(start) > time.Second/time.Duration(s.cfg.TickRate) {
		s.stats.tickOverruns.Add(1)
	}
}

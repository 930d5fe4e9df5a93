// Package metrics exports a SimpleServer's Stats to Prometheus. It is the
// only package of the module that links github.com/prometheus/client_golang,
// so a server that needs no metrics does not pay for it.
//
// The collector reads Server.Stats at scrape time and emits constant
// metrics: the server's hot path only bumps atomics, never a Prometheus
// metric. It never registers into the global registry; register it where
// you choose:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(metrics.NewCollector(server))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Several servers in one process (a test, examples/cluster) register one
// collector each with a distinguishing constant label:
// metrics.NewCollector(s, metrics.WithConstLabels(prometheus.Labels{"node": "1"})).
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/simpleserver-go/simpleserver/engine"
)

// Namespace prefixes every metric name.
const Namespace = "simpleserver"

// Source is what a Collector reads: *engine.Server is one.
type Source interface {
	Stats() engine.Stats
}

// Collector is a prometheus.Collector for one server's Stats.
type Collector struct {
	src   Source
	descs descs
}

type descs struct {
	connections, accepted, refused           *prometheus.Desc
	msgsIn, bytesIn, msgsOut, bytesOut       *prometheus.Desc
	skipped                                  *prometheus.Desc
	disconnects, slowKicks                   *prometheus.Desc
	queuedBytes, dispatchQueue, tickOverruns *prometheus.Desc
	inQueued, throttledLoops, throttles      *prometheus.Desc
	brokerPub, brokerPubErrs, brokerRecv     *prometheus.Desc
	brokerSubs, brokerDirectMiss             *prometheus.Desc
	suspended                                *prometheus.Desc
	laneReplaced, laneDropped, laneHeld      *prometheus.Desc
	acceptFails, acceptDropped, acceptPaused *prometheus.Desc
}

// Option configures a Collector.
type Option func(*options)

type options struct {
	constLabels prometheus.Labels
}

// WithConstLabels adds labels with fixed values to every metric, e.g.
// {"node": "2"} when several servers share one registry.
func WithConstLabels(l prometheus.Labels) Option {
	return func(o *options) { o.constLabels = l }
}

// NewCollector returns a collector for src.
func NewCollector(src Source, opts ...Option) *Collector {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(Namespace+"_"+name, help, labels, o.constLabels)
	}
	return &Collector{src: src, descs: descs{
		connections:      d("connections", "Clients connected now."),
		accepted:         d("connections_accepted_total", "Connections admitted."),
		refused:          d("connections_refused_total", "Connections refused at admission (server full, shutting down) or before announcement (PROXY protocol)."),
		msgsIn:           d("messages_received_total", "MESSAGE frames received from clients and handed to OnMessage."),
		bytesIn:          d("received_bytes_total", "Bytes read from clients (frames of any kind, length prefixes included)."),
		msgsOut:          d("messages_sent_total", "MESSAGE frames queued to clients; a broadcast counts once per recipient."),
		skipped:          d("skipped_sends_total", "Fan-out recipients skipped because their transport cannot carry the message (original Python clients)."),
		bytesOut:         d("sent_bytes_total", "Bytes written to clients' sockets or handed to the event loop to write."),
		disconnects:      d("disconnects_total", "Clients that left, by reason.", "reason"),
		slowKicks:        d("slow_consumer_kicks_total", "Clients disconnected because their outbound queue passed MaxOutboundBytes."),
		queuedBytes:      d("queued_bytes", "Bytes queued to clients and not yet written."),
		dispatchQueue:    d("dispatch_queue_events", "Events waiting for the dispatcher."),
		tickOverruns:     d("tick_overruns_total", "Ticks whose dispatch and OnUpdate took longer than the tick period."),
		brokerPub:        d("broker_published_total", "Publications sent to the cluster broker."),
		brokerPubErrs:    d("broker_publish_errors_total", "Publications the cluster broker refused (down, reconnecting, too large)."),
		brokerRecv:       d("broker_received_total", "Publications received from other nodes."),
		brokerSubs:       d("broker_subscriptions", "Broker topics subscribed now."),
		suspended:        d("suspended_sessions", "Sessions whose connection is gone, waiting within their grace for a resume."),
		brokerDirectMiss: d("broker_direct_misses_total", "Direct sends (SendToID) from other nodes whose client had left this node when they arrived."),
		laneReplaced:     d("lane_replaced_total", "Latest-lane frames replaced by a newer frame of their key while the client was behind."),
		laneDropped:      d("lane_dropped_total", "Droppable-lane frames dropped while the client was behind, by reason (expired: past the ephemeral ttl; evicted: over a lane budget).", "reason"),
		laneHeld:         d("lane_held_bytes", "Bytes of droppable frames held for clients that are behind."),
		acceptFails:      d("accept_failures_total", "Failed accepts (EMFILE when the fd table is full, ENFILE, ENOBUFS, ENOMEM), each pausing the accept loop."),
		acceptDropped:    d("accept_dropped_total", "Accepted connections closed because no fd was left to hand them to an event loop."),
		acceptPaused:     d("accept_paused", "1 while accepting is paused by failing accepts, else 0."),
		inQueued:         d("inbound_queued_bytes", "Received MESSAGEs not yet handled, as charged against MaxQueuedBytes (payload + 128 B each)."),
		throttledLoops:   d("throttled_loops", "Event loops waiting for the dispatcher (inbound backpressure) now."),
		throttles:        d("inbound_throttles_total", "Times an event loop waited for the dispatcher: a sender at its high-water mark, or the queue at MaxQueuedBytes."),
	}}
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	d := &c.descs
	for _, x := range []*prometheus.Desc{
		d.connections, d.accepted, d.refused, d.msgsIn, d.bytesIn, d.msgsOut, d.bytesOut, d.skipped,
		d.disconnects, d.slowKicks, d.queuedBytes, d.dispatchQueue, d.tickOverruns,
		d.inQueued, d.throttledLoops, d.throttles,
		d.brokerPub, d.brokerPubErrs, d.brokerRecv, d.brokerSubs, d.brokerDirectMiss, d.suspended,
		d.laneReplaced, d.laneDropped, d.laneHeld,
		d.acceptFails, d.acceptDropped, d.acceptPaused,
	} {
		ch <- x
	}
}

// Collect takes one Stats snapshot and sends it as metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Stats()
	d := &c.descs
	counter := func(desc *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(desc *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(v))
	}
	gauge(d.connections, st.Connections)
	counter(d.accepted, st.ConnectionsTotal)
	counter(d.refused, st.ConnectionsRefused)
	counter(d.msgsIn, st.MessagesReceived)
	counter(d.bytesIn, st.BytesReceived)
	counter(d.msgsOut, st.MessagesSent)
	counter(d.skipped, st.SkippedSends)
	counter(d.bytesOut, st.BytesSent)
	for r, v := range st.Disconnects {
		counter(d.disconnects, v, engine.DisconnectReason(r).String())
	}
	counter(d.slowKicks, st.SlowConsumerKicks)
	gauge(d.queuedBytes, st.QueuedBytes)
	gauge(d.dispatchQueue, int64(st.DispatchQueue))
	counter(d.tickOverruns, st.TickOverruns)
	gauge(d.inQueued, st.InboundQueuedBytes)
	gauge(d.throttledLoops, int64(st.ThrottledLoops))
	counter(d.throttles, st.InboundThrottles)
	counter(d.brokerPub, st.BrokerPublished)
	counter(d.brokerPubErrs, st.BrokerPublishErrors)
	counter(d.brokerRecv, st.BrokerReceived)
	gauge(d.brokerSubs, st.BrokerSubscriptions)
	counter(d.brokerDirectMiss, st.BrokerDirectMisses)
	gauge(d.suspended, int64(st.SuspendedSessions))
	counter(d.laneReplaced, st.Lanes.Replaced)
	counter(d.laneDropped, st.Lanes.Expired, "expired")
	counter(d.laneDropped, st.Lanes.Evicted, "evicted")
	gauge(d.laneHeld, st.Lanes.HeldBytes)
	counter(d.acceptFails, st.AcceptFailures)
	counter(d.acceptDropped, st.AcceptDropped)
	paused := int64(0)
	if st.AcceptPaused {
		paused = 1
	}
	gauge(d.acceptPaused, paused)
}

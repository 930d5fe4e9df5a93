package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// Defaults for Config. Every limit a misbehaving client can hit is here, in
// one place; the README's limits table mirrors it.
const (
	DefaultTickRate           = 120              // OnUpdate calls per second
	DefaultMaxConnections     = 50_000           // concurrent clients
	DefaultMaxOutboundBytes   = 4 << 20          // queued to one client
	DefaultMaxPendingMessages = 1024             // decoded, not yet handled, per client
	DefaultMaxPendingBytes    = 256 << 10        // decoded, not yet handled, per client
	DefaultMaxQueuedBytes     = 1 << 20          // decoded, not yet handled, all clients
	DefaultPingInterval       = 15 * time.Second // silence before the server PINGs
	DefaultPingTimeout        = 15 * time.Second // then silence before disconnecting
	DefaultFrameTimeout       = 15 * time.Second // to finish a started frame
	DefaultReadBufferCap      = 64 << 10         // bytes per event-loop read
	DefaultSessionWindow      = 1 << 20          // bytes kept per session for replay
	DefaultSessionHelloWait   = 500 * time.Millisecond
	DefaultMaxLatestBytes     = 256 << 10 // held on the latest lane, per client
	DefaultMaxEphemeralBytes  = 64 << 10  // held on the ephemeral lane, per client
	DefaultLanePollInterval   = 2 * time.Millisecond
)

// Config holds every setting of a Server. Zero fields mean their defaults,
// so Config{Port: 8080} is a working configuration; DefaultConfig spells
// the defaults out. Durations and limits that are negative disable the
// feature (no heartbeat, no cap).
type Config struct {
	// Host and Port to listen on. Port 0 picks a free port; Server.Addr
	// reports it. Host "" listens on all interfaces.
	Host string
	Port int

	// Verbose logs debug messages (connections, disconnect reasons, ...).
	// Otherwise only warnings and errors are logged.
	Verbose bool
	// Logger receives the server's logs. Nil means a text logger on stderr
	// at the level Verbose selects. A Logger given here is used as is: its
	// own level decides what appears.
	Logger *slog.Logger

	// TickRate is how many times per second OnUpdate fires (default 120).
	TickRate int
	// ManualUpdate makes Start and StartAsync only listen: nothing is
	// dispatched until the user calls Update, which dispatches every pending
	// event and then fires OnUpdate, on the caller's goroutine.
	ManualUpdate bool
	// Inline runs listeners directly on the event-loop goroutines, several
	// at once, for the highest throughput. See the package doc for what the
	// listeners must then synchronise. Incompatible with ManualUpdate.
	Inline bool

	// EventLoops is the number of gnet event loops (default GOMAXPROCS).
	EventLoops int
	// ReadBufferCap is the per-loop read buffer (default 64 KiB).
	ReadBufferCap int

	// Limits are the protocol limits applied to what clients send.
	Limits proto.Limits
	// MaxConnections caps concurrent clients; beyond it new connections get
	// CLOSE "server full" and are closed (default 50,000).
	MaxConnections int
	// ReservedFDs is how many file descriptors to keep for the application's
	// own use (files, outbound connections). At start the server raises the
	// soft RLIMIT_NOFILE to the hard limit and lowers MaxConnections, with a
	// warning, to the limit minus these and its own (112 + 2 per event loop);
	// Server.Config reports the effective value (default 64).
	ReservedFDs int
	// MaxConnectionsPerAddr caps concurrent clients from one IP address (for
	// IPv6, one /64); beyond it a new connection gets CLOSE "too many
	// connections from your address" and is closed. 0 means no cap (default).
	MaxConnectionsPerAddr int
	// AcceptRate caps how many connections are accepted per second, in
	// bursts of up to one second's worth; the rest wait in the kernel's
	// backlog. 0 means no cap (default).
	AcceptRate int
	// MaxOutboundBytes caps the bytes queued to one client; a client over it
	// is disconnected with ErrSlowConsumer (default 4 MiB).
	MaxOutboundBytes int
	// MaxPendingMessages and MaxPendingBytes are the high-water marks of
	// what one client has sent that listeners have not handled yet (defaults
	// 1024 messages, 256 KiB of payload). A client at either mark is not read
	// until the dispatcher has brought it under half of both: its event loop
	// waits, so TCP slows the sender down. Nobody is disconnected for it.
	// One client holds at most its marks plus one frame.
	MaxPendingMessages int
	MaxPendingBytes    int
	// MaxQueuedBytes caps what all clients together have queued for the
	// listeners, each message counted as its payload plus 128 bytes (default
	// 1 MiB). At the cap every event loop that receives a MESSAGE waits
	// until the queue is under half of it. Inline mode has no queue: a loop
	// runs the listeners before it reads again, so none of these apply.
	MaxQueuedBytes int

	// PingInterval is how long a client may stay silent before the server
	// sends it a PING (default 15 s). PingTimeout is how long after that PING
	// it may stay silent before being disconnected with ErrIdleTimeout
	// (default 15 s). Any frame from the client counts as a sign of life.
	PingInterval time.Duration
	PingTimeout  time.Duration
	// FrameTimeout is how long a client may take to complete a frame it has
	// started sending; over it: ErrFrameTimeout (default 15 s). It also
	// bounds an HTTP request head (WebSocket upgrade) being sent.
	FrameTimeout time.Duration

	// TrustedProxies turns the PROXY protocol (v1 and v2) on: a connection
	// from an address in one of these prefixes must start with a PROXY
	// header, and the client's RemoteAddr is the address in it. Such a
	// connection is announced only once the header is read; one with a
	// malformed header, or none within FrameTimeout, is closed without
	// events. Connections from other addresses are served directly, and
	// disconnected with ErrProxyProtocol if they send a header. Empty (the
	// default) means off: no header is ever parsed.
	TrustedProxies []netip.Prefix

	// WebSocket accepts WebSocket clients on the same port and loops; it is
	// off by default (see WebSocketConfig for why).
	WebSocket WebSocketConfig
	// HTTPPages answers plain HTTP GETs on the same port with small static
	// responses, by path (say "/" for a browser client's page); see HTTPPage.
	HTTPPages map[string]HTTPPage
	// DetectTimeout: with WebSocket or HTTPPages on, a connection becomes a
	// client when its first byte shows what it speaks, so a protocol v1
	// client should speak first (docs/PROTOCOL.md; the Go client does). A
	// connection that stays silent is dropped, with no events, by the idle
	// timeout (PingInterval + PingTimeout). A positive DetectTimeout takes
	// one silent that long for a v1 client instead; off by default, since
	// browsers open sockets ahead of use and send their GET seconds later,
	// and such a socket taken for v1 breaks the page load.
	DetectTimeout time.Duration

	// Broker joins this server to a cluster (see broker.go and
	// broker/natsbroker): broadcasts and room broadcasts then reach the
	// clients of every server on the broker. Nil (the default): one node.
	Broker Broker
	// NodeID identifies this server in a cluster, 1..MaxNodeID; it is the
	// top bits of every client ID, which makes client IDs unique across
	// the cluster. 0 means a random one when Broker is set (give nodes
	// explicit IDs to rule out a collision), and none otherwise.
	NodeID uint32

	// SessionGrace turns sessions on (docs/PROTOCOL.md, "Sessions"; 0, the
	// default, leaves them off): a client that asks for one keeps its ID,
	// Data and rooms for this long after its connection is lost, and a
	// reconnect within it resumes with an exact replay (OnSuspend, then
	// OnResume; OnDisconnect with ErrSessionExpired when it runs out).
	SessionGrace time.Duration
	// SessionWindow bounds the bytes kept per session for replay: sent and
	// not yet confirmed by the client (default 1 MiB). Past it the session
	// ends with ErrSessionOverflow.
	SessionWindow int
	// MaxSuspended caps the sessions suspended at once (their connection
	// lost, their grace running): a suspended session holds no connection,
	// so MaxConnections does not bound them, yet each keeps up to
	// SessionWindow bytes. Suspending one more ends the oldest suspended
	// session first, with ErrSessionEvicted (which is ErrSessionExpired to
	// errors.Is), so that the newest blips survive. With
	// MaxConnectionsPerAddr set, one address (as that cap keys it: its
	// lost connection's, PROXY-aware) may also hold at most that many
	// suspended sessions, its oldest ending first. 0 means the effective
	// MaxConnections (so suspended sessions at most double what connected
	// clients may hold; none if MaxConnections is negative), which
	// Server.Config reports once started; negative means no cap.
	MaxSuspended int
	// SessionHelloWait is, with sessions on, how long a new connection may
	// take to send its first frame before it is announced (OnConnection)
	// as a plain client: a HELLO must come first (default 500 ms; every Go
	// client speaks first at once).
	SessionHelloWait time.Duration
	// MaxLatestBytes and MaxEphemeralBytes are the per-client budgets of the
	// droppable lanes: the bytes a client that is behind may have held on
	// each (defaults 256 KiB and 64 KiB). Over MaxEphemeralBytes the oldest
	// ephemeral frames are dropped; over MaxLatestBytes frames of keys not
	// held yet are (replacing a held key is always allowed). Negative: hold
	// nothing, drop every droppable frame sent while the client is behind.
	MaxLatestBytes    int
	MaxEphemeralBytes int
	// LanePollInterval is how often the server checks whether the socket of
	// a client with held frames has room again (default 2 ms); it bounds the
	// latency held frames gain once the socket drains. See lanepoll.go.
	LanePollInterval time.Duration
	// SocketSendBuffer sets SO_SNDBUF on accepted connections (0: the
	// kernel's default, which autotunes up to megabytes). Bytes in the
	// kernel's buffer cannot be dropped or replaced any more, so a small
	// buffer (16-64 KiB) keeps droppable lanes fresh for slow clients.
	SocketSendBuffer int

	// LegacyClients serves clients of the original Python SimpleServer,
	// unmodified, on the same port: a connection whose first byte is
	// neither 0x00 (protocol v1) nor the start of an HTTP request is one
	// (docs/PROTOCOL.md, "The original library's format"). Off by default,
	// so that a scanner's bytes never become messages. Such clients get no
	// heartbeat and no idle timeout (they cannot answer a PING; TCP
	// keep-alive is turned on instead), nor does a connection that has not
	// spoken yet, since it may be one; so DetectTimeout, which would take a
	// silent one for v1, cannot be set with it.
	LegacyClients bool
}

// DefaultConfig returns the configuration with every default spelled out.
func DefaultConfig() Config {
	return Config{
		TickRate:           DefaultTickRate,
		EventLoops:         runtime.GOMAXPROCS(0),
		ReadBufferCap:      DefaultReadBufferCap,
		Limits:             proto.DefaultLimits(),
		MaxConnections:     DefaultMaxConnections,
		ReservedFDs:        DefaultReservedFDs,
		MaxOutboundBytes:   DefaultMaxOutboundBytes,
		MaxPendingMessages: DefaultMaxPendingMessages,
		MaxPendingBytes:    DefaultMaxPendingBytes,
		MaxQueuedBytes:     DefaultMaxQueuedBytes,
		PingInterval:       DefaultPingInterval,
		PingTimeout:        DefaultPingTimeout,
		FrameTimeout:       DefaultFrameTimeout,
		SessionWindow:      DefaultSessionWindow,
		SessionHelloWait:   DefaultSessionHelloWait,
		MaxLatestBytes:     DefaultMaxLatestBytes,
		MaxEphemeralBytes:  DefaultMaxEphemeralBytes,
		LanePollInterval:   DefaultLanePollInterval,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setInt(&c.TickRate, d.TickRate)
	setInt(&c.EventLoops, d.EventLoops)
	setInt(&c.ReadBufferCap, d.ReadBufferCap)
	setInt(&c.MaxConnections, d.MaxConnections)
	setInt(&c.ReservedFDs, d.ReservedFDs)
	setInt(&c.MaxOutboundBytes, d.MaxOutboundBytes)
	setInt(&c.MaxPendingMessages, d.MaxPendingMessages)
	setInt(&c.MaxPendingBytes, d.MaxPendingBytes)
	setInt(&c.MaxQueuedBytes, d.MaxQueuedBytes)
	setDur(&c.PingInterval, d.PingInterval)
	setDur(&c.PingTimeout, d.PingTimeout)
	setDur(&c.FrameTimeout, d.FrameTimeout)
	c.WebSocket = c.WebSocket.withDefaults()
	setInt(&c.SessionWindow, d.SessionWindow)
	setDur(&c.SessionHelloWait, d.SessionHelloWait)
	setInt(&c.MaxLatestBytes, d.MaxLatestBytes)
	setInt(&c.MaxEphemeralBytes, d.MaxEphemeralBytes)
	setDur(&c.LanePollInterval, d.LanePollInterval)
	c.Limits = c.Limits.WithDefaults()
	return c
}

// Validate reports every setting that cannot work, joined in one error.
func (c Config) Validate() error {
	var errs []error
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d out of range 0..65535", c.Port))
	}
	if c.TickRate < 0 || c.TickRate > 10_000 {
		errs = append(errs, fmt.Errorf("tick rate %d out of range 1..10000", c.TickRate))
	}
	if c.EventLoops < 0 || c.EventLoops > 256 {
		errs = append(errs, fmt.Errorf("event loops %d out of range 1..256", c.EventLoops))
	}
	if c.ReadBufferCap < 0 {
		errs = append(errs, fmt.Errorf("read buffer cap %d is negative", c.ReadBufferCap))
	}
	if c.SessionGrace < 0 || c.SessionWindow < 0 || c.SessionHelloWait < 0 {
		errs = append(errs, errors.New("session settings must not be negative"))
	}
	if c.LanePollInterval < 0 || c.LanePollInterval > time.Second {
		errs = append(errs, fmt.Errorf("lane poll interval %v out of range 0..1s", c.LanePollInterval))
	}
	if c.ManualUpdate && c.Inline {
		errs = append(errs, errors.New("manual update and inline mode exclude each other"))
	}
	if c.NodeID > MaxNodeID {
		errs = append(errs, fmt.Errorf("node ID %d out of range 0..%d", c.NodeID, MaxNodeID))
	}
	for _, p := range c.TrustedProxies {
		if !p.IsValid() {
			errs = append(errs, fmt.Errorf("trusted proxy prefix %v is invalid", p))
		}
	}
	if err := c.Limits.Validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.WebSocket.validate(c.HTTPPages)...)
	if c.LegacyClients && c.DetectTimeout > 0 {
		errs = append(errs, errors.New("DetectTimeout would take a silent original client for v1: it cannot be set with LegacyClients"))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("simpleserver: invalid config: %w", errors.Join(errs...))
}

// Option changes one setting of a Config; NewServer applies them in order.
// Any func(*Config) is an Option, so settings without a With helper are set
// with engine.Option(func(c *engine.Config) { c.MaxOutboundBytes = 1 << 20 }).
type Option func(*Config)

// WithVerbose turns debug logging on or off (the seed's verbose_logging).
func WithVerbose(v bool) Option { return func(c *Config) { c.Verbose = v } }

// WithTickRate sets how many times per second OnUpdate fires (the seed's tick_rate).
func WithTickRate(hz int) Option { return func(c *Config) { c.TickRate = hz } }

// WithManualUpdate selects manual update mode (the seed's manual_update).
func WithManualUpdate(v bool) Option { return func(c *Config) { c.ManualUpdate = v } }

// WithLogger sends the server's logs to l.
func WithLogger(l *slog.Logger) Option { return func(c *Config) { c.Logger = l } }

// WithInline runs listeners on the event loops; see Config.Inline.
func WithInline(v bool) Option { return func(c *Config) { c.Inline = v } }

// WithEventLoops sets the number of event loops.
func WithEventLoops(n int) Option { return func(c *Config) { c.EventLoops = n } }

// WithLimits sets the protocol limits applied to clients' frames.
func WithLimits(l proto.Limits) Option { return func(c *Config) { c.Limits = l } }

// WithTrustedProxies turns the PROXY protocol on for connections from the
// given prefixes; see Config.TrustedProxies.
func WithTrustedProxies(prefixes ...netip.Prefix) Option {
	return func(c *Config) { c.TrustedProxies = prefixes }
}

// WithBroker joins the server to a cluster through b; see Config.Broker.
func WithBroker(b Broker) Option { return func(c *Config) { c.Broker = b } }

// WithNodeID sets the server's node ID in a cluster; see Config.NodeID.
func WithNodeID(id uint32) Option { return func(c *Config) { c.NodeID = id } }

// WithSessionGrace turns sessions on: a client that asks for one may
// reconnect within grace and resume it; see Config.SessionGrace.
func WithSessionGrace(grace time.Duration) Option {
	return func(c *Config) { c.SessionGrace = grace }
}

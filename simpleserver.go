// Package simpleserver is a message server and client library for
// high-connection-count game and voice-chat backends: thousands of
// long-lived connections, small frequent messages, a server that ticks at
// 60–120 Hz and broadcasts to everyone in a room. It is the Go port of the
// Python SimpleServer library, with the same small API, on gnet event loops.
//
// This package re-exports the common names so one import suffices:
//
//	server := simpleserver.NewServer("localhost", 8080, simpleserver.WithTickRate(60))
//	server.OnMessage.AddListener(func(c *simpleserver.Client, m *simpleserver.NetworkMessage) {
//		c.Send(m) // echo
//	})
//	server.Start()
//
// The packages behind it: engine (the server), client (SimpleClient) and
// proto (the wire protocol and NetworkMessage). See engine's documentation
// for the concurrency contract and message lifetime.
package simpleserver

import (
	"time"

	"github.com/simpleserver-go/simpleserver/client"
	"github.com/simpleserver-go/simpleserver/engine"
	"github.com/simpleserver-go/simpleserver/proto"
)

// Server is a SimpleServer message server; see engine.Server.
type Server = engine.Server

// Client is one client connected to a Server (the seed's ConnectionClient).
type Client = engine.Client

// Config holds every server setting; see engine.Config.
type Config = engine.Config

// Option changes a Config; see engine.Option.
type Option = engine.Option

// NetworkMessage is a message: ordered named headers and a body.
type NetworkMessage = proto.Message

// PreparedMessage is a message encoded once to send to many clients.
type PreparedMessage = engine.PreparedMessage

// Room is a named group of clients to broadcast to; see engine.Room.
type Room = engine.Room

// Stats is a snapshot of a server's counters; see engine.Stats.
type Stats = engine.Stats

// Lane says what happens to a send while its client is behind; see
// engine.Lane and Reliable, Latest, Ephemeral.
type Lane = engine.Lane

// LaneStats counts what the droppable lanes dropped and replaced.
type LaneStats = engine.LaneStats

// Reliable is the default lane: queued in order, never dropped.
var Reliable = engine.Reliable

// Latest returns the lane on which a newer frame of key replaces the unsent one.
func Latest(key uint64) Lane { return engine.Latest(key) }

// Ephemeral returns the lane on which a frame not sent within ttl is dropped.
func Ephemeral(ttl time.Duration) Lane { return engine.Ephemeral(ttl) }

// SimpleClient is the client side: connect, send, read.
type SimpleClient = client.Client

// ClientOption configures a SimpleClient; see package client.
type ClientOption = client.Option

// Reconnect is the policy of WithReconnect; see client.Reconnect.
type Reconnect = client.Reconnect

// StateChange is a reconnecting client's state change (Reconnect.OnState);
// its State is one of client.StateConnected, StateReconnecting,
// StateResumed, StateNewSession, StateGaveUp, StateClosed.
type StateChange = client.StateChange

// WithReconnect makes a SimpleClient reconnect by itself and resume its
// session; see client.WithReconnect.
func WithReconnect(p Reconnect) ClientOption { return client.WithReconnect(p) }

// CloseError is what a SimpleClient reports when the server closed the
// connection with a CLOSE frame; Reason is the server's text.
type CloseError = client.CloseError

// Limits are the protocol limits a receiver applies (WithLimits).
type Limits = proto.Limits

// DefaultLimits returns the protocol's default limits.
func DefaultLimits() Limits { return proto.DefaultLimits() }

// ProtocolError is a malformed frame; OnDisconnect's reason for a client
// that sent one. Its class is one of proto's sentinels (proto.ErrMalformed...).
type ProtocolError = proto.ProtocolError

// PeerCloseError is OnDisconnect's reason when the client sent CLOSE.
type PeerCloseError = engine.PeerCloseError

// KickError is OnDisconnect's reason when server code called Client.Close.
type KickError = engine.KickError

// ListenerID identifies a listener, for RemoveListener.
type ListenerID = engine.ListenerID

// Disconnect reasons (test OnDisconnect's reason with errors.Is) and the
// errors of Server and Client methods; see engine's documentation of each.
var (
	ErrPeerGone     = engine.ErrPeerGone
	ErrPeerClosed   = engine.ErrPeerClosed
	ErrKicked       = engine.ErrKicked
	ErrSlowConsumer = engine.ErrSlowConsumer
	ErrIdleTimeout  = engine.ErrIdleTimeout
	ErrFrameTimeout = engine.ErrFrameTimeout
	ErrServerFull   = engine.ErrServerFull
	// ErrAddrLimit is the CLOSE reason of a connection refused by
	// WithMaxConnectionsPerAddr.
	ErrAddrLimit      = engine.ErrAddrLimit
	ErrServerShutdown = engine.ErrServerShutdown
	ErrListenerPanic  = engine.ErrListenerPanic
	// Sessions (WithSessionGrace): the grace ran out, or the replay
	// window (Config.SessionWindow) overflowed.
	ErrSessionExpired  = engine.ErrSessionExpired
	ErrSessionOverflow = engine.ErrSessionOverflow
	// ErrSessionEvicted: a suspended session ended early, the oldest, as
	// a newer one passed WithMaxSuspended; errors.Is(it, ErrSessionExpired).
	ErrSessionEvicted = engine.ErrSessionEvicted
	ErrProxyProtocol  = engine.ErrProxyProtocol
	ErrBrokerPublish  = engine.ErrBrokerPublish
	// ErrNoSuchClient: SendToID named a client of this node that is not here.
	ErrNoSuchClient = engine.ErrNoSuchClient

	ErrServerClosed = engine.ErrServerClosed
	ErrNotStarted   = engine.ErrNotStarted
	ErrNotManual    = engine.ErrNotManual
	ErrClientClosed = engine.ErrClientClosed
)

// NewServer returns a server for host:port; see engine.NewServer.
func NewServer(host string, port int, opts ...Option) *Server {
	return engine.NewServer(host, port, opts...)
}

// NewServerAddr returns a server for a "host:port" address (":8080",
// "127.0.0.1:0"), the form most Go servers take; see engine.NewServerAddr.
// It does not start the server.
func NewServerAddr(addr string, opts ...Option) (*Server, error) {
	return engine.NewServerAddr(addr, opts...)
}

// NewServerConfig returns a server for cfg, or the error cfg.Validate
// reports; see engine.New.
func NewServerConfig(cfg Config) (*Server, error) { return engine.New(cfg) }

// ParseAddr splits "host:port" into NewServer's host and port.
func ParseAddr(addr string) (host string, port int, err error) { return engine.ParseAddr(addr) }

// NewMessage returns an empty NetworkMessage.
func NewMessage() *NetworkMessage { return proto.NewMessage() }

// NewClient returns an unconnected SimpleClient; see client.New.
func NewClient(opts ...client.Option) *SimpleClient { return client.New(opts...) }

// NewPreparedMessage encodes m once for sending to many clients.
func NewPreparedMessage(m *NetworkMessage) (*PreparedMessage, error) {
	return engine.NewPreparedMessage(m)
}

// DefaultConfig returns the server configuration with every default.
func DefaultConfig() Config { return engine.DefaultConfig() }

// Server options, as in the seed's keyword arguments.
var (
	// WithVerbose turns debug logging on (the seed's verbose_logging).
	WithVerbose = engine.WithVerbose
	// WithTickRate sets OnUpdate calls per second (the seed's tick_rate).
	WithTickRate = engine.WithTickRate
	// WithManualUpdate selects manual update mode (the seed's manual_update).
	WithManualUpdate = engine.WithManualUpdate
	// WithLogger sends the server's logs to a *slog.Logger.
	WithLogger = engine.WithLogger
	// WithInline runs listeners on the event loops (fastest; see engine docs).
	WithInline = engine.WithInline
	// WithEventLoops sets the number of event loops.
	WithEventLoops = engine.WithEventLoops
	// WithSessionGrace turns sessions on: a client that asks for one
	// resumes after a reconnect within grace, with nothing lost.
	WithSessionGrace = engine.WithSessionGrace
	// WithMaxSuspended caps the sessions suspended at once (default: the
	// effective MaxConnections); the oldest ends first.
	WithMaxSuspended = engine.WithMaxSuspended
	// WithLimits sets the protocol limits for clients' frames (a Limits;
	// zero fields keep their defaults).
	WithLimits = engine.WithLimits
	// WithTrustedProxies turns the PROXY protocol on for those prefixes.
	WithTrustedProxies = engine.WithTrustedProxies
	// WithMaxConnectionsPerAddr caps the clients one address may hold.
	WithMaxConnectionsPerAddr = engine.WithMaxConnectionsPerAddr
	// WithAcceptRate caps new connections accepted per second.
	WithAcceptRate = engine.WithAcceptRate
	// WithWebSocket accepts WebSocket clients on /ws of the same port.
	WithWebSocket = engine.WithWebSocket
	// WithHTTPPage serves a small static page to plain HTTP GETs of a path.
	WithHTTPPage = engine.WithHTTPPage
	// AnyOrigin is a WebSocketConfig.CheckOrigin allowing every origin.
	AnyOrigin = engine.AnyOrigin
	// WithBroker joins the server to a cluster (see broker/natsbroker).
	WithBroker = engine.WithBroker
	// WithNodeID sets the server's node ID in a cluster.
	WithNodeID = engine.WithNodeID
	// WithLegacyClients serves clients of the original Python library,
	// unmodified, on the same port (see engine.Config.LegacyClients).
	WithLegacyClients = engine.WithLegacyClients
)

// Transport is what a client speaks (Client.Transport): TransportV1,
// TransportWebSocket or TransportLegacy.
type Transport = engine.Transport

// The transports; see engine.Transport.
const (
	TransportV1        = engine.TransportV1
	TransportWebSocket = engine.TransportWebSocket
	TransportLegacy    = engine.TransportLegacy
)

// WebSocketConfig configures WebSocket clients; see engine.WebSocketConfig.
type WebSocketConfig = engine.WebSocketConfig

// HTTPPage is a static response to plain HTTP GETs; see engine.HTTPPage.
type HTTPPage = engine.HTTPPage

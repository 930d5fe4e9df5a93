package engine

import (
	"errors"
	"strings"
)

// Errors returned by Server and Client methods.
var (
	// ErrServerClosed is returned by Start, StartAsync and the send methods
	// once Stop has begun, and by Start/StartAsync on a server started before.
	ErrServerClosed = errors.New("simpleserver: server closed")
	// ErrNotStarted is returned by Stop and Update on a server never started.
	ErrNotStarted = errors.New("simpleserver: server not started")
	// ErrNotManual is returned by Update when the server runs its own loop.
	ErrNotManual = errors.New("simpleserver: Update needs manual update mode")
	// ErrClientClosed is returned when sending to a client that has
	// disconnected or is being disconnected.
	ErrClientClosed = errors.New("simpleserver: client closed")
)

// Disconnect reasons. OnDisconnect receives an error that is, or wraps, one
// of these (or a *proto.ProtocolError); test it with errors.Is. The README's
// "Disconnect reasons" table lists them with the limit that causes each.
var (
	// ErrPeerGone: the client closed the TCP connection (EOF or reset)
	// without sending CLOSE.
	ErrPeerGone = errors.New("client closed the connection")
	// ErrPeerClosed: the client sent CLOSE. The error is a *PeerCloseError
	// carrying the client's reason.
	ErrPeerClosed = errors.New("client sent CLOSE")
	// ErrKicked: server code called Client.Close; the error is a *KickError
	// carrying the reason given.
	ErrKicked = errors.New("closed by the server")
	// ErrSlowConsumer: more than Config.MaxOutboundBytes were queued to the
	// client; it was not reading fast enough.
	ErrSlowConsumer = errors.New("slow consumer")
	// ErrIdleTimeout: the client answered nothing (not even a PONG) within
	// Config.PingTimeout of a PING.
	ErrIdleTimeout = errors.New("idle timeout")
	// ErrFrameTimeout: a frame the client started did not complete within
	// Config.FrameTimeout (slowloris).
	ErrFrameTimeout = errors.New("frame timeout")
	// ErrServerFull: Config.MaxConnections clients were connected already.
	// Such clients never reach OnConnection or OnDisconnect.
	ErrServerFull = errors.New("server full")
	// ErrAddrLimit: Config.MaxConnectionsPerAddr clients from the same
	// address were connected already. Such clients never reach
	// OnConnection or OnDisconnect either.
	ErrAddrLimit = errors.New("too many connections from your address")
	// ErrServerShutdown: the server is stopping.
	ErrServerShutdown = errors.New("server shutting down")
	// ErrListenerPanic: an OnConnection or OnMessage listener panicked while
	// handling this client, so the client was disconnected.
	ErrListenerPanic = errors.New("listener panicked")
	// ErrProxyProtocol: Config.ProxyProtocol is on and the connection's
	// PROXY protocol header was missing, malformed, or sent from an address
	// that is not trusted. Such clients never reach OnConnection.
	ErrProxyProtocol = errors.New("proxy protocol")
)

// PeerCloseError is the disconnect reason when a client sent a CLOSE frame.
type PeerCloseError struct {
	// Reason is the text the client put in its CLOSE frame.
	Reason string
	// Code is a WebSocket client's close status code (1005 when its close
	// frame had none); 0 for protocol v1 clients.
	Code int
}

// Error returns "client sent CLOSE: <reason>".
func (e *PeerCloseError) Error() string { return withReason(ErrPeerClosed, e.Reason) }

// Unwrap returns ErrPeerClosed.
func (e *PeerCloseError) Unwrap() error { return ErrPeerClosed }

// KickError is the disconnect reason when server code called Client.Close.
type KickError struct {
	// Reason is the text given to Client.Close, also sent to the client.
	Reason string
}

// Error returns "closed by the server: <reason>".
func (e *KickError) Error() string { return withReason(ErrKicked, e.Reason) }

// Unwrap returns ErrKicked.
func (e *KickError) Unwrap() error { return ErrKicked }

func withReason(sentinel error, reason string) string {
	if reason == "" {
		return sentinel.Error()
	}
	var b strings.Builder
	b.WriteString(sentinel.Error())
	b.WriteString(": ")
	b.WriteString(reason)
	return b.String()
}

package client

import "errors"

// Sentinel errors returned by the Client. Errors that carry more detail wrap
// one of them, so test them with errors.Is. (A protocol error from the
// server wraps its *proto.ProtocolError instead, whose class is one of
// proto's sentinels, such as proto.ErrFrameTooLarge.)
var (
	// ErrNotConnected is returned by Send, SendRaw, Receive and Ping before
	// Connect has succeeded.
	ErrNotConnected = errors.New("client: not connected")

	// ErrAlreadyConnected is returned by Connect on a Client that is
	// connecting or has been connected. A Client makes one connection in its
	// life: after that connection ends, create a new Client.
	ErrAlreadyConnected = errors.New("client: already connected")

	// ErrClosed is returned by every method that needs the connection after
	// Close was called, and is what Err reports for a connection ended by
	// Close.
	ErrClosed = errors.New("client: closed")

	// ErrServerClosed is matched (errors.Is) by every *CloseError: the server
	// ended the connection with a CLOSE frame.
	ErrServerClosed = errors.New("client: server closed the connection")

	// ErrConnectionLost reports a connection that ended without a CLOSE
	// frame: the server vanished (EOF, reset) or a write failed or timed
	// out. The error returned wraps the underlying network error as well.
	ErrConnectionLost = errors.New("client: connection lost")

	// ErrKeepAliveTimeout reports a server that sent nothing at all for the
	// keep-alive timeout after the client pinged it (see WithKeepAlive).
	ErrKeepAliveTimeout = errors.New("client: keep-alive timeout")

	// ErrNilMessage is returned by Send when given a nil message.
	ErrNilMessage = errors.New("client: nil message")
)

// CloseError is the error that ends a connection the server closed with a
// CLOSE frame. Reason is the server's UTF-8 reason, as sent.
//
// errors.Is(err, ErrServerClosed) reports whether err is a *CloseError.
type CloseError struct {
	// Reason is the text the server put in its CLOSE frame (may be empty).
	Reason string
}

// Error returns "client: server closed the connection: <reason>".
func (e *CloseError) Error() string {
	if e.Reason == "" {
		return ErrServerClosed.Error()
	}
	return ErrServerClosed.Error() + ": " + e.Reason
}

// Is reports whether target is ErrServerClosed, so that
// errors.Is(err, ErrServerClosed) holds for every CloseError.
func (e *CloseError) Is(target error) bool { return target == ErrServerClosed }

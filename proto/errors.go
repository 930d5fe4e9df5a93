package proto

import "errors"

// Sentinel errors for every class of protocol error. Decoding functions
// return a *ProtocolError that wraps one of them, so callers test the class
// with errors.Is and get a human-readable detail from Error().
var (
	// ErrEmptyFrame: a frame's length prefix is 0 (every payload holds a kind byte).
	ErrEmptyFrame = errors.New("empty frame")
	// ErrFrameTooLarge: a frame's length exceeds the receiver's MaxFrameSize.
	ErrFrameTooLarge = errors.New("frame too large")
	// ErrUnknownKind: the payload's kind byte is not one of protocol v1's.
	ErrUnknownKind = errors.New("unknown frame kind")
	// ErrMalformed: a count or length runs past the payload, or a varint is
	// overlong or overflows.
	ErrMalformed = errors.New("malformed message")
	// ErrTooManyHeaders: a message declares more headers than MaxHeaders.
	ErrTooManyHeaders = errors.New("too many headers")
	// ErrBadHeaderName: a header name is empty or longer than MaxHeaderName.
	ErrBadHeaderName = errors.New("bad header name")
	// ErrPingTooLarge: a PING carries more than MaxPingPayload bytes.
	ErrPingTooLarge = errors.New("ping payload too large")
)

// ProtocolError reports a frame that breaks the protocol. Its Error text is
// short and meant to be sent to the peer as a CLOSE reason.
type ProtocolError struct {
	// Err is the sentinel naming the class of error, e.g. ErrFrameTooLarge.
	Err error
	// Detail says what exactly was wrong, e.g. "length 2000000 > max 1048576".
	Detail string
}

// Error returns "protocol error: <class>: <detail>".
func (e *ProtocolError) Error() string {
	if e.Detail == "" {
		return "protocol error: " + e.Err.Error()
	}
	return "protocol error: " + e.Err.Error() + ": " + e.Detail
}

// Unwrap returns the sentinel, so errors.Is(err, ErrFrameTooLarge) works.
func (e *ProtocolError) Unwrap() error { return e.Err }

func protoErr(sentinel error, detail string) error {
	return &ProtocolError{Err: sentinel, Detail: detail}
}

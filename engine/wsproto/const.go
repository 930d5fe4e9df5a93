package wsproto

import "errors"

// Opcode is a frame's opcode (RFC 6455 §5.2).
type Opcode byte

// Opcodes. The others (3-7, 0xB-0xF) are reserved and a protocol error.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// IsControl reports whether op is a control opcode (close, ping, pong).
func (op Opcode) IsControl() bool { return op&0x8 != 0 }

// Close status codes (RFC 6455 §7.4.1) that this package and its users send.
const (
	CloseNormal          = 1000
	CloseGoingAway       = 1001
	CloseProtocolError   = 1002
	CloseUnsupportedData = 1003
	CloseNoStatus        = 1005 // never on the wire: a close frame with no code
	CloseAbnormal        = 1006 // never on the wire: no close frame at all
	CloseInvalidPayload  = 1007
	ClosePolicyViolation = 1008
	CloseTooBig          = 1009
	CloseInternalError   = 1011
	CloseTryAgainLater   = 1013
	// CloseApplication is the first private code; 4000-4999 are the
	// application's own.
	CloseApplication = 4000
)

// MaxControlPayload is the largest payload of a control frame.
const MaxControlPayload = 125

// MaxCloseReason is the longest close reason: a control payload less the
// 2-byte status code.
const MaxCloseReason = MaxControlPayload - 2

// MaxHeaderSize is the largest frame header: 2 bytes, 8 of extended
// length, 4 of mask key.
const MaxHeaderSize = 14

// GUID is the key suffix of the accept hash (RFC 6455 §1.3).
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Errors. Each frame error carries the close code to answer it with; get it
// with CloseCode.
var (
	ErrReservedBits     = &Error{CloseProtocolError, "reserved bits set"}
	ErrReservedOpcode   = &Error{CloseProtocolError, "reserved opcode"}
	ErrFragmentedCtrl   = &Error{CloseProtocolError, "fragmented control frame"}
	ErrControlTooLong   = &Error{CloseProtocolError, "control frame payload over 125 bytes"}
	ErrLengthOverflow   = &Error{CloseProtocolError, "64-bit length with the top bit set"}
	ErrNotMasked        = &Error{CloseProtocolError, "client frame not masked"}
	ErrMasked           = &Error{CloseProtocolError, "server frame masked"}
	ErrBadContinuation  = &Error{CloseProtocolError, "continuation frame without a message"}
	ErrExpectedContinue = &Error{CloseProtocolError, "new data frame inside a fragmented message"}
	ErrMessageTooBig    = &Error{CloseTooBig, "message too big"}
	ErrInvalidUTF8      = &Error{CloseInvalidPayload, "invalid UTF-8 in text"}
	ErrBadClosePayload  = &Error{CloseProtocolError, "close payload of 1 byte"}
	ErrBadCloseCode     = &Error{CloseProtocolError, "invalid close code"}
	ErrBadCloseReason   = &Error{CloseInvalidPayload, "close reason is not UTF-8"}
)

// Handshake errors; see ParseRequest and CheckUpgrade.
var (
	ErrRequestTooLarge = errors.New("wsproto: request head too large")
	ErrBadRequest      = errors.New("wsproto: malformed HTTP request")
)

// Error is a WebSocket protocol violation and the close code it calls for.
type Error struct {
	Code int
	Msg  string
}

// Error returns "websocket: <msg>".
func (e *Error) Error() string { return "websocket: " + e.Msg }

// CloseCode returns the close code err calls for: its own for an *Error,
// CloseProtocolError for anything else.
func CloseCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CloseProtocolError
}

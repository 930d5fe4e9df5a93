package proto

// Kind is the first byte of a frame's payload and says what the frame is.
type Kind uint8

// The frame kinds of protocol version 1. Any other kind is a protocol error.
const (
	// KindMessage carries a NetworkMessage: headers and a body.
	KindMessage Kind = 0x00
	// KindPing asks the peer to answer with a PONG carrying the same bytes.
	KindPing Kind = 0x01
	// KindPong answers a PING.
	KindPong Kind = 0x02
	// KindClose carries a UTF-8 reason; its sender closes the connection next.
	KindClose Kind = 0x03
)

// String returns the protocol's name for k.
func (k Kind) String() string {
	switch k {
	case KindMessage:
		return "MESSAGE"
	case KindPing:
		return "PING"
	case KindPong:
		return "PONG"
	case KindClose:
		return "CLOSE"
	case KindHello:
		return "HELLO"
	case KindWelcome:
		return "WELCOME"
	case KindAck:
		return "ACK"
	}
	return "UNKNOWN"
}

const (
	// LengthSize is the size of the length prefix that starts every frame.
	LengthSize = 4

	// DefaultMaxFrameSize is the default largest payload a receiver accepts (1 MiB).
	DefaultMaxFrameSize = 1 << 20
	// DefaultMaxHeaders is the default largest number of headers in one message.
	DefaultMaxHeaders = 64
	// DefaultMaxHeaderName is the default longest header name, in bytes.
	DefaultMaxHeaderName = 255

	// MaxPingPayload is the largest PING payload (after the kind byte).
	// It keeps a PONG small enough to never be worth buffering.
	MaxPingPayload = 125

	// MaxFrameSizeLimit is the largest MaxFrameSize a Limits may set: the
	// length prefix is a uint32, and a gigabyte frame is never a message.
	MaxFrameSizeLimit = 1 << 30
)

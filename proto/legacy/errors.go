package legacy

import (
	"errors"
	"fmt"

	"github.com/simpleserver-go/simpleserver/proto"
)

// MaxMessageSize is the most bytes one legacy message may take, in either
// direction: the original client and server read with recv(1024) and take
// each read as one whole message.
const MaxMessageSize = 1024

// Decoding errors. Decode returns a *proto.ProtocolError whose Err is one of
// these (they wrap proto.ErrMalformed), or one of proto's own sentinels
// (proto.ErrFrameTooLarge, proto.ErrTooManyHeaders, proto.ErrBadHeaderName).
var (
	// ErrInvalidUTF8: the bytes are not UTF-8 text (the original decoder
	// raises UnicodeDecodeError).
	ErrInvalidUTF8 = fmt.Errorf("%w: legacy message is not valid UTF-8", proto.ErrMalformed)
	// ErrNoBody: a message starting with "$" has no "%" to start its body
	// (the original decoder raises IndexError).
	ErrNoBody = fmt.Errorf("%w: legacy message has no '%%' before its body", proto.ErrMalformed)
	// ErrNoColon: a header has no ":" between its name and value (the
	// original decoder raises IndexError).
	ErrNoColon = fmt.Errorf("%w: legacy header has no ':'", proto.ErrMalformed)
)

// ErrUnrepresentable is wrapped by every error of Append: the message cannot
// be sent to an original client without arriving changed.
var ErrUnrepresentable = errors.New("legacy format cannot carry this message")

func protoErr(sentinel error, detail string) error {
	return &proto.ProtocolError{Err: sentinel, Detail: detail}
}

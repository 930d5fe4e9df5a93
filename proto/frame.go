package proto

import (
	"encoding/binary"
	"strconv"
)

// FrameSize inspects the start of a byte stream and returns the size of the
// frame there, length prefix included. It returns 0 when fewer than
// LengthSize bytes are available, and a *ProtocolError when the length is 0
// or exceeds maxFrame (DefaultMaxFrameSize if maxFrame <= 0): a receiver can
// reject an oversized frame from its first four bytes, before buffering it.
func FrameSize(b []byte, maxFrame int) (int, error) {
	if len(b) < LengthSize {
		return 0, nil
	}
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrameSize
	}
	n := binary.BigEndian.Uint32(b)
	if n == 0 {
		return 0, protoErr(ErrEmptyFrame, "")
	}
	if uint64(n) > uint64(maxFrame) {
		return 0, protoErr(ErrFrameTooLarge, "length "+strconv.FormatUint(uint64(n), 10)+" > max "+strconv.Itoa(maxFrame))
	}
	return LengthSize + int(n), nil
}

// Split returns the payload of the complete frame at the start of b and the
// number of bytes it occupies. When b holds no complete frame yet it returns
// (nil, 0, nil): read more and call again. payload aliases b.
func Split(b []byte, maxFrame int) (payload []byte, n int, err error) {
	size, err := FrameSize(b, maxFrame)
	if err != nil || size == 0 || len(b) < size {
		return nil, 0, err
	}
	return b[LengthSize:size:size], size, nil
}

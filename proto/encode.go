package proto

import (
	"encoding/binary"
	"strconv"
)

// MaxHeaderNameLen is the longest header name the protocol can carry
// (receivers may set a lower MaxHeaderName).
const MaxHeaderNameLen = 255

// AppendFrame appends m, encoded as a complete MESSAGE frame (length prefix
// included), to dst and returns the extended slice. It does not allocate when
// dst has room. It fails, leaving dst's contents unchanged, when a header name
// is empty or longer than MaxHeaderNameLen, or the frame would exceed
// MaxFrameSizeLimit.
func AppendFrame(dst []byte, m *Message) ([]byte, error) {
	for _, h := range m.hdrs {
		if h.name.n == 0 || h.name.n > MaxHeaderNameLen {
			return dst, protoErr(ErrBadHeaderName, "name length "+strconv.Itoa(int(h.name.n))+" not in 1.."+strconv.Itoa(MaxHeaderNameLen))
		}
	}
	size := m.PayloadSize()
	if size > MaxFrameSizeLimit {
		return dst, protoErr(ErrFrameTooLarge, "payload "+strconv.Itoa(size)+" > "+strconv.Itoa(MaxFrameSizeLimit))
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(size))
	dst = append(dst, byte(KindMessage))
	dst = binary.AppendUvarint(dst, uint64(len(m.hdrs)))
	for _, h := range m.hdrs {
		dst = binary.AppendUvarint(dst, uint64(h.name.n))
		dst = append(dst, m.bytes(h.name)...)
		dst = binary.AppendUvarint(dst, uint64(h.value.n))
		dst = append(dst, m.bytes(h.value)...)
	}
	return append(dst, m.body...), nil
}

// AppendRawFrame appends a headerless MESSAGE frame whose body is body: how
// raw bytes travel. It fails only when body is too large for one frame.
func AppendRawFrame(dst, body []byte) ([]byte, error) {
	if len(body)+2 > MaxFrameSizeLimit {
		return dst, protoErr(ErrFrameTooLarge, "payload "+strconv.Itoa(len(body)+2)+" > "+strconv.Itoa(MaxFrameSizeLimit))
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)+2))
	dst = append(dst, byte(KindMessage), 0)
	return append(dst, body...), nil
}

// AppendPing appends a PING frame carrying data, truncated to MaxPingPayload bytes.
func AppendPing(dst, data []byte) []byte {
	return appendControl(dst, KindPing, truncate(data, MaxPingPayload))
}

// AppendPong appends a PONG frame carrying data (a PING's payload).
func AppendPong(dst, data []byte) []byte { return appendControl(dst, KindPong, data) }

// MaxCloseReason is the longest CLOSE reason AppendClose writes; longer
// reasons are cut (at a UTF-8 boundary) so a CLOSE always fits any receiver.
const MaxCloseReason = 1000

// AppendClose appends a CLOSE frame with a UTF-8 reason (cut to MaxCloseReason bytes).
func AppendClose(dst []byte, reason string) []byte {
	if len(reason) > MaxCloseReason {
		cut := MaxCloseReason
		for cut > 0 && reason[cut]&0xC0 == 0x80 { // do not split a rune
			cut--
		}
		reason = reason[:cut]
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(reason)+1))
	dst = append(dst, byte(KindClose))
	return append(dst, reason...)
}

func appendControl(dst []byte, k Kind, data []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(data)+1))
	dst = append(dst, byte(k))
	return append(dst, data...)
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

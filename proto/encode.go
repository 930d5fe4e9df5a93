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
	size, err := m.encodable()
	if err != nil {
		return dst, err
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(size))
	return m.appendPayload(dst), nil
}

// AppendPayload appends m's MESSAGE payload (kind byte, headers, body)
// without the length prefix: for transports that frame payloads themselves
// (WebSocket). It fails as AppendFrame does; m.PayloadSize() is its size.
func AppendPayload(dst []byte, m *Message) ([]byte, error) {
	if _, err := m.encodable(); err != nil {
		return dst, err
	}
	return m.appendPayload(dst), nil
}

// encodable checks m's header names and size and returns its payload size.
func (m *Message) encodable() (int, error) {
	for _, h := range m.hdrs {
		if h.name.n == 0 || h.name.n > MaxHeaderNameLen {
			return 0, protoErr(ErrBadHeaderName, "name length "+strconv.Itoa(int(h.name.n))+" not in 1.."+strconv.Itoa(MaxHeaderNameLen))
		}
	}
	size := m.PayloadSize()
	if size > MaxFrameSizeLimit {
		return 0, protoErr(ErrFrameTooLarge, "payload "+strconv.Itoa(size)+" > "+strconv.Itoa(MaxFrameSizeLimit))
	}
	return size, nil
}

func (m *Message) appendPayload(dst []byte) []byte {
	dst = append(dst, byte(KindMessage))
	dst = binary.AppendUvarint(dst, uint64(len(m.hdrs)))
	for _, h := range m.hdrs {
		dst = binary.AppendUvarint(dst, uint64(h.name.n))
		dst = append(dst, m.bytes(h.name)...)
		dst = binary.AppendUvarint(dst, uint64(h.value.n))
		dst = append(dst, m.bytes(h.value)...)
	}
	return append(dst, m.body...)
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

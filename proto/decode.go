package proto

import (
	"encoding/binary"
	"strconv"
)

// ParsePayload decodes one frame payload (the bytes after the length prefix).
// It returns the frame's kind and, for control frames, the bytes after the
// kind byte (PING/PONG data, CLOSE reason), which alias payload. For a
// MESSAGE it decodes into m (which must not be nil) and returns rest == nil.
// Any protocol violation is a *ProtocolError.
func ParsePayload(payload []byte, m *Message, lim *Limits) (kind Kind, rest []byte, err error) {
	if len(payload) == 0 {
		return 0, nil, protoErr(ErrEmptyFrame, "")
	}
	kind, rest = Kind(payload[0]), payload[1:]
	switch kind {
	case KindMessage:
		return kind, nil, m.Decode(rest, lim)
	case KindPing:
		if len(rest) > MaxPingPayload {
			return kind, nil, protoErr(ErrPingTooLarge, strconv.Itoa(len(rest))+" > "+strconv.Itoa(MaxPingPayload)+" bytes")
		}
		return kind, rest, nil
	case KindPong, KindClose:
		return kind, rest, nil
	}
	return kind, nil, protoErr(ErrUnknownKind, "kind 0x"+strconv.FormatUint(uint64(kind), 16))
}

// Decode fills m from the body of a MESSAGE payload: everything after the kind
// byte. m references rest instead of copying it. lim may be nil for the
// defaults; a MaxHeaderName above MaxHeaderNameLen counts as MaxHeaderNameLen.
// On error m is left empty.
func (m *Message) Decode(rest []byte, lim *Limits) error {
	maxHeaders, maxName := DefaultMaxHeaders, DefaultMaxHeaderName
	if lim != nil {
		if lim.MaxHeaders > 0 {
			maxHeaders = lim.MaxHeaders
		}
		if lim.MaxHeaderName > 0 {
			// A name longer than MaxHeaderNameLen could not be re-encoded
			// (AppendFrame rejects it), so no limit may admit one.
			maxName = min(lim.MaxHeaderName, MaxHeaderNameLen)
		}
	}
	m.hdrs = m.hdrs[:0]
	m.body = nil
	m.buf = rest
	m.owned = false

	count, p, err := readUvarint(rest, 0, "header count")
	if err != nil {
		return m.fail(err)
	}
	if count > uint64(maxHeaders) {
		return m.fail(protoErr(ErrTooManyHeaders, strconv.FormatUint(count, 10)+" > "+strconv.Itoa(maxHeaders)))
	}
	// Every header takes at least 2 bytes: catches absurd counts before looping.
	if count*2 > uint64(len(rest)-p) {
		return m.fail(protoErr(ErrMalformed, "header count "+strconv.FormatUint(count, 10)+" runs past the payload"))
	}
	for i := uint64(0); i < count; i++ {
		var nl, vl uint64
		if nl, p, err = readUvarint(rest, p, "header name length"); err != nil {
			return m.fail(err)
		}
		if nl == 0 || nl > uint64(maxName) {
			return m.fail(protoErr(ErrBadHeaderName, "name length "+strconv.FormatUint(nl, 10)+" not in 1.."+strconv.Itoa(maxName)))
		}
		if nl > uint64(len(rest)-p) {
			return m.fail(protoErr(ErrMalformed, "header name runs past the payload"))
		}
		name := span{uint32(p), uint32(nl)}
		p += int(nl)
		if vl, p, err = readUvarint(rest, p, "header value length"); err != nil {
			return m.fail(err)
		}
		if vl > uint64(len(rest)-p) {
			return m.fail(protoErr(ErrMalformed, "header value runs past the payload"))
		}
		m.hdrs = append(m.hdrs, header{name, span{uint32(p), uint32(vl)}})
		p += int(vl)
	}
	m.body = rest[p:len(rest):len(rest)]
	return nil
}

func (m *Message) fail(err error) error {
	m.hdrs = m.hdrs[:0]
	m.body = nil
	m.buf = m.arena[:0]
	m.owned = true
	return err
}

// readUvarint decodes the uvarint at b[p:]. It accepts only the shortest
// encoding of each value, so that every accepted payload re-encodes to
// exactly the same bytes.
func readUvarint(b []byte, p int, what string) (uint64, int, error) {
	if p < len(b) && b[p] < 0x80 { // fast path: one byte
		return uint64(b[p]), p + 1, nil
	}
	v, n := binary.Uvarint(b[p:])
	switch {
	case n == 0:
		return 0, p, protoErr(ErrMalformed, what+" runs past the payload")
	case n < 0:
		return 0, p, protoErr(ErrMalformed, what+" overflows 64 bits")
	case n != uvarintLen(v):
		return 0, p, protoErr(ErrMalformed, what+" is not minimally encoded")
	}
	return v, p + n, nil
}

package wsproto

import "encoding/binary"

// Header is a frame header (RFC 6455 §5.2).
type Header struct {
	Fin    bool
	Rsv    byte // the three reserved bits, as bits 0-2
	Op     Opcode
	Masked bool
	Key    [4]byte // the mask key, when Masked
	Length int64   // payload length
}

// ParseHeader parses the frame header at the start of b. It returns the
// header and its size, or n == 0 and no error when b holds only part of
// it: call again with more bytes. It rejects what no frame may carry
// (reserved bits and opcodes, fragmented or long control frames, a 64-bit
// length with the top bit set) from the first bytes that show it; masking
// and size limits depend on the reader and are checked by the caller.
func ParseHeader(b []byte) (h Header, n int, err error) {
	if len(b) < 2 {
		return h, 0, nil
	}
	b0, b1 := b[0], b[1]
	h.Fin = b0&0x80 != 0
	h.Rsv = (b0 >> 4) & 0x7
	h.Op = Opcode(b0 & 0x0F)
	h.Masked = b1&0x80 != 0
	if h.Rsv != 0 {
		return h, 0, ErrReservedBits
	}
	switch h.Op {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
	default:
		return h, 0, ErrReservedOpcode
	}
	n = 2
	switch l := b1 & 0x7F; l {
	case 126:
		n += 2
	case 127:
		n += 8
	default:
		h.Length = int64(l)
	}
	if h.Op.IsControl() {
		if !h.Fin {
			return h, 0, ErrFragmentedCtrl
		}
		if b1&0x7F > MaxControlPayload {
			return h, 0, ErrControlTooLong
		}
	}
	if h.Masked {
		n += 4
	}
	if len(b) < n {
		return h, 0, nil
	}
	switch b1 & 0x7F {
	case 126:
		h.Length = int64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		v := binary.BigEndian.Uint64(b[2:])
		if v>>63 != 0 {
			return h, 0, ErrLengthOverflow
		}
		h.Length = int64(v)
	}
	if h.Masked {
		copy(h.Key[:], b[n-4:n])
	}
	return h, n, nil
}

// HeaderSize returns the size of a header for a payload of length bytes.
func HeaderSize(length int, masked bool) int {
	n := 2
	switch {
	case length > 0xFFFF:
		n += 8
	case length > 125:
		n += 2
	}
	if masked {
		n += 4
	}
	return n
}

// AppendHeader appends a frame header with FIN set as fin says, opcode op
// and payload length length. A server passes key nil (server frames are
// never masked); a client passes its 4-byte key and then masks the payload
// with Mask.
func AppendHeader(dst []byte, fin bool, op Opcode, length int, key []byte) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	var m byte
	if key != nil {
		m = 0x80
	}
	switch {
	case length > 0xFFFF:
		dst = append(dst, b0, m|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(length))
	case length > 125:
		dst = append(dst, b0, m|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(length))
	default:
		dst = append(dst, b0, m|byte(length))
	}
	if key != nil {
		dst = append(dst, key[:4]...)
	}
	return dst
}

// Mask XORs b in place with key, starting at offset pos of the payload
// (pass the count of payload bytes already masked), and returns the next
// offset. Masking twice unmasks.
func Mask(b []byte, key [4]byte, pos int) int {
	k := [4]byte{key[pos&3], key[(pos+1)&3], key[(pos+2)&3], key[(pos+3)&3]}
	if len(b) >= 16 {
		k8 := uint64(binary.LittleEndian.Uint32(k[:]))
		k8 |= k8 << 32
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k8)
			b = b[8:]
			pos += 8
		}
	}
	for i := range b {
		b[i] ^= k[i&3]
	}
	return pos + len(b)
}

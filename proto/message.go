package proto

import "iter"

// span locates a run of bytes inside Message.buf.
type span struct{ off, n uint32 }

type header struct{ name, value span }

// Message is a NetworkMessage: an ordered list of named headers, each with an
// optional value, and a body. Headers need not be unique; lookups return the
// first match. A header "without a value" has an empty value.
//
// The zero Message is empty and ready to use. A Message is not safe for
// concurrent mutation. A Message filled by Decode references the decoded
// payload (no copy); it stays valid only while that payload does, so call
// Clone to keep it. Adding headers or setting the body never modifies the
// decoded payload.
type Message struct {
	buf     []byte // bytes the headers point into: a decoded payload, or arena
	hdrs    []header
	body    []byte
	owned   bool   // buf is arena, so AddHeader may append to it
	arena   []byte // storage this Message owns, reused across Reset
	bodyBuf []byte // body storage this Message owns, reused across Reset
}

// NewMessage returns an empty message.
func NewMessage() *Message { return &Message{} }

// Reset empties m for reuse, keeping its storage.
func (m *Message) Reset() {
	m.hdrs = m.hdrs[:0]
	m.body = nil
	m.buf = m.arena[:0]
	m.owned = true
}

// own makes buf writable storage of m's own, copying the header bytes of a
// decoded message so that appending never writes into someone's payload.
func (m *Message) own() {
	if m.owned {
		return
	}
	end := uint32(0)
	if k := len(m.hdrs); k > 0 {
		v := m.hdrs[k-1].value
		end = v.off + v.n
	}
	m.arena = append(m.arena[:0], m.buf[:end]...)
	m.buf = m.arena
	m.owned = true
}

func (m *Message) appendSpan(b []byte) span {
	s := span{off: uint32(len(m.buf)), n: uint32(len(b))}
	m.buf = append(m.buf, b...)
	m.arena = m.buf
	return s
}

func (m *Message) appendSpanString(b string) span {
	s := span{off: uint32(len(m.buf)), n: uint32(len(b))}
	m.buf = append(m.buf, b...)
	m.arena = m.buf
	return s
}

// AddHeader appends a header. Pass "" as value for a header without a value.
// Names must be 1..255 bytes; an invalid name is reported when the message is
// encoded. AddHeader returns m so calls can be chained.
func (m *Message) AddHeader(name, value string) *Message {
	m.own()
	n := m.appendSpanString(name)
	v := m.appendSpanString(value)
	m.hdrs = append(m.hdrs, header{n, v})
	return m
}

// AddHeaderBytes is AddHeader for byte slices; it copies name and value.
func (m *Message) AddHeaderBytes(name, value []byte) *Message {
	m.own()
	n := m.appendSpan(name)
	v := m.appendSpan(value)
	m.hdrs = append(m.hdrs, header{n, v})
	return m
}

func (m *Message) bytes(s span) []byte { return m.buf[s.off : s.off+s.n : s.off+s.n] }

// NumHeaders returns the number of headers.
func (m *Message) NumHeaders() int { return len(m.hdrs) }

// HeaderAt returns the i'th header's name and value, in the order added or
// received. It panics if i is out of range. The slices alias m: do not modify
// them.
func (m *Message) HeaderAt(i int) (name, value []byte) {
	h := m.hdrs[i]
	return m.bytes(h.name), m.bytes(h.value)
}

// Headers iterates over the headers in order:
//
//	for name, value := range msg.Headers() { ... }
//
// The slices alias m and are valid as long as m is.
func (m *Message) Headers() iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		for _, h := range m.hdrs {
			if !yield(m.bytes(h.name), m.bytes(h.value)) {
				return
			}
		}
	}
}

// Header returns the value of the first header called name, and whether
// there is one. The value aliases m: copy it to keep it. It does not allocate.
func (m *Message) Header(name string) (value []byte, ok bool) {
	for _, h := range m.hdrs {
		if string(m.bytes(h.name)) == name {
			return m.bytes(h.value), true
		}
	}
	return nil, false
}

// HeaderString is Header with the value copied into a string.
func (m *Message) HeaderString(name string) (value string, ok bool) {
	v, ok := m.Header(name)
	return string(v), ok
}

// HasHeader reports whether m has a header called name.
func (m *Message) HasHeader(name string) bool {
	_, ok := m.Header(name)
	return ok
}

// SetBody sets the body to a copy of b.
func (m *Message) SetBody(b []byte) *Message {
	m.bodyBuf = append(m.bodyBuf[:0], b...)
	m.body = m.bodyBuf
	return m
}

// SetBodyString sets the body to the bytes of s.
func (m *Message) SetBodyString(s string) *Message {
	m.bodyBuf = append(m.bodyBuf[:0], s...)
	m.body = m.bodyBuf
	return m
}

// Body returns the body; it is empty, never nil-vs-empty significant, when
// the message has none. The slice aliases m: copy it to keep it.
func (m *Message) Body() []byte { return m.body }

// BodyString returns a copy of the body as a string ("" when there is none).
func (m *Message) BodyString() string { return string(m.body) }

// Clone returns a deep copy of m that owns all its bytes.
func (m *Message) Clone() *Message {
	c := &Message{}
	m.CopyTo(c)
	return c
}

// CopyTo makes dst a deep copy of m, reusing dst's storage; with warmed-up
// storage it does not allocate. m.CopyTo(m) makes m own all its bytes, so it
// stays valid after the payload it was decoded from is reused.
func (m *Message) CopyTo(dst *Message) {
	if dst == m {
		// Make m own everything it references: its header bytes and,
		// for a decoded message, its body, which still aliases the payload.
		m.own()
		if m.body != nil {
			m.SetBody(m.body)
		}
		return
	}
	dst.Reset()
	for _, h := range m.hdrs {
		n := dst.appendSpan(m.bytes(h.name))
		v := dst.appendSpan(m.bytes(h.value))
		dst.hdrs = append(dst.hdrs, header{n, v})
	}
	if m.body != nil {
		dst.SetBody(m.body)
	}
}

// PayloadSize returns the size of m's MESSAGE payload (kind byte included),
// which is the frame size minus LengthSize.
func (m *Message) PayloadSize() int {
	n := 1 + uvarintLen(uint64(len(m.hdrs)))
	for _, h := range m.hdrs {
		n += uvarintLen(uint64(h.name.n)) + int(h.name.n) + uvarintLen(uint64(h.value.n)) + int(h.value.n)
	}
	return n + len(m.body)
}

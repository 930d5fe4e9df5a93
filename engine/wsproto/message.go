package wsproto

import "github.com/valyala/bytebufferpool"

// EventKind says what a frame handed to Assembler.Frame amounts to.
type EventKind uint8

// Event kinds.
const (
	EventNone    EventKind = iota // a fragment of an unfinished message
	EventMessage                  // a whole text or binary message
	EventPing                     // answer with a pong carrying Data
	EventPong                     // a pong: a sign of life
	EventClose                    // the peer closes with Code and reason Data
)

// Event is the outcome of one frame.
type Event struct {
	Kind EventKind
	Op   Opcode // OpText or OpBinary, for EventMessage
	// Data is the message (with Assembler.TextPrefix before a reassembled
	// text), the ping or pong payload, or the close reason. It aliases the
	// frame's payload or the Assembler's buffer: valid until the next call.
	Data []byte
	// Reassembled reports that Data is the Assembler's buffer (the message
	// came in several frames), not the frame's payload.
	Reassembled bool
	Code        int // for EventClose: the status code (CloseNoStatus if none)
}

// Assembler applies the rules that span frames, for the receiving side of
// one connection: masking as the role requires, the message size limit
// (decided from headers, before any payload is buffered), fragmentation
// with control frames in between, UTF-8 across fragments (failing as soon
// as the text so far cannot be valid), and close payloads. It reassembles
// fragmented messages in a pooled buffer taken only while one arrives. The
// zero value reads server-side (client frames must be masked) with no
// size limit.
type Assembler struct {
	// Client makes it read a client's view: server frames must not be
	// masked. Otherwise frames must be masked.
	Client bool
	// MaxMessage caps a message's length (its TextPrefix included for
	// text); 0 means no limit. Over it: ErrMessageTooBig.
	MaxMessage int64
	// TextPrefix is written before a reassembled text message's bytes (the
	// engine puts a headerless MESSAGE's two bytes there).
	TextPrefix []byte

	buf  *bytebufferpool.ByteBuffer // the message being reassembled
	op   Opcode                     // its opcode; 0 when none
	done bool                       // buf holds a finished message, released at the next call
	text UTF8State
}

var fragPool bytebufferpool.Pool

// CheckHeader checks what a frame's header alone can break: the masking
// the role requires and the message size limit. Call it as soon as the
// header is parsed, before waiting for the payload.
func (a *Assembler) CheckHeader(h *Header) error {
	switch {
	case h.Masked && a.Client:
		return ErrMasked
	case !h.Masked && !a.Client:
		return ErrNotMasked
	case h.Op.IsControl() || a.MaxMessage <= 0:
		return nil
	}
	total := h.Length
	switch {
	case h.Op == OpContinuation && a.op != 0:
		total += int64(len(a.buf.B))
	case h.Op == OpText:
		total += int64(len(a.TextPrefix))
	}
	if total > a.MaxMessage {
		return ErrMessageTooBig
	}
	return nil
}

// Frame handles one whole frame whose header passed CheckHeader; payload
// is its payload, already unmasked.
func (a *Assembler) Frame(h *Header, payload []byte) (Event, error) {
	if a.done {
		a.Release()
	}
	switch h.Op {
	case OpPing:
		return Event{Kind: EventPing, Data: payload}, nil
	case OpPong:
		return Event{Kind: EventPong, Data: payload}, nil
	case OpClose:
		code, reason, err := ParseClose(payload)
		if err != nil {
			return Event{}, err
		}
		return Event{Kind: EventClose, Code: code, Data: reason}, nil
	case OpContinuation:
		if a.op == 0 {
			return Event{}, ErrBadContinuation
		}
		if a.op == OpText && !a.text.Write(payload) {
			return Event{}, ErrInvalidUTF8
		}
		a.buf.B = append(a.buf.B, payload...)
		if !h.Fin {
			return Event{}, nil
		}
		if a.op == OpText && !a.text.Done() {
			return Event{}, ErrInvalidUTF8
		}
		a.done = true
		return Event{Kind: EventMessage, Op: a.op, Data: a.buf.B, Reassembled: true}, nil
	}
	if a.op != 0 {
		return Event{}, ErrExpectedContinue
	}
	if h.Fin {
		if h.Op == OpText && !ValidUTF8(payload) {
			return Event{}, ErrInvalidUTF8
		}
		return Event{Kind: EventMessage, Op: h.Op, Data: payload}, nil
	}
	a.op = h.Op
	a.buf = fragPool.Get()
	a.buf.B = a.buf.B[:0]
	if h.Op == OpText {
		a.text.Reset()
		if !a.text.Write(payload) {
			return Event{}, ErrInvalidUTF8
		}
		a.buf.B = append(a.buf.B, a.TextPrefix...)
	}
	a.buf.B = append(a.buf.B, payload...)
	return Event{}, nil
}

// Release returns the reassembly buffer to its pool (a finished message's
// Data dies with it). Call it when the connection ends.
func (a *Assembler) Release() {
	if a.buf != nil {
		fragPool.Put(a.buf)
	}
	a.buf, a.op, a.done = nil, 0, false
}

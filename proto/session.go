package proto

import (
	"encoding/binary"
	"strconv"
)

// Session frames: the opt-in extension for resuming a session after a
// reconnect (docs/PROTOCOL.md, "Sessions"). A peer that never sends HELLO
// never receives any of them, and ParsePayload, the version 1 decoder,
// keeps rejecting them as unknown kinds: a receiver accepts them only where
// the extension allows them (ParseHello, ParseWelcome, ParseAck).
const (
	// KindHello (client to server, first frame only) asks for a new session
	// or presents a token to resume one.
	KindHello Kind = 0x04
	// KindWelcome (server to client) answers HELLO: the session's token for
	// the next resume and how many of the client's messages the server has.
	KindWelcome Kind = 0x05
	// KindAck (either way, in a session) says how many messages its sender
	// has received, so the other side can forget them.
	KindAck Kind = 0x06
)

// MaxTokenLen is the longest session token a HELLO or WELCOME may carry.
const MaxTokenLen = 64

// Welcome flags.
const (
	// WelcomeResumed: the token of the HELLO resumed the session; the
	// messages the client missed follow the WELCOME.
	WelcomeResumed = 1 << 0
)

// Hello is a decoded HELLO.
type Hello struct {
	// Token is empty to ask for a new session, else the token of the
	// session to resume (aliases the payload).
	Token []byte
	// Received is how many MESSAGE frames the client has received in the
	// session being resumed (0 for a new one).
	Received uint64
}

// Welcome is a decoded WELCOME.
type Welcome struct {
	// Flags is a set of Welcome* bits.
	Flags byte
	// Token resumes the session next time; empty when the server keeps no
	// sessions (then every reconnect is a new session). Aliases the payload.
	Token []byte
	// Received is how many MESSAGE frames the server has received from the
	// client in this session: the client resends only what follows.
	Received uint64
	// GraceMillis is how long the server keeps the session after the
	// connection is lost, in milliseconds.
	GraceMillis uint64
}

// Resumed reports whether the WELCOME resumed an existing session.
func (w *Welcome) Resumed() bool { return w.Flags&WelcomeResumed != 0 }

// AppendHello appends a HELLO frame. token must be at most MaxTokenLen bytes.
func AppendHello(dst, token []byte, received uint64) []byte {
	token = truncate(token, MaxTokenLen)
	n := 1 + uvarintLen(uint64(len(token))) + len(token) + uvarintLen(received)
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, byte(KindHello))
	dst = binary.AppendUvarint(dst, uint64(len(token)))
	dst = append(dst, token...)
	return binary.AppendUvarint(dst, received)
}

// AppendWelcome appends a WELCOME frame.
func AppendWelcome(dst []byte, w Welcome) []byte {
	token := truncate(w.Token, MaxTokenLen)
	n := 2 + uvarintLen(uint64(len(token))) + len(token) + uvarintLen(w.Received) + uvarintLen(w.GraceMillis)
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, byte(KindWelcome), w.Flags)
	dst = binary.AppendUvarint(dst, uint64(len(token)))
	dst = append(dst, token...)
	dst = binary.AppendUvarint(dst, w.Received)
	return binary.AppendUvarint(dst, w.GraceMillis)
}

// AppendAck appends an ACK frame saying received messages have arrived.
func AppendAck(dst []byte, received uint64) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(1+uvarintLen(received)))
	dst = append(dst, byte(KindAck))
	return binary.AppendUvarint(dst, received)
}

// ParseHello decodes the rest of a HELLO payload (after the kind byte).
func ParseHello(rest []byte) (Hello, error) {
	tok, p, err := readToken(rest, 0)
	if err != nil {
		return Hello{}, err
	}
	recv, p, err := readUvarint(rest, p, "HELLO received count")
	if err != nil {
		return Hello{}, err
	}
	if p != len(rest) {
		return Hello{}, protoErr(ErrMalformed, "HELLO has "+strconv.Itoa(len(rest)-p)+" trailing bytes")
	}
	return Hello{Token: tok, Received: recv}, nil
}

// ParseWelcome decodes the rest of a WELCOME payload (after the kind byte).
func ParseWelcome(rest []byte) (Welcome, error) {
	if len(rest) < 1 {
		return Welcome{}, protoErr(ErrMalformed, "WELCOME has no flags")
	}
	w := Welcome{Flags: rest[0]}
	var p int
	var err error
	if w.Token, p, err = readToken(rest, 1); err != nil {
		return Welcome{}, err
	}
	if w.Received, p, err = readUvarint(rest, p, "WELCOME received count"); err != nil {
		return Welcome{}, err
	}
	if w.GraceMillis, p, err = readUvarint(rest, p, "WELCOME grace"); err != nil {
		return Welcome{}, err
	}
	if p != len(rest) {
		return Welcome{}, protoErr(ErrMalformed, "WELCOME has "+strconv.Itoa(len(rest)-p)+" trailing bytes")
	}
	return w, nil
}

// ParseAck decodes the rest of an ACK payload (after the kind byte).
func ParseAck(rest []byte) (uint64, error) {
	n, p, err := readUvarint(rest, 0, "ACK count")
	if err != nil {
		return 0, err
	}
	if p != len(rest) {
		return 0, protoErr(ErrMalformed, "ACK has "+strconv.Itoa(len(rest)-p)+" trailing bytes")
	}
	return n, nil
}

func readToken(b []byte, p int) ([]byte, int, error) {
	n, p, err := readUvarint(b, p, "token length")
	if err != nil {
		return nil, p, err
	}
	if n > MaxTokenLen {
		return nil, p, protoErr(ErrMalformed, "token length "+strconv.FormatUint(n, 10)+" > "+strconv.Itoa(MaxTokenLen))
	}
	if n > uint64(len(b)-p) {
		return nil, p, protoErr(ErrMalformed, "token runs past the payload")
	}
	return b[p : p+int(n) : p+int(n)], p + int(n), nil
}

// SkipFrames returns how many bytes the first n frames of b take. b must
// hold whole frames (as a sender's retained copy does); ok is false when it
// holds fewer than n.
func SkipFrames(b []byte, n uint64) (size int, ok bool) {
	for ; n > 0; n-- {
		if len(b)-size < LengthSize {
			return size, false
		}
		l := int(binary.BigEndian.Uint32(b[size:]))
		if len(b)-size-LengthSize < l {
			return size, false
		}
		size += LengthSize + l
	}
	return size, true
}

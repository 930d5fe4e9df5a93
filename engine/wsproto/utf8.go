package wsproto

import "unicode/utf8"

// UTF8State checks that a text message is valid UTF-8 while it arrives in
// pieces (fragments, or parts of one), failing as soon as a prefix cannot
// be valid: a rune split between pieces is carried over (at most 3 bytes),
// so utf8.Valid on each piece alone, which would be wrong, is never used.
// The zero value is ready for a new message.
type UTF8State struct {
	buf [utf8.UTFMax]byte
	n   uint8
}

// Write checks the next piece of the message and reports whether the text
// so far can still be valid UTF-8.
func (s *UTF8State) Write(p []byte) bool {
	if s.n > 0 {
		need := runeLen(s.buf[0]) - int(s.n)
		take := min(need, len(p))
		copy(s.buf[s.n:], p[:take])
		s.n += uint8(take)
		p = p[take:]
		if take < need {
			return validPrefix(s.buf[:s.n])
		}
		if !utf8.Valid(s.buf[:s.n]) {
			return false
		}
		s.n = 0
	}
	cut := incompleteTail(p)
	if !utf8.Valid(p[:cut]) || !validPrefix(p[cut:]) {
		return false
	}
	s.n = uint8(copy(s.buf[:], p[cut:]))
	return true
}

// Done reports whether the message ended on a rune boundary; call it when
// the last piece has been written.
func (s *UTF8State) Done() bool { return s.n == 0 }

// Reset makes s ready for a new message.
func (s *UTF8State) Reset() { s.n = 0 }

// ValidUTF8 reports whether b is valid UTF-8 (a whole message).
func ValidUTF8(b []byte) bool { return utf8.Valid(b) }

// incompleteTail returns where a rune cut off at the end of p starts, or
// len(p) when p ends on a rune boundary (or in bytes utf8.Valid rejects).
func incompleteTail(p []byte) int {
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax+1; i-- {
		b := p[i]
		if b&0xC0 == 0x80 { // continuation byte: keep looking for the lead
			continue
		}
		if runeLen(b) > len(p)-i {
			return i
		}
		return len(p)
	}
	return len(p)
}

// runeLen returns the length a lead byte announces (1 for invalid leads,
// which utf8.Valid then rejects).
func runeLen(b byte) int {
	switch {
	case b >= 0xC2 && b <= 0xDF:
		return 2
	case b >= 0xE0 && b <= 0xEF:
		return 3
	case b >= 0xF0 && b <= 0xF4:
		return 4
	}
	return 1
}

// validPrefix reports whether b (shorter than its rune) can begin a valid
// rune: it rejects overlong forms, surrogates and code points past
// U+10FFFF from their first two bytes, as RFC 3629 §4 spells out.
func validPrefix(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if runeLen(b[0]) <= len(b) {
		return len(b) == 1 && b[0] < 0x80
	}
	for i := 1; i < len(b); i++ {
		lo, hi := byte(0x80), byte(0xBF)
		if i == 1 {
			switch b[0] {
			case 0xE0:
				lo = 0xA0
			case 0xED:
				hi = 0x9F
			case 0xF0:
				lo = 0x90
			case 0xF4:
				hi = 0x8F
			}
		}
		if b[i] < lo || b[i] > hi {
			return false
		}
	}
	return true
}

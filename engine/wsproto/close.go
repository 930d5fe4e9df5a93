package wsproto

import (
	"encoding/binary"
	"unicode/utf8"
)

// ValidCloseCode reports whether code may appear in a close frame: 1000-1003,
// 1007-1011, 1012-1014 (IANA) and 3000-4999. 1004-1006 and 1015 are reserved.
func ValidCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// ParseClose parses a close frame's (unmasked) payload: no payload is
// CloseNoStatus; otherwise a valid code and a UTF-8 reason.
func ParseClose(p []byte) (code int, reason []byte, err error) {
	switch {
	case len(p) == 0:
		return CloseNoStatus, nil, nil
	case len(p) == 1:
		return 0, nil, ErrBadClosePayload
	}
	code = int(binary.BigEndian.Uint16(p))
	if !ValidCloseCode(code) {
		return 0, nil, ErrBadCloseCode
	}
	if !utf8.Valid(p[2:]) {
		return 0, nil, ErrBadCloseReason
	}
	return code, p[2:], nil
}

// AppendClose appends a whole server (unmasked) close frame with code and
// reason, the reason cut to MaxCloseReason bytes at a rune boundary.
// CloseNoStatus writes a close frame without payload.
func AppendClose(dst []byte, code int, reason string) []byte {
	if code == CloseNoStatus {
		return AppendHeader(dst, true, OpClose, 0, nil)
	}
	reason = TruncateReason(reason)
	dst = AppendHeader(dst, true, OpClose, 2+len(reason), nil)
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}

// TruncateReason cuts reason to MaxCloseReason bytes at a rune boundary.
func TruncateReason(reason string) string {
	if len(reason) <= MaxCloseReason {
		return reason
	}
	cut := MaxCloseReason
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return reason[:cut]
}

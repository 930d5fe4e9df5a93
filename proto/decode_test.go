package proto

import (
	"bytes"
	"strings"
	"testing"
)

func TestParsePayloadMessage(t *testing.T) {
	n255 := strings.Repeat("n", 255)
	v200 := strings.Repeat("v", 200)
	tests := []struct {
		name    string
		payload []byte
		hdrs    []hdr
		body    string
	}{
		{"no headers, no body", payload(KindMessage, 0), nil, ""},
		{"no headers, body", payload(KindMessage, 0, "hello"), nil, "hello"},
		{"raw frame", payload(KindMessage, 0, "\x00\x01\x02 raw"), nil, "\x00\x01\x02 raw"},
		{"one valueless header", payload(KindMessage, 1, 9, "handshake", 0), []hdr{{"handshake", ""}}, ""},
		{"one valued header", payload(KindMessage, 1, 4, "user", 3, "bob", "hi"), []hdr{{"user", "bob"}}, "hi"},
		{"many headers", payload(KindMessage, 3, 1, "a", 1, "1", 1, "b", 0, 1, "c", 2, "33", "body"),
			[]hdr{{"a", "1"}, {"b", ""}, {"c", "33"}}, "body"},
		{"duplicates", payload(KindMessage, 2, 1, "d", 1, "1", 1, "d", 1, "2"), []hdr{{"d", "1"}, {"d", "2"}}, ""},
		{"255-byte name, 2-byte uvarint value length", payload(KindMessage, 1, uv(255), n255, uv(200), v200),
			[]hdr{{n255, v200}}, ""},
		{"body looks like headers", payload(KindMessage, 0, 1, 1, "x", 0), nil, "\x01\x01x\x00"},
		{"64 headers", payload(KindMessage, 64, bytes.Repeat([]byte{1, 'h', 0}, 64)), repeatHdr(hdr{"h", ""}, 64), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			m.AddHeader("stale", "x").SetBodyString("stale") // Decode must replace old content
			k, rest, err := ParsePayload(tc.payload, &m, nil)
			if err != nil {
				t.Fatal(err)
			}
			if k != KindMessage || rest != nil {
				t.Fatalf("kind, rest = %v, %q; want MESSAGE, nil", k, rest)
			}
			checkMessage(t, &m, tc.hdrs, tc.body)
			if m.PayloadSize() != len(tc.payload) {
				t.Fatalf("PayloadSize = %d, want %d", m.PayloadSize(), len(tc.payload))
			}
			// Message.Decode is ParsePayload without the kind byte.
			var m2 Message
			if err := m2.Decode(tc.payload[1:], nil); err != nil {
				t.Fatal(err)
			}
			checkMessage(t, &m2, tc.hdrs, tc.body)
			// Re-encoding gives the same bytes.
			if got, err := AppendFrame(nil, &m); err != nil || !bytes.Equal(got, framed(tc.payload)) {
				t.Fatalf("re-encode = % x, %v", got, err)
			}
		})
	}
}

func repeatHdr(h hdr, n int) []hdr {
	hs := make([]hdr, n)
	for i := range hs {
		hs[i] = h
	}
	return hs
}

func TestParsePayloadControl(t *testing.T) {
	p125 := strings.Repeat("p", MaxPingPayload)
	tests := []struct {
		name     string
		payload  []byte
		kind     Kind
		rest     string
		reencode func(rest []byte) []byte
	}{
		{"empty PING", payload(KindPing), KindPing, "", func(r []byte) []byte { return AppendPing(nil, r) }},
		{"PING", payload(KindPing, "abc"), KindPing, "abc", func(r []byte) []byte { return AppendPing(nil, r) }},
		{"PING 125 bytes", payload(KindPing, p125), KindPing, p125, func(r []byte) []byte { return AppendPing(nil, r) }},
		{"empty PONG", payload(KindPong), KindPong, "", func(r []byte) []byte { return AppendPong(nil, r) }},
		{"PONG", payload(KindPong, "abc"), KindPong, "abc", func(r []byte) []byte { return AppendPong(nil, r) }},
		{"PONG over 125 bytes", payload(KindPong, p125+"xyz"), KindPong, p125 + "xyz", func(r []byte) []byte { return AppendPong(nil, r) }},
		{"empty CLOSE", payload(KindClose), KindClose, "", func(r []byte) []byte { return AppendClose(nil, string(r)) }},
		{"CLOSE with reason", payload(KindClose, "server shutting down"), KindClose, "server shutting down",
			func(r []byte) []byte { return AppendClose(nil, string(r)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			m.AddHeader("keep", "me")
			k, rest, err := ParsePayload(tc.payload, &m, nil)
			if err != nil {
				t.Fatal(err)
			}
			if k != tc.kind || string(rest) != tc.rest {
				t.Fatalf("got %v %q, want %v %q", k, rest, tc.kind, tc.rest)
			}
			if len(rest) > 0 && &rest[0] != &tc.payload[1] {
				t.Fatal("rest does not alias the payload")
			}
			if m.NumHeaders() != 1 {
				t.Fatal("a control frame modified the message")
			}
			if got := tc.reencode(rest); !bytes.Equal(got, framed(tc.payload)) {
				t.Fatalf("re-encode = % x, want % x", got, framed(tc.payload))
			}
		})
	}
}

// TestProtocolErrors has one or more cases for every class of protocol error
// a payload can have. (Frame-level errors are in frame_test.go.)
func TestProtocolErrors(t *testing.T) {
	ff9 := bytes.Repeat([]byte{0xff}, 9)
	tests := []struct {
		name    string
		payload []byte
		lim     *Limits
		want    error
	}{
		{"empty payload", nil, nil, ErrEmptyFrame},
		{"empty non-nil payload", []byte{}, nil, ErrEmptyFrame},

		{"kind 0x04", payload(4), nil, ErrUnknownKind},
		{"kind 0x7f with data", payload(0x7f, "data"), nil, ErrUnknownKind},
		{"kind 0xff", payload(0xff), nil, ErrUnknownKind},

		{"PING 126 bytes", payload(KindPing, strings.Repeat("p", 126)), nil, ErrPingTooLarge},
		{"PING 1000 bytes", payload(KindPing, strings.Repeat("p", 1000)), nil, ErrPingTooLarge},

		// A count or length that runs past the payload.
		{"no header count", payload(KindMessage), nil, ErrMalformed},
		{"count past payload (cheap check)", payload(KindMessage, 2, 1, "a", 0), nil, ErrMalformed},
		{"count past payload (3rd header missing)", payload(KindMessage, 3, 1, "a", 0, 1, "b", 0), nil, ErrMalformed},
		{"huge count under a raised limit", payload(KindMessage, uv(1<<40), 1, "a", 0), &Limits{MaxHeaders: 1 << 50}, ErrMalformed},
		{"name length past payload", payload(KindMessage, 1, 5, "ab"), nil, ErrMalformed},
		{"name length past payload by one", payload(KindMessage, 1, 3, "ab", 0), nil, ErrMalformed},
		{"value length past payload", payload(KindMessage, 1, 1, "a", 5, "x"), nil, ErrMalformed},
		{"value length missing", payload(KindMessage, 2, 1, "a", 0, 1, "b"), nil, ErrMalformed},
		{"value length past payload, 2-byte uvarint", payload(KindMessage, 1, 1, "a", uv(200), "short"), nil, ErrMalformed},

		// Truncated uvarints: the continuation bit is set on the last byte.
		{"truncated count", payload(KindMessage, 0x80), nil, ErrMalformed},
		{"truncated count, 9 bytes", payload(KindMessage, ff9), nil, ErrMalformed},
		{"truncated name length", payload(KindMessage, 1, 0x80, 0x80), nil, ErrMalformed},
		{"truncated value length", payload(KindMessage, 1, 1, "a", 0x81), nil, ErrMalformed},

		// Overflowing uvarints: more than 64 bits.
		{"count overflows: 10th byte > 1", payload(KindMessage, ff9, 0x02), nil, ErrMalformed},
		{"count overflows: 11 bytes", payload(KindMessage, bytes.Repeat([]byte{0x80}, 10), 0x00), nil, ErrMalformed},
		{"name length overflows", payload(KindMessage, 1, ff9, 0x7f, "x"), nil, ErrMalformed},
		{"value length overflows", payload(KindMessage, 1, 1, "a", ff9, 0x03), nil, ErrMalformed},

		// Overlong (non-minimal) uvarints: rejected so re-encoding is exact.
		{"overlong count 0", payload(KindMessage, 0x80, 0x00), nil, ErrMalformed},
		{"overlong count 1", payload(KindMessage, 0x81, 0x00, 1, "a", 0), nil, ErrMalformed},
		{"overlong count, 10 bytes", payload(KindMessage, bytes.Repeat([]byte{0x80}, 9), 0x00), nil, ErrMalformed},
		{"overlong name length", payload(KindMessage, 1, 0x83, 0x00, "abc", 0), nil, ErrMalformed},
		{"overlong 2-byte name length", payload(KindMessage, 1, 0x80, 0x80, 0x00), nil, ErrMalformed},
		{"overlong value length", payload(KindMessage, 1, 1, "a", 0x80, 0x00), nil, ErrMalformed},
		{"overlong 200 as 3 bytes", payload(KindMessage, 1, 1, "a", 0xc8, 0x81, 0x00, strings.Repeat("v", 200)), nil, ErrMalformed},

		// Too many headers.
		{"65 headers (default 64)", payload(KindMessage, 65, bytes.Repeat([]byte{1, 'h', 0}, 65)), nil, ErrTooManyHeaders},
		{"huge count", payload(KindMessage, uv(1<<62)), nil, ErrTooManyHeaders},
		{"max uint64 count", payload(KindMessage, ff9, 0x01), nil, ErrTooManyHeaders},
		{"3 headers, custom max 2", payload(KindMessage, 3, 1, "a", 0, 1, "b", 0, 1, "c", 0), &Limits{MaxHeaders: 2}, ErrTooManyHeaders},
		{"count before body checked", payload(KindMessage, 65), nil, ErrTooManyHeaders},

		// Bad header names.
		{"empty name", payload(KindMessage, 1, 0, 0), nil, ErrBadHeaderName},
		{"empty 2nd name", payload(KindMessage, 2, 1, "a", 0, 0, 1, "v"), nil, ErrBadHeaderName},
		{"256-byte name (default 255)", payload(KindMessage, 1, uv(256), strings.Repeat("n", 256), 0), nil, ErrBadHeaderName},
		{"4-byte name, custom max 3", payload(KindMessage, 1, 4, "name", 0), &Limits{MaxHeaderName: 3}, ErrBadHeaderName},
		{"empty name, custom max 3", payload(KindMessage, 1, 0, 0), &Limits{MaxHeaderName: 3}, ErrBadHeaderName},
		{"256-byte name, custom max above protocol max", payload(KindMessage, 1, uv(256), strings.Repeat("n", 256), 0),
			&Limits{MaxHeaderName: 1000}, ErrBadHeaderName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			m.AddHeader("stale", "x").SetBodyString("stale")
			_, rest, err := ParsePayload(tc.payload, &m, tc.lim)
			checkProtoErr(t, err, tc.want)
			t.Log(err) // the CLOSE reason a receiver would send
			if rest != nil {
				t.Fatalf("rest = %q on error, want nil", rest)
			}
			if len(tc.payload) == 0 || Kind(tc.payload[0]) != KindMessage {
				// Only a MESSAGE payload touches m.
				checkMessage(t, &m, []hdr{{"stale", "x"}}, "stale")
				return
			}
			if m.NumHeaders() != 0 || len(m.Body()) != 0 {
				t.Fatalf("message not left empty on error: %d headers, body %q", m.NumHeaders(), m.Body())
			}
			// The message is still usable after a failed decode.
			m.AddHeader("after", "error")
			checkMessage(t, &m, []hdr{{"after", "error"}}, "")
		})
	}
}

// Limits that are exactly met are accepted, for default and custom limits.
func TestLimitsBoundaries(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		lim     *Limits
	}{
		{"64 headers", payload(KindMessage, 64, bytes.Repeat([]byte{1, 'h', 0}, 64)), nil},
		{"255-byte name", payload(KindMessage, 1, uv(255), strings.Repeat("n", 255), 0), nil},
		{"1-byte name", payload(KindMessage, 1, 1, "n", 0), nil},
		{"2 headers, custom max 2", payload(KindMessage, 2, 1, "a", 0, 1, "b", 0), &Limits{MaxHeaders: 2}},
		{"3-byte name, custom max 3", payload(KindMessage, 1, 3, "abc", 0), &Limits{MaxHeaderName: 3}},
		{"100 headers, custom max 100", payload(KindMessage, 100, bytes.Repeat([]byte{1, 'h', 0}, 100)), &Limits{MaxHeaders: 100}},
		{"negative fields mean default", payload(KindMessage, 64, bytes.Repeat([]byte{1, 'h', 0}, 64)), &Limits{MaxHeaders: -1, MaxHeaderName: -1}},
		{"zero Limits", payload(KindMessage, 1, uv(255), strings.Repeat("n", 255), 0), &Limits{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			if _, _, err := ParsePayload(tc.payload, &m, tc.lim); err != nil {
				t.Fatal(err)
			}
			if got, err := AppendFrame(nil, &m); err != nil || !bytes.Equal(got, framed(tc.payload)) {
				t.Fatalf("re-encode: %v", err)
			}
		})
	}
}

func TestProtocolErrorText(t *testing.T) {
	e := &ProtocolError{Err: ErrMalformed}
	if got := e.Error(); got != "protocol error: malformed message" {
		t.Fatalf("Error() = %q", got)
	}
	e.Detail = "header count 3 runs past the payload"
	if got := e.Error(); got != "protocol error: malformed message: header count 3 runs past the payload" {
		t.Fatalf("Error() = %q", got)
	}
	if e.Unwrap() != ErrMalformed {
		t.Fatal("Unwrap")
	}
	// Details name the numbers involved.
	_, _, err := ParsePayload(payload(KindPing, strings.Repeat("p", 126)), nil, nil)
	if !strings.Contains(err.Error(), "126") {
		t.Fatalf("PING error %q does not say the size", err)
	}
	_, _, err = ParsePayload(payload(0x2a), nil, nil)
	if !strings.Contains(err.Error(), "0x2a") {
		t.Fatalf("kind error %q does not say the kind", err)
	}
	// Every class's text fits a CLOSE reason.
	for _, s := range []error{ErrEmptyFrame, ErrFrameTooLarge, ErrUnknownKind, ErrMalformed, ErrTooManyHeaders, ErrBadHeaderName, ErrPingTooLarge} {
		if msg := (&ProtocolError{Err: s, Detail: "d"}).Error(); !isPrintable(msg) || len(msg) > MaxCloseReason {
			t.Errorf("%q is not a usable CLOSE reason", msg)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindMessage: "MESSAGE", KindPing: "PING", KindPong: "PONG", KindClose: "CLOSE", KindHello: "HELLO", KindWelcome: "WELCOME", KindAck: "ACK", 7: "UNKNOWN", 0xff: "UNKNOWN"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

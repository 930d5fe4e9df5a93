package legacy

import (
	"errors"
	"strings"
	"testing"

	"github.com/simpleserver-go/simpleserver/proto"
)

// hdr is one expected header.
type hdr struct{ name, value string }

// checkMessage fails t unless m has exactly headers hs, in order, and body.
func checkMessage(t *testing.T, m *proto.Message, hs []hdr, body string) {
	t.Helper()
	if m.NumHeaders() != len(hs) {
		t.Fatalf("%d headers, want %d (%v)", m.NumHeaders(), len(hs), hs)
	}
	for i, h := range hs {
		name, value := m.HeaderAt(i)
		if string(name) != h.name || string(value) != h.value {
			t.Errorf("header %d = %q:%q, want %q:%q", i, name, value, h.name, h.value)
		}
	}
	if got := m.BodyString(); got != body {
		t.Errorf("body = %q, want %q", got, body)
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		hs       []hdr
		body     string
	}{
		{"handshake", "$handshake:|%Hello server!", []hdr{{"handshake", ""}}, "Hello server!"},
		{"empty message", "$%", nil, ""},
		{"two headers", "$a:1|b:2|%body", []hdr{{"a", "1"}, {"b", "2"}}, "body"},
		{"value cut at second colon", "$from:127.0.0.1:54476|%hi", []hdr{{"from", "127.0.0.1"}}, "hi"},
		{"body cut at second percent", "$a:1|%50%25", []hdr{{"a", "1"}}, "50"},
		{"empty pieces skipped", "$||a:1||b:|%x", []hdr{{"a", "1"}, {"b", ""}}, "x"},
		{"last header without bar", "$a:1%x", []hdr{{"a", "1"}}, "x"},
		{"duplicate names kept", "$k:1|k:2|%", []hdr{{"k", "1"}, {"k", "2"}}, ""},
		{"separators in body", "$%a|b:c$d", nil, "a|b:c$d"},
		{"utf-8", "$naïve:café|%Grüße, 世界 🎮", []hdr{{"naïve", "café"}}, "Grüße, 世界 🎮"},
		{"raw text", "Hello", nil, "Hello"},
		{"raw text keeps separators", "50% off | a:b", nil, "50% off | a:b"},
		{"raw single byte", "x", nil, "x"},
		{"raw newline", "line\n", nil, "line\n"},
		{"max size", "$%" + strings.Repeat("b", MaxMessageSize-2), nil, strings.Repeat("b", MaxMessageSize-2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := proto.NewMessage()
			if err := Decode(m, []byte(tc.in), nil); err != nil {
				t.Fatalf("Decode(%q): %v", tc.in, err)
			}
			checkMessage(t, m, tc.hs, tc.body)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		lim  *proto.Limits
		want error
	}{
		{"no percent", []byte("$handshake:|Hello"), nil, ErrNoBody},
		{"dollar only", []byte("$"), nil, ErrNoBody},
		{"header without colon", []byte("$handshake|%Hello"), nil, ErrNoColon},
		{"invalid utf-8 in body", []byte("$%\xff"), nil, ErrInvalidUTF8},
		{"invalid utf-8 raw", []byte("ab\xc3"), nil, ErrInvalidUTF8},
		{"utf-16 surrogate", []byte("$%\xed\xa0\x80"), nil, ErrInvalidUTF8},
		{"over the size limit", []byte("$%" + strings.Repeat("b", MaxMessageSize-1)), nil, proto.ErrFrameTooLarge},
		{"raw over the size limit", []byte(strings.Repeat("b", MaxMessageSize+1)), nil, proto.ErrFrameTooLarge},
		{"empty name", []byte("$:v|%"), nil, proto.ErrBadHeaderName},
		{"name over the limit", []byte("$abcd:1|%"), &proto.Limits{MaxHeaderName: 3}, proto.ErrBadHeaderName},
		{"too many headers", []byte("$a:|b:|c:|%"), &proto.Limits{MaxHeaders: 2}, proto.ErrTooManyHeaders},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := proto.NewMessage()
			m.AddHeader("stale", "x").SetBodyString("stale")
			err := Decode(m, tc.in, tc.lim)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode(%q) = %v, want %v", tc.in, err, tc.want)
			}
			var pe *proto.ProtocolError
			if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "protocol error: ") {
				t.Fatalf("err = %T %q, want a *proto.ProtocolError", err, err)
			}
			checkMessage(t, m, nil, "") // left empty
		})
	}
	// The legacy sentinels are malformed messages, so a caller checking
	// proto's classes sees them too.
	for _, e := range []error{ErrInvalidUTF8, ErrNoBody, ErrNoColon} {
		if !errors.Is(e, proto.ErrMalformed) {
			t.Errorf("%v does not wrap proto.ErrMalformed", e)
		}
	}
}

func TestDecodeReusesMessage(t *testing.T) {
	m := proto.NewMessage()
	data := []byte("$a:1|%first")
	if err := Decode(m, data, nil); err != nil {
		t.Fatal(err)
	}
	copy(data, "$b:2|%later") // the caller reuses its read buffer
	checkMessage(t, m, []hdr{{"a", "1"}}, "first")
	if err := Decode(m, []byte("$%"), nil); err != nil {
		t.Fatal(err)
	}
	checkMessage(t, m, nil, "")
}

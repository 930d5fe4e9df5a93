package legacy

import (
	"errors"
	"strings"
	"testing"

	"github.com/simpleserver-go/simpleserver/proto"
)

func msg(body string, kv ...string) *proto.Message {
	m := proto.NewMessage()
	for i := 0; i+1 < len(kv); i += 2 {
		m.AddHeader(kv[i], kv[i+1])
	}
	return m.SetBodyString(body)
}

func TestAppend(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    *proto.Message
		want string
	}{
		{"handshake answer", msg("Hello from the server!", "handshake", "example"), "$handshake:example|%Hello from the server!"},
		{"header without value", msg("Hello server!", "handshake", ""), "$handshake:|%Hello server!"},
		{"empty message", msg(""), "$%"},
		{"two headers", msg("body", "a", "1", "b", "2"), "$a:1|b:2|%body"},
		{"address in a value", msg("hi", "from", "127.0.0.1:54476"), "$from:127.0.0.1:54476|%hi"},
		{"separators in body", msg("a|b:c$d"), "$%a|b:c$d"},
		{"utf-8", msg("Grüße, 世界 🎮", "naïve", "café"), "$naïve:café|%Grüße, 世界 🎮"},
		{"900-byte body", msg(strings.Repeat("x", 900)), "$%" + strings.Repeat("x", 900)},
		{"exactly the limit", msg(strings.Repeat("x", MaxMessageSize-2)), "$%" + strings.Repeat("x", MaxMessageSize-2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := Append(dst, tc.m)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if string(got) != "keep"+tc.want {
				t.Fatalf("Append = %q, want %q", got, "keep"+tc.want)
			}
			if n := Size(tc.m); n != len(tc.want) {
				t.Errorf("Size = %d, want %d", n, len(tc.want))
			}
		})
	}
}

func TestAppendUnrepresentable(t *testing.T) {
	for _, tc := range []struct {
		name, detail string
		m            *proto.Message
	}{
		{"percent in name", `name "a%b" contains '%'`, msg("", "a%b", "")},
		{"bar in name", `name "a|b" contains '|'`, msg("", "a|b", "")},
		{"colon in name", `name "a:b" contains ':'`, msg("", "a:b", "")},
		{"percent in value", `value contains '%'`, msg("", "a", "50%")},
		{"bar in value", `value contains '|'`, msg("", "a", "x|y")},
		{"percent in body", "body contains '%'", msg("100%")},
		{"empty name", "name length 0", msg("", "", "v")},
		{"long name", "name length 256", msg("", strings.Repeat("n", 256), "")},
		{"binary body", "body is not valid UTF-8", msg("\xff\x00")},
		{"binary value", "not valid UTF-8", msg("", "k", "\xc3")},
		{"over the limit", "1025 bytes encoded > 1024", msg(strings.Repeat("x", MaxMessageSize-1))},
		{"over the limit by headers", "bytes encoded > 1024", msg("", "k", strings.Repeat("v", 1020))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := Append(dst, tc.m)
			if !errors.Is(err, ErrUnrepresentable) {
				t.Fatalf("Append = %q, %v; want ErrUnrepresentable", got, err)
			}
			if !strings.Contains(err.Error(), tc.detail) {
				t.Errorf("error %q does not say %q", err, tc.detail)
			}
			if string(got) != "keep" {
				t.Errorf("dst changed to %q", got)
			}
			if Check(tc.m) == nil {
				t.Errorf("Check accepts what Append refuses")
			}
		})
	}
}

// TestRoundTrip: every message Append accepts, Decode reads back as sent
// (values without ':', the one accepted loss).
func TestRoundTrip(t *testing.T) {
	for _, m := range []*proto.Message{
		msg(""),
		msg("Hello server!", "handshake", ""),
		msg("body|with:bars$", "a", "1", "b", "2", "a", "3"),
		msg("世界", "ключ", "значение"),
		msg(strings.Repeat("x", 900), "seq", "17"),
	} {
		enc, err := Append(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		got := proto.NewMessage()
		if err := Decode(got, enc, nil); err != nil {
			t.Fatalf("Decode(%q): %v", enc, err)
		}
		var hs []hdr
		for name, value := range m.Headers() {
			hs = append(hs, hdr{string(name), string(value)})
		}
		checkMessage(t, got, hs, m.BodyString())
	}
}

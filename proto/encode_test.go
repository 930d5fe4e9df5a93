package proto

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// The worked example of docs/PROTOCOL.md, byte for byte.
func TestWorkedExample(t *testing.T) {
	want := []byte{
		0x00, 0x00, 0x00, 0x1a, // length 26
		0x00,                                              // kind MESSAGE
		0x01,                                              // 1 header
		0x09, 'h', 'a', 'n', 'd', 's', 'h', 'a', 'k', 'e', // name "handshake"
		0x00,                                                            // empty value
		'H', 'e', 'l', 'l', 'o', ' ', 's', 'e', 'r', 'v', 'e', 'r', '!', // body
	}
	m := NewMessage().AddHeader("handshake", "").SetBodyString("Hello server!")
	got, err := AppendFrame(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendFrame:\n got % x\nwant % x", got, want)
	}
	if m.PayloadSize() != 26 {
		t.Fatalf("PayloadSize = %d, want 26", m.PayloadSize())
	}

	p, n, err := Split(want, 0)
	if err != nil || n != len(want) {
		t.Fatalf("Split = %d, %v", n, err)
	}
	var d Message
	k, rest, err := ParsePayload(p, &d, nil)
	if err != nil || k != KindMessage || rest != nil {
		t.Fatalf("ParsePayload = %v, %q, %v", k, rest, err)
	}
	checkMessage(t, &d, []hdr{{"handshake", ""}}, "Hello server!")
	if !d.HasHeader("handshake") {
		t.Fatal("HasHeader(handshake) = false")
	}
}

func TestAppendFrame(t *testing.T) {
	long := strings.Repeat("n", MaxHeaderNameLen)
	val300 := strings.Repeat("v", 300) // a value whose length needs a 2-byte uvarint
	tests := []struct {
		name string
		hdrs []hdr
		body string
		want []byte // payload
	}{
		{"empty message", nil, "", payload(KindMessage, 0)},
		{"body only", nil, "raw", payload(KindMessage, 0, "raw")},
		{"one valueless header", []hdr{{"a", ""}}, "", payload(KindMessage, 1, 1, "a", 0)},
		{"one valued header", []hdr{{"key", "value"}}, "body", payload(KindMessage, 1, 3, "key", 5, "value", "body")},
		{"many headers", []hdr{{"a", "1"}, {"bb", ""}, {"ccc", "333"}}, "xyz",
			payload(KindMessage, 3, 1, "a", 1, "1", 2, "bb", 0, 3, "ccc", 3, "333", "xyz")},
		{"duplicate names keep order", []hdr{{"d", "first"}, {"d", "second"}, {"d", ""}}, "",
			payload(KindMessage, 3, 1, "d", 5, "first", 1, "d", 6, "second", 1, "d", 0)},
		{"255-byte name", []hdr{{long, "x"}}, "", payload(KindMessage, 1, uv(255), long, 1, "x")},
		{"300-byte value", []hdr{{"v", val300}}, "", payload(KindMessage, 1, 1, "v", uv(300), val300)},
		{"binary bytes", []hdr{{"\x00\xff", "\x80\x00"}}, "\x00\x01\xfe",
			payload(KindMessage, 1, 2, "\x00\xff", 2, "\x80\x00", "\x00\x01\xfe")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMessage()
			for _, h := range tc.hdrs {
				m.AddHeader(h.name, h.value)
			}
			m.SetBodyString(tc.body)
			prefix := []byte("keep")
			got, err := AppendFrame(prefix, m)
			if err != nil {
				t.Fatal(err)
			}
			if want := append([]byte("keep"), framed(tc.want)...); !bytes.Equal(got, want) {
				t.Fatalf("AppendFrame:\n got % x\nwant % x", got, want)
			}
			if m.PayloadSize() != len(tc.want) {
				t.Fatalf("PayloadSize = %d, want %d", m.PayloadSize(), len(tc.want))
			}

			// AddHeaderBytes encodes the same.
			mb := NewMessage()
			for _, h := range tc.hdrs {
				mb.AddHeaderBytes([]byte(h.name), []byte(h.value))
			}
			mb.SetBody([]byte(tc.body))
			got2, err := AppendFrame(nil, mb)
			if err != nil || !bytes.Equal(got2, framed(tc.want)) {
				t.Fatalf("AddHeaderBytes/SetBody encode = % x, %v", got2, err)
			}

			// And it decodes back.
			var d Message
			if _, _, err := ParsePayload(tc.want, &d, nil); err != nil {
				t.Fatal(err)
			}
			checkMessage(t, &d, tc.hdrs, tc.body)
		})
	}
}

func TestAppendFrameBadHeaderName(t *testing.T) {
	for _, name := range []string{"", strings.Repeat("x", MaxHeaderNameLen+1)} {
		m := NewMessage().AddHeader("ok", "1").AddHeader(name, "v").SetBodyString("b")
		dst := []byte("unchanged")
		got, err := AppendFrame(dst, m)
		checkProtoErr(t, err, ErrBadHeaderName)
		if string(got) != "unchanged" {
			t.Fatalf("name len %d: dst = %q, want it unchanged", len(name), got)
		}
	}
}

func TestAppendRawFrame(t *testing.T) {
	for _, body := range []string{"", "x", "raw bytes \x00\xff", strings.Repeat("r", 70000)} {
		got, err := AppendRawFrame([]byte("pre"), []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		want := append([]byte("pre"), framed(payload(KindMessage, 0, body))...)
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendRawFrame(%d bytes) = % x, want % x", len(body), got[:min(len(got), 16)], want[:min(len(want), 16)])
		}
		// A raw frame is a headerless MESSAGE, the same as AppendFrame of one.
		same, _ := AppendFrame([]byte("pre"), NewMessage().SetBodyString(body))
		if !bytes.Equal(got, same) {
			t.Fatal("AppendRawFrame differs from AppendFrame of a headerless message")
		}
		var d Message
		k, _, err := ParsePayload(got[3+LengthSize:], &d, nil)
		if err != nil || k != KindMessage {
			t.Fatalf("ParsePayload = %v, %v", k, err)
		}
		checkMessage(t, &d, nil, body)
	}
}

func TestAppendControl(t *testing.T) {
	p125 := strings.Repeat("p", MaxPingPayload)
	tests := []struct {
		name string
		got  []byte
		want []byte // payload
	}{
		{"empty PING", AppendPing(nil, nil), payload(KindPing)},
		{"PING", AppendPing(nil, []byte("t=1")), payload(KindPing, "t=1")},
		{"PING 125", AppendPing(nil, []byte(p125)), payload(KindPing, p125)},
		{"PING 126 is truncated", AppendPing(nil, []byte(p125+"!")), payload(KindPing, p125)},
		{"empty PONG", AppendPong(nil, nil), payload(KindPong)},
		{"PONG", AppendPong(nil, []byte("t=1")), payload(KindPong, "t=1")},
		{"empty CLOSE", AppendClose(nil, ""), payload(KindClose)},
		{"CLOSE", AppendClose(nil, "bye: going away"), payload(KindClose, "bye: going away")},
		{"CLOSE UTF-8", AppendClose(nil, "tschüß ✓"), payload(KindClose, "tschüß ✓")},
	}
	for _, tc := range tests {
		if want := framed(tc.want); !bytes.Equal(tc.got, want) {
			t.Errorf("%s: got % x, want % x", tc.name, tc.got, want)
		}
	}
	// They append: what dst held is kept.
	if got := AppendPong([]byte{9}, []byte("x")); !bytes.Equal(got, append([]byte{9}, framed(payload(KindPong, "x"))...)) {
		t.Errorf("AppendPong does not append: % x", got)
	}
}

func TestAppendCloseTruncation(t *testing.T) {
	exact := strings.Repeat("a", MaxCloseReason)
	tests := []struct {
		name, reason, want string
	}{
		{"exactly max", exact, exact},
		{"ASCII over max", exact + "bcd", exact},
		// "€" is 3 bytes (e2 82 ac); placed at 998..1000 it straddles the cut.
		{"rune across the cut", strings.Repeat("a", 998) + "€" + "zz", strings.Repeat("a", 998)},
		// A 2-byte rune ending exactly at the cut is kept.
		{"rune ending at the cut", strings.Repeat("a", 998) + "ü" + "zz", strings.Repeat("a", 998) + "ü"},
		// A 4-byte rune starting right at the cut goes away whole.
		{"rune starting at the cut", exact + "😀", exact},
		{"all multibyte", strings.Repeat("€", 400), strings.Repeat("€", 333)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendClose(nil, tc.reason)
			if want := framed(payload(KindClose, tc.want)); !bytes.Equal(got, want) {
				t.Fatalf("got %d-byte frame, want %d", len(got), len(want))
			}
			if r := got[LengthSize+1:]; len(r) > MaxCloseReason || !utf8.Valid(r) {
				t.Fatalf("reason is %d bytes, valid UTF-8 %v", len(r), utf8.Valid(r))
			}
		})
	}
}

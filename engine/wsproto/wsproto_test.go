package wsproto

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"
)

func TestAcceptKeyRFCExample(t *testing.T) {
	// RFC 6455 §1.3.
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("AcceptKey = %q", got)
	}
	if !ValidKey("dGhlIHNhbXBsZSBub25jZQ==") || ValidKey("dGhlIHNhbXBsZQ==") || ValidKey("!!!!!!!!!!!!!!!!!!!!!!==") {
		t.Error("ValidKey")
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 1 << 20} {
		for _, key := range [][]byte{nil, {1, 2, 3, 4}} {
			b := AppendHeader(nil, n%2 == 0, OpBinary, n, key)
			if len(b) != HeaderSize(n, key != nil) {
				t.Errorf("n=%d: header %d bytes, HeaderSize %d", n, len(b), HeaderSize(n, key != nil))
			}
			for cut := 0; cut < len(b); cut++ {
				if _, k, err := ParseHeader(b[:cut]); k != 0 || err != nil {
					t.Fatalf("n=%d: a %d-byte prefix parsed (%d, %v)", n, cut, k, err)
				}
			}
			h, k, err := ParseHeader(b)
			if err != nil || k != len(b) || h.Length != int64(n) || h.Fin != (n%2 == 0) || h.Op != OpBinary || h.Masked != (key != nil) {
				t.Errorf("n=%d: %+v %d %v", n, h, k, err)
			}
		}
	}
}

func TestHeaderErrors(t *testing.T) {
	for _, tc := range []struct {
		b   []byte
		err error
	}{
		{[]byte{0xC1, 0x80}, ErrReservedBits},
		{[]byte{0x83, 0x80}, ErrReservedOpcode},
		{[]byte{0x8B, 0x80}, ErrReservedOpcode},
		{[]byte{0x09, 0x80}, ErrFragmentedCtrl},
		{[]byte{0x89, 0xFE}, ErrControlTooLong},
		{[]byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, ErrLengthOverflow},
	} {
		if _, _, err := ParseHeader(tc.b); err != tc.err {
			t.Errorf("% x: %v, want %v", tc.b, err, tc.err)
		}
		if CloseCode(tc.err) != CloseProtocolError {
			t.Errorf("%v: close code %d", tc.err, CloseCode(tc.err))
		}
	}
	if CloseCode(ErrInvalidUTF8) != 1007 || CloseCode(ErrMessageTooBig) != 1009 || CloseCode(errors.New("x")) != 1002 {
		t.Error("CloseCode")
	}
}

func TestMaskOffsets(t *testing.T) {
	key := [4]byte{0xA1, 0xB2, 0xC3, 0xD4}
	data := bytes.Repeat([]byte("the quick brown fox "), 7)
	whole := append([]byte(nil), data...)
	Mask(whole, key, 0)
	for i := range data {
		if whole[i] != data[i]^key[i%4] {
			t.Fatalf("byte %d", i)
		}
	}
	for cut := 0; cut <= len(data); cut++ {
		parts := append([]byte(nil), data...)
		pos := Mask(parts[:cut], key, 0)
		Mask(parts[cut:], key, pos)
		if !bytes.Equal(parts, whole) {
			t.Fatalf("masking split at %d differs", cut)
		}
	}
}

// TestUTF8StateSplits: for valid and invalid texts, every split into two
// pieces gives utf8.Valid's verdict, and an invalid prefix fails at once.
func TestUTF8StateSplits(t *testing.T) {
	for _, s := range []string{
		"", "ascii", "κόσμε", "😀x", "\u07ff\u0800\uffff\U00010000\U0010ffff",
		"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5", "a\xe2\x82", "\x80", "\xef\xbf\xbf\xff",
	} {
		b := []byte(s)
		want := utf8.Valid(b)
		for cut := 0; cut <= len(b); cut++ {
			var st UTF8State
			ok := st.Write(b[:cut]) && st.Write(b[cut:]) && st.Done()
			if ok != want {
				t.Errorf("%q split at %d: %v, want %v", s, cut, ok, want)
			}
		}
	}
	var st UTF8State
	if st.Write([]byte("ok \xf4\x90")) {
		t.Error("a prefix past U+10FFFF passed")
	}
}

func TestParseRequestIncremental(t *testing.T) {
	req := "GET /ws?x=1 HTTP/1.1\r\nHost: h:1\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://h:1\r\n" +
		"Sec-WebSocket-Protocol: a, simpleserver.v1\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
	b := []byte(req + "\x81\x80frame")
	for cut := 0; cut < len(req); cut++ {
		if _, n, err := ParseRequest(b[:cut], 8192); n != 0 || err != nil {
			t.Fatalf("prefix %d: %d %v", cut, n, err)
		}
	}
	r, n, err := ParseRequest(b, 8192)
	if err != nil || n != len(req) {
		t.Fatalf("%d %v", n, err)
	}
	if r.Path != "/ws" || r.Host != "h:1" || r.Origin != "http://h:1" || len(r.Protocols) != 2 || r.Protocols[1] != "simpleserver.v1" {
		t.Errorf("%+v", r)
	}
	if status, why := r.CheckUpgrade(); status != 0 {
		t.Errorf("CheckUpgrade: %d %s", status, why)
	}
	if _, _, err := ParseRequest(bytes.Repeat([]byte("a"), 100), 100); err != ErrRequestTooLarge {
		t.Errorf("oversized head: %v", err)
	}
	if _, _, err := ParseRequest([]byte("GET /\r\n\r\n"), 0); err != ErrBadRequest {
		t.Errorf("HTTP/0.9: %v", err)
	}
}

func TestCloseFrames(t *testing.T) {
	long := string(bytes.Repeat([]byte("é"), 100)) // 200 bytes
	f := AppendClose(nil, 1001, long)
	h, n, _ := ParseHeader(f)
	code, reason, err := ParseClose(f[n:])
	if err != nil || code != 1001 || len(reason) > MaxCloseReason || !utf8.Valid(reason) || h.Length > MaxControlPayload {
		t.Errorf("%d %q %v", code, reason, err)
	}
	for _, p := range [][]byte{{3}, {0x03, 0xed}, {0x0b, 0xb8, 0xff}} {
		if _, _, err := ParseClose(p); err == nil {
			t.Errorf("% x accepted", p)
		}
	}
}

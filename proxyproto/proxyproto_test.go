package proxyproto

import (
	"errors"
	"net/netip"
	"testing"
)

var (
	src4 = netip.MustParseAddrPort("203.0.113.7:51234")
	dst4 = netip.MustParseAddrPort("10.0.0.2:8080")
	src6 = netip.MustParseAddrPort("[2001:db8::1]:4000")
	dst6 = netip.MustParseAddrPort("[2001:db8::2]:443")
)

func TestParseValid(t *testing.T) {
	tlv := []byte{0x04, 0x00, 0x02, 'o', 'k'} // a NOOP TLV, skipped
	for _, tc := range []struct {
		name     string
		in       []byte
		want     Header
		trailing string
	}{
		{"v1 tcp4", AppendV1(nil, src4, dst4), Header{Version: 1, Source: src4, Destination: dst4}, "\x00\x00"},
		{"v1 tcp6", AppendV1(nil, src6, dst6), Header{Version: 1, Source: src6, Destination: dst6}, ""},
		{"v1 unknown", []byte("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), Header{Version: 1, Local: true}, "x"},
		{"v1 unknown bare", []byte("PROXY UNKNOWN\r\n"), Header{Version: 1, Local: true}, ""},
		{"v2 tcp4", AppendV2(nil, src4, dst4, nil), Header{Version: 2, Source: src4, Destination: dst4}, "\x00"},
		{"v2 tcp6 tlv", AppendV2(nil, src6, dst6, tlv), Header{Version: 2, Source: src6, Destination: dst6}, "abc"},
		{"v2 local", append(append([]byte{}, v2Signature...), 0x20, 0x00, 0, 0), Header{Version: 2, Local: true}, ""},
		{"v2 unspec", append(append([]byte{}, v2Signature...), 0x21, 0x00, 0, 0), Header{Version: 2, Local: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := append(append([]byte{}, tc.in...), tc.trailing...)
			h, n, err := Parse(stream)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if h != tc.want || n != len(tc.in) {
				t.Fatalf("got %+v (%d bytes), want %+v (%d bytes)", h, n, tc.want, len(tc.in))
			}
			// Every proper prefix is incomplete, never an error: the loop
			// may see the header in any number of pieces.
			for i := 0; i < len(tc.in); i++ {
				if _, _, err := Parse(tc.in[:i]); !errors.Is(err, ErrIncomplete) {
					t.Fatalf("prefix of %d bytes: %v, want ErrIncomplete", i, err)
				}
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	sig := string(v2Signature)
	for _, tc := range []struct {
		name string
		in   string
		want error
	}{
		{"v1 frame", "\x00\x00\x00\x05\x01hello", ErrNoHeader},
		{"http", "GET / HTTP/1.1\r\n", ErrNoHeader},
		{"near v1", "PROXZ TCP4", ErrNoHeader},
		{"v1 lf only", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", ErrMalformed},
		{"v1 bad proto", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", ErrMalformed},
		{"v1 family mismatch", "PROXY TCP4 ::1 ::2 1 2\r\n", ErrMalformed},
		{"v1 bad ip", "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", ErrMalformed},
		{"v1 bad port", "PROXY TCP4 1.2.3.4 5.6.7.8 70000 2\r\n", ErrMalformed},
		{"v1 leading zero", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", ErrMalformed},
		{"v1 double space", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", ErrMalformed},
		{"v1 few fields", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", ErrMalformed},
		{"v1 too long", "PROXY TCP4 " + string(make([]byte, 120)), ErrMalformed},
		{"v2 version", sig + "\x31\x11\x00\x0c" + string(make([]byte, 12)), ErrMalformed},
		{"v2 command", sig + "\x22\x11\x00\x0c" + string(make([]byte, 12)), ErrMalformed},
		{"v2 udp", sig + "\x21\x12\x00\x0c" + string(make([]byte, 12)), ErrMalformed},
		{"v2 short ipv4", sig + "\x21\x11\x00\x04" + string(make([]byte, 4)), ErrMalformed},
		{"v2 short ipv6", sig + "\x21\x21\x00\x0c" + string(make([]byte, 12)), ErrMalformed},
		{"v2 over cap", sig + "\x21\x11\xff\xff", ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tc.in))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse(%q) = %v, want %v", tc.in, err, tc.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		in          string
		match, need bool
	}{
		{"", false, true},
		{"PRO", false, true},
		{"PROXY ", true, false},
		{"\r\n\r\n", false, true},
		{string(v2Signature), true, false},
		{"\x00", false, false},
		{"G", false, false},
	} {
		if m, n := Match([]byte(tc.in)); m != tc.match || n != tc.need {
			t.Errorf("Match(%q) = %v, %v; want %v, %v", tc.in, m, n, tc.match, tc.need)
		}
	}
}

// FuzzParse: Parse never panics, never claims more bytes than it was given,
// and answers a prefix of a valid header with ErrIncomplete.
func FuzzParse(f *testing.F) {
	f.Add(AppendV1(nil, src4, dst4))
	f.Add(AppendV2(nil, src6, dst6, []byte{1, 0, 1, 'x'}))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b)
		if err != nil {
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("size %d of %d bytes", n, len(b))
		}
		if h.Version != 1 && h.Version != 2 {
			t.Fatalf("version %d", h.Version)
		}
		for i := 0; i < n; i++ {
			if _, _, err := Parse(b[:i]); !errors.Is(err, ErrIncomplete) {
				t.Fatalf("prefix %d of a valid header: %v", i, err)
			}
		}
	})
}

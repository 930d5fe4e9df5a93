package wsproto

import "testing"

// browserRequest is what a Chromium upgrade request looks like: the kept
// headers and a dozen others.
var browserRequest = []byte("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\nCache-Control: no-cache\r\n" +
	"Pragma: no-cache\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
	"Origin: http://127.0.0.1:8080\r\nSec-WebSocket-Protocol: simpleserver.v1\r\n" +
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")

// TestUpgradeZeroAllocs: answering an upgrade allocates nothing once the
// request is parsed (the accept key is hashed and encoded on the stack),
// and parsing allocates only the strings of the headers it keeps. A
// handshake's garbage is RSS headroom after a burst of browsers connecting.
func TestUpgradeZeroAllocs(t *testing.T) {
	r, n, err := ParseRequest(browserRequest, 8192)
	if err != nil || n != len(browserRequest) {
		t.Fatalf("parse: n %d, %v", n, err)
	}
	if status, why := r.CheckUpgrade(); status != 0 {
		t.Fatalf("CheckUpgrade: %d %s", status, why)
	}
	buf := make([]byte, 0, 256)
	var out []byte
	if a := testing.AllocsPerRun(100, func() {
		r.CheckUpgrade()
		out = AppendUpgradeResponse(buf[:0], r.Key, "simpleserver.v1")
	}); a != 0 {
		t.Errorf("CheckUpgrade + AppendUpgradeResponse: %v allocs, want 0", a)
	}
	want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: simpleserver.v1\r\n\r\n"
	if string(out) != want {
		t.Errorf("response:\n%q\nwant\n%q", out, want)
	}
	// Method, Target, and one string per kept header (Host, Upgrade,
	// Connection, Key, Version, Origin, Extensions), the protocol and its
	// slice: the ignored headers cost nothing.
	if a := testing.AllocsPerRun(100, func() { r, _, _ = ParseRequest(browserRequest, 8192) }); a > 11 {
		t.Errorf("ParseRequest: %v allocs, want at most 11", a)
	}
}

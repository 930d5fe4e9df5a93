package loadgen

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/simpleserver-go/simpleserver/proto"
)

// unmaskClientFrame parses one masked client frame and returns its payload.
func unmaskClientFrame(t *testing.T, f []byte) []byte {
	t.Helper()
	if f[0] != 0x82 {
		t.Fatalf("first byte %#x, want FIN+binary 0x82", f[0])
	}
	if f[1]&0x80 == 0 {
		t.Fatal("client frame is not masked")
	}
	n, p := int(f[1]&0x7f), 2
	switch n {
	case 126:
		n, p = int(binary.BigEndian.Uint16(f[2:])), 4
	case 127:
		n, p = int(binary.BigEndian.Uint64(f[2:])), 10
	}
	var key [4]byte
	copy(key[:], f[p:p+4])
	p += 4
	if len(f)-p != n {
		t.Fatalf("frame has %d payload bytes, header says %d", len(f)-p, n)
	}
	out := append([]byte(nil), f[p:]...)
	wsMask(out, key, 0)
	return out
}

func TestWSFrameLengths(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 70000} {
		payload := bytes.Repeat([]byte{0xa5}, n)
		srv := wsServerFrame(nil, payload)
		if len(srv) != wsHeaderLen(n)+n {
			t.Errorf("n=%d: server frame is %d bytes, want %d", n, len(srv), wsHeaderLen(n)+n)
		}
		if srv[1]&0x80 != 0 {
			t.Errorf("n=%d: server frame is masked", n)
		}
		want := map[bool]int{true: 2, false: map[bool]int{true: 4, false: 10}[n <= 0xffff]}[n < 126]
		if wsHeaderLen(n) != want {
			t.Errorf("n=%d: header length %d, want %d (RFC 6455 minimal length)", n, wsHeaderLen(n), want)
		}
		cli := wsClientFrame(nil, payload, benchMaskKey)
		if got := unmaskClientFrame(t, cli); !bytes.Equal(got, payload) {
			t.Errorf("n=%d: client frame does not unmask to its payload", n)
		}
	}
}

// A WebSocket template must put on the wire the masked frame of exactly
// the payload a TCP template would carry, stamp included, and expect back
// that payload in an unmasked frame.
func TestWSTemplateMatchesTCP(t *testing.T) {
	for _, tc := range []struct {
		size, headers int
		bcast         bool
	}{{64, 0, false}, {64, 0, true}, {1024, 3, false}, {200, 1, true}, {70000, 0, false}} {
		tcp, err := newTemplate(tc.size, tc.headers, tc.bcast, false)
		if err != nil {
			t.Fatal(err)
		}
		ws, err := newTemplate(tc.size, tc.headers, tc.bcast, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, seq := range []uint64{0, 1, 0x0102030405060708, ^uint64(0)} {
			ts := int64(seq>>1) + 12345
			tf := tcp.append(nil, seq, ts)
			wf := ws.append(nil, seq, ts)
			payload := tf[proto.LengthSize:]
			if got := unmaskClientFrame(t, wf); !bytes.Equal(got, payload) {
				t.Fatalf("%+v seq %x: WebSocket frame carries % x..., want % x...", tc, seq, got[:min(40, len(got))], payload[:min(40, len(payload))])
			}
			// The server's echo of it passes check with the same stamp.
			reply := wsServerFrame(nil, payload)
			if len(reply) != len(ws.frame) {
				t.Fatalf("reply is %d bytes, template expects %d", len(reply), len(ws.frame))
			}
			gs, gts, ok := ws.check(reply)
			if !ok || gs != seq || (tc.bcast && gts != ts) {
				t.Fatalf("%+v: check(reply) = %x, %d, %v; want %x, %d, true", tc, gs, gts, ok, seq, ts)
			}
			reply[len(reply)-1] ^= 1
			if _, _, ok := ws.check(reply); ok {
				t.Fatal("check accepted a changed reply")
			}
		}
	}
}

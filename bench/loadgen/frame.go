package loadgen

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// base is the origin of the monotonic nanosecond clock used for latencies
// and for the timestamps broadcasts carry (sender and receivers share it).
var base = time.Now()

func nanotime() int64 { return int64(time.Since(base)) }

// template is one encoded MESSAGE frame whose body starts with stamp bytes
// that vary per frame (a sequence number, then for broadcasts a send
// timestamp); all other bytes are fixed, so a reply can be checked byte for
// byte against the template plus the expected stamp.
//
// Over TCP the client sends exactly what the server sends back. Over
// WebSocket they differ: the client's frames are masked (send), the
// server's are not (frame).
type template struct {
	frame []byte // the frame as the server sends it
	off   int    // offset of the body in frame, where the stamp starts
	stamp int    // 8 (sequence) or 16 (sequence + timestamp)

	send    []byte // the frame as the client sends it
	sendOff int    // offset of the body in send
	ws      bool   // send is masked with benchMaskKey
	bodyPos int    // offset of the body in the masked payload (for the key phase)
}

// newTemplate encodes a MESSAGE with the given number of extra headers
// ("h0".."hN" with 8-byte values), a "bcast" header first when bcast is set,
// and a body of size bytes, framed for TCP or (ws) for WebSocket.
func newTemplate(size, headers int, bcast, ws bool) (*template, error) {
	stamp := 8
	if bcast {
		stamp = 16
	}
	if size < stamp {
		return nil, fmt.Errorf("-size %d too small: the body carries a %d-byte stamp", size, stamp)
	}
	m := proto.NewMessage()
	if bcast {
		m.AddHeader("bcast", "")
	}
	for i := range headers {
		m.AddHeader(fmt.Sprintf("h%d", i), fmt.Sprintf("value%03d", i%1000))
	}
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i*31 + 7)
	}
	m.SetBody(body)
	f, err := proto.AppendFrame(nil, m)
	if err != nil {
		return nil, err
	}
	if !ws {
		return &template{frame: f, off: len(f) - size, stamp: stamp, send: f, sendOff: len(f) - size}, nil
	}
	payload := f[proto.LengthSize:]
	srvFrame := wsServerFrame(nil, payload)
	cliFrame := wsClientFrame(nil, payload, benchMaskKey)
	return &template{
		frame: srvFrame, off: len(srvFrame) - size, stamp: stamp,
		send: cliFrame, sendOff: len(cliFrame) - size, ws: true, bodyPos: len(payload) - size,
	}, nil
}

// append appends the frame with sequence seq (and timestamp ts for broadcast
// templates) to dst.
func (t *template) append(dst []byte, seq uint64, ts int64) []byte {
	n := len(dst)
	dst = append(dst, t.send...)
	s := dst[n+t.sendOff : n+t.sendOff+t.stamp]
	binary.BigEndian.PutUint64(s, seq)
	if t.stamp == 16 {
		binary.BigEndian.PutUint64(s[8:], uint64(ts))
	}
	if t.ws {
		wsMask(s, benchMaskKey, t.bodyPos)
	}
	return dst
}

// check reports whether f (exactly len(t.frame) bytes) equals the template
// outside the stamp, and returns the stamp's sequence and timestamp.
func (t *template) check(f []byte) (seq uint64, ts int64, ok bool) {
	s := t.off + t.stamp
	if !bytes.Equal(f[:t.off], t.frame[:t.off]) || !bytes.Equal(f[s:], t.frame[s:]) {
		return 0, 0, false
	}
	seq = binary.BigEndian.Uint64(f[t.off:])
	if t.stamp == 16 {
		ts = int64(binary.BigEndian.Uint64(f[t.off+8:]))
	}
	return seq, ts, true
}

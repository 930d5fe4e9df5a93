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
type template struct {
	frame []byte
	off   int // offset of the body, where the stamp starts
	stamp int // 8 (sequence) or 16 (sequence + timestamp)
}

// newTemplate encodes a MESSAGE with the given number of extra headers
// ("h0".."hN" with 8-byte values), a "bcast" header first when bcast is set,
// and a body of size bytes.
func newTemplate(size, headers int, bcast bool) (*template, error) {
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
	return &template{frame: f, off: len(f) - size, stamp: stamp}, nil
}

// append appends the frame with sequence seq (and timestamp ts for broadcast
// templates) to dst.
func (t *template) append(dst []byte, seq uint64, ts int64) []byte {
	n := len(dst)
	dst = append(dst, t.frame...)
	binary.BigEndian.PutUint64(dst[n+t.off:], seq)
	if t.stamp == 16 {
		binary.BigEndian.PutUint64(dst[n+t.off+8:], uint64(ts))
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

package proto

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// randMessage fills m with random headers and body and returns what it put
// there. Names come partly from a small pool so duplicates are common; names,
// values and bodies hold arbitrary bytes; lengths cross the 1-to-2-byte
// uvarint boundary at 128.
func randMessage(r *rand.Rand, m *Message) ([]hdr, []byte) {
	pool := []string{"a", "id", "handshake", "\x00", "\xff\xfe"}
	m.Reset()
	n := 0
	switch r.IntN(4) {
	case 0: // none
	case 1:
		n = 1 + r.IntN(3)
	default:
		n = r.IntN(DefaultMaxHeaders + 1)
	}
	hs := make([]hdr, n)
	for i := range hs {
		var name string
		if r.IntN(3) == 0 {
			name = pool[r.IntN(len(pool))]
		} else {
			name = string(randBytes(r, 1+r.IntN(MaxHeaderNameLen)))
		}
		var value string
		switch r.IntN(3) {
		case 0: // no value
		case 1:
			value = string(randBytes(r, r.IntN(20)))
		default:
			value = string(randBytes(r, r.IntN(400)))
		}
		hs[i] = hdr{name, value}
		if r.IntN(2) == 0 {
			m.AddHeader(name, value)
		} else {
			m.AddHeaderBytes([]byte(name), []byte(value))
		}
	}
	var body []byte
	switch r.IntN(4) {
	case 0: // empty
	case 1:
		body = randBytes(r, r.IntN(130))
	case 2:
		body = randBytes(r, r.IntN(5000))
	default:
		body = randBytes(r, r.IntN(70000))
	}
	m.SetBody(body)
	return hs, body
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// Random messages round-trip exactly: same headers in the same order, same
// body, and the decoded message re-encodes to the same bytes.
func TestRoundTripProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	iters := 3000
	if testing.Short() {
		iters = 300
	}
	var m, d Message
	var buf, again []byte
	for i := range iters {
		hs, body := randMessage(r, &m)
		var err error
		buf, err = AppendFrame(buf[:0], &m)
		if err != nil {
			t.Fatalf("iter %d: %v", i, err)
		}
		if len(buf) != LengthSize+m.PayloadSize() {
			t.Fatalf("iter %d: frame is %d bytes, PayloadSize says %d", i, len(buf), m.PayloadSize())
		}
		p, n, err := Split(buf, 0)
		if err != nil || n != len(buf) {
			t.Fatalf("iter %d: Split = %d, %v", i, n, err)
		}
		k, _, err := ParsePayload(p, &d, nil)
		if err != nil || k != KindMessage {
			t.Fatalf("iter %d: ParsePayload = %v, %v", i, k, err)
		}
		checkMessage(t, &d, hs, string(body))
		for _, h := range hs {
			if v, ok := d.Header(h.name); !ok || string(v) != firstValue(hs, h.name) {
				t.Fatalf("iter %d: Header(%q) = %q, %v; want the first value", i, h.name, v, ok)
			}
		}
		again, err = AppendFrame(again[:0], &d)
		if err != nil || !bytes.Equal(again, buf) {
			t.Fatalf("iter %d: decoded message re-encodes differently (%v)", i, err)
		}
		c := d.Clone()
		clear(buf)
		checkMessage(t, c, hs, string(body))
	}
}

func firstValue(hs []hdr, name string) string {
	for _, h := range hs {
		if h.name == name {
			return h.value
		}
	}
	panic("no header " + name)
}

// frameSpec is what one frame of a random stream should decode to.
type frameSpec struct {
	kind Kind
	hdrs []hdr
	body []byte // MESSAGE body or control bytes
}

// randStream returns many concatenated frames of every kind and what each
// should decode to.
func randStream(r *rand.Rand, frames int) ([]byte, []frameSpec) {
	var stream []byte
	var want []frameSpec
	var m Message
	for range frames {
		switch k := r.IntN(8); k {
		case 0:
			b := randBytes(r, r.IntN(MaxPingPayload+1))
			stream = AppendPing(stream, b)
			want = append(want, frameSpec{KindPing, nil, b})
		case 1:
			b := randBytes(r, r.IntN(200))
			stream = AppendPong(stream, b)
			want = append(want, frameSpec{KindPong, nil, b})
		case 2:
			b := randBytes(r, r.IntN(3000))
			stream, _ = AppendRawFrame(stream, b)
			want = append(want, frameSpec{KindMessage, nil, b})
		default:
			hs, body := randMessage(r, &m)
			var err error
			if stream, err = AppendFrame(stream, &m); err != nil {
				panic(err)
			}
			want = append(want, frameSpec{KindMessage, hs, body})
		}
	}
	reason := "done"
	stream = AppendClose(stream, reason)
	want = append(want, frameSpec{KindClose, nil, []byte(reason)})
	return stream, want
}

func checkFrame(t *testing.T, i int, payload []byte, m *Message, want frameSpec) {
	t.Helper()
	k, rest, err := ParsePayload(payload, m, nil)
	if err != nil || k != want.kind {
		t.Fatalf("frame %d: ParsePayload = %v, %v; want %v", i, k, err, want.kind)
	}
	if k == KindMessage {
		checkMessage(t, m, want.hdrs, string(want.body))
	} else if !bytes.Equal(rest, want.body) {
		t.Fatalf("frame %d: %v data = % x, want % x", i, k, rest, want.body)
	}
}

// Many frames back to back come out of Split one by one, intact.
func TestStreamProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 20 {
		stream, want := randStream(r, 100)
		var m Message
		got := 0
		for b := stream; len(b) > 0; got++ {
			p, n, err := Split(b, 0)
			if err != nil || n == 0 {
				t.Fatalf("round %d frame %d: Split = %d, %v", round, got, n, err)
			}
			checkFrame(t, got, p, &m, want[got])
			b = b[n:]
		}
		if got != len(want) {
			t.Fatalf("round %d: %d frames, want %d", round, got, len(want))
		}
	}
}

// The same stream fed in random-sized chunks, as reads from a socket would
// deliver it, decodes to the same frames: the receive loop of the engine and
// the client in miniature.
func TestChunkedStreamProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for round := range 20 {
		stream, want := randStream(r, 100)
		var (
			m    Message
			buf  []byte // bytes received, not yet consumed
			got  int
			maxC = []int{1, 7, 64, 4096, 100000}[round%5]
		)
		for off := 0; off < len(stream); {
			c := min(1+r.IntN(maxC), len(stream)-off)
			buf = append(buf, stream[off:off+c]...)
			off += c
			for {
				p, n, err := Split(buf, 0)
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				if n == 0 {
					if len(buf) >= LengthSize {
						if size, _ := FrameSize(buf, 0); size <= len(buf) {
							t.Fatalf("round %d: Split wants more bytes but FrameSize %d <= %d buffered", round, size, len(buf))
						}
					}
					break
				}
				checkFrame(t, got, p, &m, want[got])
				got++
				buf = append(buf[:0], buf[n:]...)
			}
		}
		if got != len(want) || len(buf) != 0 {
			t.Fatalf("round %d: %d frames and %d bytes left, want %d and 0", round, got, len(buf), len(want))
		}
	}
}

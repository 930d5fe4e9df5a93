package wsproto

import (
	"bytes"
	"fmt"
	"testing"
)

// readAll runs the server-side read loop over data delivered in the given
// pieces, the way an event loop sees it: bytes accumulate, every complete
// frame is handled, the rest waits. It returns the events (as text) and
// the first error.
func readAll(data []byte, pieces []int) (events []string, err error) {
	a := Assembler{MaxMessage: 1 << 12, TextPrefix: []byte{0, 0}}
	defer a.Release()
	var buf []byte
	closed := false
	feed := func(b []byte) error {
		if closed {
			return nil // what follows a close is ignored
		}
		buf = append(buf, b...)
		for {
			h, n, err := ParseHeader(buf)
			if err == nil && n > 0 {
				err = a.CheckHeader(&h)
			}
			if err != nil {
				return err
			}
			if n == 0 || int64(len(buf)-n) < h.Length {
				return nil
			}
			size := n + int(h.Length)
			frame := append([]byte(nil), buf[:size]...)
			Mask(frame[n:], h.Key, 0)
			ev, err := a.Frame(&h, frame[n:])
			if err != nil {
				return err
			}
			if ev.Kind != EventNone {
				events = append(events, fmt.Sprintf("%d/%d/%d/%x", ev.Kind, ev.Op, ev.Code, ev.Data))
			}
			if ev.Kind == EventClose {
				closed = true
				return nil
			}
			buf = buf[size:]
		}
	}
	for _, p := range pieces {
		p = min(p, len(data))
		if err := feed(data[:p]); err != nil {
			return events, err
		}
		data = data[p:]
	}
	return events, feed(data)
}

// FuzzFrames: the frame parser and Assembler never panic, never read out
// of bounds, and give the same events and error whether a stream arrives
// whole or split at arbitrary points.
func FuzzFrames(f *testing.F) {
	key := []byte{1, 2, 3, 4}
	frame := func(fin bool, op Opcode, p string) []byte {
		b := AppendHeader(nil, fin, op, len(p), key)
		n := len(b)
		b = append(b, p...)
		Mask(b[n:], [4]byte(key), 0)
		return b
	}
	f.Add(frame(true, OpText, "hello"), uint16(3), uint16(9))
	f.Add(bytes.Join([][]byte{frame(false, OpText, "κό"), frame(true, OpPing, "p"), frame(true, OpContinuation, "σμε")}, nil), uint16(1), uint16(20))
	f.Add(frame(true, OpBinary, string(make([]byte, 300))), uint16(2), uint16(4))
	f.Add(frame(true, OpClose, "\x03\xe8bye"), uint16(5), uint16(6))
	f.Add(frame(false, OpText, "\xf4\x90"), uint16(0), uint16(0))
	f.Add([]byte{0x82, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, uint16(7), uint16(7))
	f.Fuzz(func(t *testing.T, data []byte, s1, s2 uint16) {
		want, wantErr := readAll(data, nil)
		got, gotErr := readAll(data, []int{int(s1) % (len(data) + 1), int(s2) % (len(data) + 1), 1})
		if wantErr != gotErr || len(want) != len(got) {
			t.Fatalf("whole: %v %v; split: %v %v", want, wantErr, got, gotErr)
		}
		for i := range want {
			if want[i] != got[i] {
				t.Fatalf("event %d: %s vs %s", i, want[i], got[i])
			}
		}
	})
}

// FuzzUTF8State: pieces of any text agree with utf8.Valid of the whole.
func FuzzUTF8State(f *testing.F) {
	f.Add([]byte("κόσμε😀"), uint8(3))
	f.Add([]byte("\xed\xa0\x80"), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, step uint8) {
		n := int(step%5) + 1
		var st UTF8State
		ok := true
		for i := 0; i < len(b) && ok; i += n {
			ok = st.Write(b[i:min(i+n, len(b))])
		}
		ok = ok && st.Done()
		if ok != ValidUTF8(b) {
			t.Fatalf("%q in pieces of %d: %v", b, n, ok)
		}
	})
}

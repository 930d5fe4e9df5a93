package proto

import (
	"bytes"
	"strconv"
	"testing"
)

// benchCase is one message shape from the benchmark list.
type benchCase struct {
	name    string
	headers int
	body    int
}

var benchCases = []benchCase{
	{"h0_b64", 0, 64},
	{"h4_b1KiB", 4, 1 << 10},
	{"h16_b64KiB", 16, 64 << 10},
}

// benchMessage returns a message with n headers named like "x-header-07"
// with 16-byte values, and a body of size bytes.
func benchMessage(n, size int) *Message {
	m := NewMessage()
	for i := range n {
		m.AddHeader(benchName(i), "value-0123456789")
	}
	return m.SetBody(bytes.Repeat([]byte{'b'}, size))
}

func benchName(i int) string {
	s := strconv.Itoa(i)
	if len(s) < 2 {
		s = "0" + s
	}
	return "x-header-" + s
}

// BenchmarkEncode measures AppendFrame into a reused buffer.
func BenchmarkEncode(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			m := benchMessage(bc.headers, bc.body)
			buf, _ := AppendFrame(nil, m)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = AppendFrame(buf[:0], m)
			}
		})
	}
}

// BenchmarkDecode measures ParsePayload into a reused Message.
func BenchmarkDecode(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			frame, _ := AppendFrame(nil, benchMessage(bc.headers, bc.body))
			p := frame[LengthSize:]
			var m Message
			ParsePayload(p, &m, nil) // size m's header slice once
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := ParsePayload(p, &m, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSplitDecode is the receive path: Split a frame off a buffer of
// many and decode it.
func BenchmarkSplitDecode(b *testing.B) {
	bc := benchCases[1]
	frame, _ := AppendFrame(nil, benchMessage(bc.headers, bc.body))
	stream := bytes.Repeat(frame, 64)
	var m Message
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	rest := stream
	for b.Loop() {
		if len(rest) == 0 {
			rest = stream
		}
		p, n, err := Split(rest, 0)
		if err != nil || n == 0 {
			b.Fatal(n, err)
		}
		if _, _, err := ParsePayload(p, &m, nil); err != nil {
			b.Fatal(err)
		}
		rest = rest[n:]
	}
}

// BenchmarkLookup measures header lookup on a decoded 16-header message:
// the first header, the last one, and a name that is not there (a full scan).
// It reports no MB/s: a lookup's cost depends on the header count, not bytes.
func BenchmarkLookup(b *testing.B) {
	frame, _ := AppendFrame(nil, benchMessage(16, 64))
	var m Message
	if _, _, err := ParsePayload(frame[LengthSize:], &m, nil); err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{benchName(0), benchName(15), "x-header-99"} {
		want := name != "x-header-99"
		b.Run("Header/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := m.Header(name); ok != want {
					b.Fatal(ok)
				}
			}
		})
	}
	b.Run("HasHeader/missing", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if m.HasHeader("x-header-99") {
				b.Fatal("found")
			}
		}
	})
}

// BenchmarkControl measures the control frame encoders.
func BenchmarkControl(b *testing.B) {
	data := []byte("ping-0123456789")
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPing(buf[:0], data)
		buf = AppendPong(buf, data)
	}
}

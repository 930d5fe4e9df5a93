package legacy

import (
	"strings"
	"testing"

	"github.com/simpleserver-go/simpleserver/proto"
)

// The seed's handshake and a chat line with a 200-byte body, each way.
var benchInputs = []struct{ name, text string }{
	{"handshake", "$handshake:|%Hello server!"},
	{"chat200", "$from:127.0.0.1:54476|room:lobby|%" + strings.Repeat("x", 200)},
}

func BenchmarkDecode(b *testing.B) {
	for _, in := range benchInputs {
		b.Run(in.name, func(b *testing.B) {
			data, m := []byte(in.text), proto.NewMessage()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := Decode(m, data, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, in := range benchInputs {
		b.Run(in.name, func(b *testing.B) {
			m := proto.NewMessage()
			if err := Decode(m, []byte(in.text), nil); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 0, MaxMessageSize)
			b.SetBytes(int64(Size(m)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = Append(buf[:0], m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

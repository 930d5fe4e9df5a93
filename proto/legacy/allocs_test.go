package legacy

import (
	"strings"
	"testing"

	"github.com/simpleserver-go/simpleserver/proto"
)

// Decoding into a reused Message and encoding into a reused buffer do not
// allocate. An assertion, not a timing.
func TestZeroAllocs(t *testing.T) {
	in := []byte("$handshake:|seq:42|%" + strings.Repeat("x", 200))
	m := proto.NewMessage()
	if err := Decode(m, in, nil); err != nil {
		t.Fatal(err)
	}
	buf, err := Append(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		f    func()
	}{
		{"Decode", func() { _ = Decode(m, in, nil) }},
		{"Decode raw", func() { _ = Decode(m, in[20:], nil) }},
		{"Append", func() { buf, _ = Append(buf[:0], m) }},
		{"Size", func() { _ = Size(m) }},
	} {
		if n := testing.AllocsPerRun(100, c.f); n != 0 {
			t.Errorf("%s: %v allocs per run, want 0", c.what, n)
		}
	}
}

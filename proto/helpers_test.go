package proto

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// payload builds a frame payload from its parts: bytes, strings and single
// bytes are appended as they are; a uv is appended as a (shortest) uvarint.
// It is deliberately independent of the encoder under test.
func payload(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case byte:
			b = append(b, v)
		case Kind:
			b = append(b, byte(v))
		case int:
			if v < 0 || v > 255 {
				panic("payload: int part out of byte range; use uv")
			}
			b = append(b, byte(v))
		case uv:
			b = binary.AppendUvarint(b, uint64(v))
		case string:
			b = append(b, v...)
		case []byte:
			b = append(b, v...)
		default:
			panic("payload: unsupported part")
		}
	}
	return b
}

// uv marks a payload part to be written as a shortest-form uvarint.
type uv uint64

// framed prefixes p with its big-endian uint32 length.
func framed(p []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...)
}

// checkProtoErr fails t unless err is a *ProtocolError of class want whose
// Error text is readable: it starts with "protocol error: " and names the class.
func checkProtoErr(t *testing.T, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %v", want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want errors.Is(_, %v)", err, want)
	}
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %T %v, want a *ProtocolError", err, err)
	}
	if pe.Err != want {
		t.Fatalf("ProtocolError.Err = %v, want %v", pe.Err, want)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "protocol error: "+want.Error()) {
		t.Fatalf("Error() = %q, want it to start with %q", msg, "protocol error: "+want.Error())
	}
	if !isPrintable(msg) {
		t.Fatalf("Error() = %q is not printable text", msg)
	}
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return false
		}
	}
	return s != ""
}

// hdr is a header as a test expects it.
type hdr struct{ name, value string }

// checkMessage fails t unless m has exactly the headers want, in order, and
// the body wantBody.
func checkMessage(t *testing.T, m *Message, want []hdr, wantBody string) {
	t.Helper()
	if m.NumHeaders() != len(want) {
		t.Fatalf("NumHeaders = %d, want %d", m.NumHeaders(), len(want))
	}
	for i, h := range want {
		n, v := m.HeaderAt(i)
		if string(n) != h.name || string(v) != h.value {
			t.Fatalf("HeaderAt(%d) = %q=%q, want %q=%q", i, n, v, h.name, h.value)
		}
	}
	if got := string(m.Body()); got != wantBody {
		t.Fatalf("Body = %q, want %q", got, wantBody)
	}
}

package proto

import (
	"bytes"
	"testing"
)

func TestQuickWorkedExample(t *testing.T) {
	m := NewMessage().AddHeader("handshake", "").SetBodyString("Hello server!")
	b, err := AppendFrame(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte{0, 0, 0, 0x1a, 0, 1, 9}, "handshake"...)
	want = append(want, 0)
	want = append(want, "Hello server!"...)
	if !bytes.Equal(b, want) {
		t.Fatalf("got % x want % x", b, want)
	}
	p, n, err := Split(b, 0)
	if err != nil || n != len(b) {
		t.Fatal(err, n)
	}
	var d Message
	k, _, err := ParsePayload(p, &d, nil)
	if err != nil || k != KindMessage || !d.HasHeader("handshake") || d.BodyString() != "Hello server!" {
		t.Fatal(k, err)
	}
}

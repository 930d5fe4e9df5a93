package proto

import (
	"bytes"
	"errors"
	"testing"
)

// TestAppendPayloadIsFrameWithoutLength: transports that frame payloads
// themselves (WebSocket) send exactly the v1 frame minus its length prefix.
func TestAppendPayloadIsFrameWithoutLength(t *testing.T) {
	for _, m := range []*Message{
		NewMessage(),
		NewMessage().SetBodyString("hi"),
		NewMessage().AddHeader("handshake", "").SetBodyString("Hello server!"),
		NewMessage().AddHeader("a", "1").AddHeader("a", "2").SetBody(make([]byte, 300)),
	} {
		frame, err := AppendFrame(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		payload, err := AppendPayload([]byte("x"), m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(payload[1:], frame[LengthSize:]) || len(payload)-1 != m.PayloadSize() {
			t.Errorf("payload % x, frame % x", payload, frame)
		}
	}
	if _, err := AppendPayload(nil, NewMessage().AddHeader("", "v")); !errors.Is(err, ErrBadHeaderName) {
		t.Errorf("empty name: %v, want ErrBadHeaderName", err)
	}
}

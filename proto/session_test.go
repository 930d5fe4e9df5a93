package proto

import (
	"bytes"
	"errors"
	"testing"
)

func TestSessionFramesRoundTrip(t *testing.T) {
	tok := bytes.Repeat([]byte{0xab}, 32)
	b := AppendHello(nil, tok, 300)
	payload, n, err := Split(b, DefaultMaxFrameSize)
	if err != nil || n != len(b) || Kind(payload[0]) != KindHello {
		t.Fatalf("Split: %v %d %x", err, n, payload)
	}
	h, err := ParseHello(payload[1:])
	if err != nil || !bytes.Equal(h.Token, tok) || h.Received != 300 {
		t.Fatalf("ParseHello = %+v, %v", h, err)
	}
	// The worked example of docs/PROTOCOL.md: HELLO asking for a new session.
	if got := AppendHello(nil, nil, 0); !bytes.Equal(got, []byte{0, 0, 0, 3, 4, 0, 0}) {
		t.Fatalf("new-session HELLO = % x", got)
	}

	w := Welcome{Flags: WelcomeResumed, Token: tok, Received: 1 << 40, GraceMillis: 10000}
	b = AppendWelcome(nil, w)
	payload, _, err = Split(b, DefaultMaxFrameSize)
	if err != nil || Kind(payload[0]) != KindWelcome {
		t.Fatal(err)
	}
	got, err := ParseWelcome(payload[1:])
	if err != nil || !got.Resumed() || !bytes.Equal(got.Token, tok) || got.Received != 1<<40 || got.GraceMillis != 10000 {
		t.Fatalf("ParseWelcome = %+v, %v", got, err)
	}

	b = AppendAck(nil, 12345)
	payload, _, _ = Split(b, DefaultMaxFrameSize)
	if n, err := ParseAck(payload[1:]); err != nil || n != 12345 || Kind(payload[0]) != KindAck {
		t.Fatalf("ParseAck = %d, %v", n, err)
	}
}

func TestSessionFramesMalformed(t *testing.T) {
	for name, rest := range map[string][]byte{
		"empty":          {},
		"token past end": {5, 1, 2},
		"token too long": {65},
		"trailing":       {0, 0, 9},
		"overlong":       {0x80, 0x00, 0},
	} {
		if _, err := ParseHello(rest); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseHello(%s) = %v, want ErrMalformed", name, err)
		}
	}
	if _, err := ParseWelcome(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseWelcome(nil) = %v", err)
	}
	if _, err := ParseAck([]byte{1, 2}); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseAck trailing = %v", err)
	}
	// Version 1 receivers keep rejecting the new kinds.
	for _, k := range []Kind{KindHello, KindWelcome, KindAck} {
		if _, _, err := ParsePayload([]byte{byte(k), 0}, new(Message), nil); !errors.Is(err, ErrUnknownKind) {
			t.Errorf("ParsePayload(%v) = %v, want ErrUnknownKind", k, err)
		}
	}
}

func TestSkipFrames(t *testing.T) {
	var b []byte
	b = AppendPing(b, []byte("a"))
	b = AppendPing(b, []byte("bcd"))
	if n, ok := SkipFrames(b, 1); !ok || n != 6 {
		t.Fatalf("SkipFrames 1 = %d %v", n, ok)
	}
	if n, ok := SkipFrames(b, 2); !ok || n != len(b) {
		t.Fatalf("SkipFrames 2 = %d %v", n, ok)
	}
	if _, ok := SkipFrames(b, 3); ok {
		t.Fatal("SkipFrames past the end ok")
	}
}

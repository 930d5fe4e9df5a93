package engine

import (
	"bytes"
	"testing"

	"github.com/simpleserver-go/simpleserver/proto"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	frame, _ := proto.AppendFrame(nil, proto.NewMessage().SetBodyString("hi"))
	excl := []*Client{{id: 7<<nodeBits | 1}, nil} // Broadcast(m, nil): a nil exclusion excludes nobody
	b := appendEnvelope(nil, 7, "lobby.1", frame, Latest(1<<40), excl, []uint64{9<<nodeBits | 3})
	e, err := parseEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	if e.origin != 7 || e.room != "lobby.1" || !bytes.Equal(e.frame, frame) || e.nexcl != 2 ||
		e.laneOf() != Latest(1<<40) || e.excl(0) != 7<<nodeBits|1 || e.excl(1) != 9<<nodeBits|3 || NodeOf(e.excl(1)) != 9 {
		t.Fatalf("round trip: %+v", e)
	}
	for i := 0; i < len(b)-len(frame); i++ {
		if _, err := parseEnvelope(b[:i]); err == nil {
			t.Fatalf("truncated envelope of %d bytes accepted", i)
		}
	}
	bad := append([]byte{}, b...)
	bad[0] = 99
	if _, err := parseEnvelope(bad); err == nil {
		t.Fatal("unknown version accepted")
	}
}

func TestNodeIDs(t *testing.T) {
	s := NewServer("127.0.0.1", 0, WithNodeID(5))
	if s.NodeID() != 5 || s.nextID.Load()>>nodeBits != 5 {
		t.Fatalf("node %d, next ID %x", s.NodeID(), s.nextID.Load())
	}
	if s := NewServer("127.0.0.1", 0); s.NodeID() != 0 || s.nextID.Load() != 0 {
		t.Fatal("a server without broker or node ID numbers clients from 1")
	}
	if _, err := New(Config{NodeID: MaxNodeID + 1}); err == nil {
		t.Fatal("node ID over MaxNodeID accepted")
	}
}

func TestDirectEnvelopeRoundTrip(t *testing.T) {
	frame, _ := proto.AppendFrame(nil, proto.NewMessage().SetBodyString("psst"))
	target := uint64(3)<<nodeBits | 42
	b := appendDirect(nil, 7, target, frame, Ephemeral(200e6))
	e, err := parseEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	if !e.direct || e.origin != 7 || e.target != target || !bytes.Equal(e.frame, frame) || e.laneOf() != Ephemeral(200e6) {
		t.Fatalf("round trip: %+v", e)
	}
	for i := 0; i < len(b)-len(frame); i++ {
		if _, err := parseEnvelope(b[:i]); err == nil {
			t.Fatalf("truncated direct envelope of %d bytes accepted", i)
		}
	}
}

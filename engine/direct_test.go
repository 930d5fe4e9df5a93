package engine

import (
	"errors"
	"testing"

	"github.com/simpleserver-go/simpleserver/proto"
)

// TestSendToIDLocal: without a broker, SendToID reaches a connected client
// by its ID, and an ID with no client here (never one, or gone) is
// ErrNoSuchClient.
func TestSendToIDLocal(t *testing.T) {
	s := startServer(t)
	conns := make(chan *Client, 2)
	gone := make(chan *Client, 2)
	s.OnConnection.AddListener(func(c *Client) { conns <- c })
	s.OnDisconnect.AddListener(func(c *Client, _ error) { gone <- c })
	run(t, s)
	a, b := dial(t, s), dial(t, s)
	a.send(proto.NewMessage()) // announce both (they may wait for a first byte)
	b.send(proto.NewMessage())
	ca, cb := <-conns, <-conns
	if ca.ID() == cb.ID() {
		t.Fatal("two clients with one ID")
	}
	if s.ClientByID(ca.ID()) != ca || s.ClientByID(cb.ID()) != cb {
		t.Fatal("ClientByID does not find connected clients")
	}
	ra := b // the raw end of ca
	if ca.RemoteAddr().String() == a.LocalAddr().String() {
		ra = a
	}
	if err := s.SendToID(ca.ID(), proto.NewMessage().SetBodyString("to-a")); err != nil {
		t.Fatal(err)
	}
	if m := ra.readMessage(); m.BodyString() != "to-a" {
		t.Fatalf("got %q", m.BodyString())
	}
	if err := s.SendToID(cb.ID()+ca.ID()+100, proto.NewMessage()); !errors.Is(err, ErrNoSuchClient) {
		t.Fatalf("SendToID of an unknown ID: %v, want ErrNoSuchClient", err)
	}
	ra.Close()
	if c := <-gone; c != ca {
		t.Fatal("another client left")
	}
	if s.ClientByID(ca.ID()) != nil {
		t.Fatal("ClientByID finds a client after its OnDisconnect")
	}
	if err := s.SendToID(ca.ID(), proto.NewMessage()); !errors.Is(err, ErrNoSuchClient) {
		t.Fatalf("SendToID of a gone client: %v, want ErrNoSuchClient", err)
	}
}

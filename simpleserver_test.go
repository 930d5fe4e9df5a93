package simpleserver_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver"
)

// TestOneImport runs the seed's handshake through the root package only.
func TestOneImport(t *testing.T) {
	server := simpleserver.NewServer("127.0.0.1", 0, simpleserver.WithTickRate(60), simpleserver.WithEventLoops(1))
	server.OnMessage.AddListener(func(c *simpleserver.Client, m *simpleserver.NetworkMessage) {
		if m.HasHeader("handshake") {
			_ = c.Send(simpleserver.NewMessage().AddHeader("handshake", "example").SetBodyString("Hello from the server!"))
		}
	})
	if err := server.StartAsync(); err != nil {
		t.Fatal(err)
	}
	defer server.Stop(context.Background())

	addr := server.Addr().(*net.TCPAddr)
	c := simpleserver.NewClient()
	if err := c.Connect(addr.IP.String(), addr.Port); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Send(simpleserver.NewMessage().AddHeader("handshake", "").SetBodyString("Hello server!")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := c.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := m.HeaderString("handshake"); v != "example" || m.BodyString() != "Hello from the server!" {
		t.Fatalf("got %q %q", v, m.BodyString())
	}
}

package engine

import (
	"testing"

	"github.com/simpleserver-go/simpleserver/proto"
)

func TestEchoSmoke(t *testing.T) {
	s := startServer(t)
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		if err := c.Send(m); err != nil {
			t.Errorf("send: %v", err)
		}
	})
	run(t, s)
	c := dial(t, s)
	for i := 0; i < 100; i++ {
		c.send(proto.NewMessage().AddHeader("a", "b").SetBodyString("hello"))
		m := c.readMessage()
		if v, _ := m.HeaderString("a"); v != "b" || m.BodyString() != "hello" {
			t.Fatalf("got %q %q", v, m.BodyString())
		}
	}
}

package natsbroker_test

import (
	"net"
	"testing"

	"github.com/simpleserver-go/simpleserver/engine"
	"github.com/simpleserver-go/simpleserver/proto"
)

// TestLanesCrossNodes: a Latest broadcast made on node 1 stays droppable
// on node 2. Node 2's client never reads, and node 2 caps its queue at
// 64 KiB; 16 MB of Latest frames of one key reach it through NATS. Were the
// lane lost on the way (taken as Reliable), node 2 would kick the client
// as a slow consumer; with it, node 2 replaces the held frame instead.
func TestLanesCrossNodes(t *testing.T) {
	ns := startNATS(t, -1)
	n1 := startNode(t, ns.ClientURL(), 1)
	n2 := startNode(t, ns.ClientURL(), 2, engine.Option(func(c *engine.Config) { c.MaxOutboundBytes = 64 << 10 }))
	flush(t, n1, n2)

	conn, err := net.Dial("tcp", n2.srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4 << 10) // and never read
	waitFor(t, "node 2 registers its client", func() bool { return n2.srv.NumClients() == 1 })

	const n = 2048
	m := proto.NewMessage().AddHeader("type", "pos").SetBody(make([]byte, 8<<10))
	for range n {
		if err := n1.srv.BroadcastOn(engine.Latest(7), m); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "node 2 receives every publication", func() bool { return n2.srv.Stats().BrokerReceived == n })
	st := n2.srv.Stats()
	if st.Disconnects[engine.ReasonSlowConsumer] != 0 || st.Connections != 1 {
		t.Fatalf("node 2 kicked its client (slow consumers %d, connections %d): the lane was lost across nodes",
			st.Disconnects[engine.ReasonSlowConsumer], st.Connections)
	}
	if st.Lanes.Replaced == 0 {
		t.Fatalf("node 2 replaced no Latest frame (lanes %+v): the lane was lost across nodes", st.Lanes)
	}
	t.Logf("node 2: %d replaced, %d bytes held", st.Lanes.Replaced, st.Lanes.HeldBytes)
}

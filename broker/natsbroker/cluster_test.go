package natsbroker_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/simpleserver-go/simpleserver/broker/natsbroker"
	"github.com/simpleserver-go/simpleserver/engine"
	"github.com/simpleserver-go/simpleserver/proto"
)

// TestCluster runs three nodes on one embedded NATS with two clients on
// each, and checks broadcasts, exclusions across nodes, prepared
// broadcasts and room interest.
func TestCluster(t *testing.T) {
	ns := startNATS(t, -1)
	nodes := []*node{startNode(t, ns.ClientURL(), 1), startNode(t, ns.ClientURL(), 2), startNode(t, ns.ClientURL(), 3)}
	flush(t, nodes...) // every node's subscription to broadcasts is in place
	var peers [3][2]*peer
	var all []*peer
	for i, n := range nodes {
		for j := range 2 {
			p := connectPeer(t, n, "n"+string(rune('1'+i))+string(rune('a'+j)))
			peers[i][j] = p
			all = append(all, p)
			if got := engine.NodeOf(p.id); got != uint32(i+1) {
				t.Fatalf("%s has ID %d on node %d, want node %d", p.name, p.id, got, i+1)
			}
		}
	}
	// Connections are announced asynchronously: every node must have both
	// its clients registered before a broadcast can reach them.
	for _, n := range nodes {
		waitFor(t, "clients registered", func() bool { return n.srv.NumClients() == 2 })
	}
	sender := peers[0][0]
	others := func(except ...*peer) []*peer {
		var out []*peer
	next:
		for _, p := range all {
			for _, x := range append(except, sender) {
				if p == x {
					continue next
				}
			}
			out = append(out, p)
		}
		return out
	}

	t.Run("broadcast reaches every other client once", func(t *testing.T) {
		sender.send("hello")
		sender.send("marker1")
		for _, p := range others() {
			p.expect("hello", "marker1") // once: nothing between the two
		}
		// The sender got neither: the next thing it sees is a neighbour's.
		peers[0][1].send("from-n1b")
		sender.expect("from-n1b")
		for _, p := range others(peers[0][1]) {
			p.expect("from-n1b")
		}
		if st := nodes[0].srv.Stats(); st.BrokerReceived != 0 || st.BrokerPublished != 3 {
			t.Errorf("node 1: received %d published %d, want 0 (NoEcho) and 3", st.BrokerReceived, st.BrokerPublished)
		}
		for _, n := range nodes[1:] {
			if st := n.srv.Stats(); st.BrokerReceived != 3 {
				t.Errorf("node %d received %d publications, want 3", n.srv.NodeID(), st.BrokerReceived)
			}
		}
	})

	t.Run("exclusion of a client on another node", func(t *testing.T) {
		victim := peers[1][1]
		sender.send("excl:" + fmtID(victim.id) + ":secret")
		sender.send("marker2")
		for _, p := range others(victim) {
			p.expect("excl:"+fmtID(victim.id)+":secret", "marker2")
		}
		victim.expect("marker2")
	})

	t.Run("send to one client of another node by ID", func(t *testing.T) {
		target := peers[2][1]
		misses := nodes[2].srv.Stats().BrokerDirectMisses
		sender.send("to:" + fmtID(target.id) + ":psst")
		target.expect("to:" + fmtID(target.id) + ":psst")
		local := peers[0][1]
		sender.send("to:" + fmtID(local.id) + ":next door")
		local.expect("to:" + fmtID(local.id) + ":next door")
		// An ID of node 1 that no client has: the sender is told at once.
		sender.send("to:" + fmtID(uint64(1)<<40|999999) + ":nobody")
		sender.expect("err:" + engine.ErrNoSuchClient.Error())
		// An ID of node 3 that no client has: node 3 counts the miss.
		sender.send("to:" + fmtID(uint64(3)<<40|999999) + ":nobody")
		sender.send("marker-direct")
		for _, p := range others() {
			p.expect("marker-direct") // nobody else got any of the direct sends
		}
		if got := nodes[2].srv.Stats().BrokerDirectMisses - misses; got != 1 {
			t.Errorf("node 3 counted %d direct misses, want 1", got)
		}
	})

	t.Run("prepared broadcast", func(t *testing.T) {
		sender.send("prep:x")
		for _, p := range others() {
			p.expect("prep:x")
		}
	})

	t.Run("room on two of three nodes", func(t *testing.T) {
		a1, a2 := peers[0][0], peers[1][0]
		a1.send("join")
		a1.expect("joined")
		a2.send("join")
		a2.expect("joined")
		flush(t, nodes...) // the room subscriptions have reached NATS
		// Every node has broadcasts and its own direct sends; the room
		// only where it has members.
		for i, want := range []int{3, 3, 2} {
			if got := nodes[i].b.Subscriptions(); got != want {
				t.Errorf("node %d: %d subscriptions, want %d", i+1, got, want)
			}
			if got := nodes[i].srv.Stats().BrokerSubscriptions; got != int64(want) {
				t.Errorf("node %d: Stats().BrokerSubscriptions = %d, want %d", i+1, got, want)
			}
		}
		before := nodes[2].srv.Stats().BrokerReceived
		a1.send("room:only-members")
		a1.send("marker3")
		a2.expect("room:only-members", "marker3")
		for _, p := range others(a2) {
			p.expect("marker3") // non-members got nothing before the marker
		}
		// The third node received the marker and nothing for the room:
		// the room's publication never reached it.
		if got := nodes[2].srv.Stats().BrokerReceived - before; got != 1 {
			t.Errorf("node 3 received %d publications for a room it has no member in plus one broadcast, want 1", got)
		}
		a2.send("leave")
		a2.expect("left")
		if got := nodes[1].b.Subscriptions(); got != 2 {
			t.Errorf("node 2 still has %d subscriptions after its last member left, want 2", got)
		}
	})

	t.Run("over max_payload fails across nodes, not locally", func(t *testing.T) {
		big := proto.NewMessage().SetBody(make([]byte, 1<<20-16)) // the frame fits a client, not frame+envelope in NATS
		err := nodes[0].srv.BroadcastExceptIDs(big, sender.id)
		if !errors.Is(err, engine.ErrBrokerPublish) || !errors.Is(err, natsbroker.ErrTooLarge) {
			t.Fatalf("Broadcast of a max-size frame: %v, want ErrBrokerPublish wrapping ErrTooLarge", err)
		}
		if got := peers[0][1].next(); len(got) != 1<<20-16 {
			t.Fatalf("local client got %d bytes", len(got))
		}
		if st := nodes[0].srv.Stats(); st.BrokerPublishErrors != 1 {
			t.Errorf("publish errors %d, want 1", st.BrokerPublishErrors)
		}
	})
}

func TestEscapeToken(t *testing.T) {
	for in, want := range map[string]string{
		"all":            "all",
		"room/lobby":     "room/lobby",
		"room/a.b":       "room/a%2Eb",
		"room/*":         "room/%2A",
		"room/>":         "room/%3E",
		"room/a b\t":     "room/a%20b%09",
		"room/100%":      "room/100%25",
		"":               "%",
		"room/\x00\x7fé": "room/%00%7F%C3%A9",
	} {
		if got := natsbroker.EscapeToken(in); got != want {
			t.Errorf("EscapeToken(%q) = %q, want %q", in, got, want)
		}
		if strings.ContainsAny(natsbroker.EscapeToken(in), ". *>\t") {
			t.Errorf("EscapeToken(%q) leaves a subject separator or wildcard", in)
		}
	}
}

package natsbroker_test

import (
	"net"
	"strconv"
	"testing"
)

// TestNATSOutage stops NATS mid-test and starts it again on the same port:
// local delivery never stops, cross-node sends fail and are counted while
// it is down (and are lost: at most once), cross-node delivery resumes by
// itself, and nothing is ever delivered twice.
func TestNATSOutage(t *testing.T) {
	ns := startNATS(t, -1)
	url := ns.ClientURL()
	port := ns.Addr().(*net.TCPAddr).Port
	nodes := []*node{startNode(t, url, 1), startNode(t, url, 2), startNode(t, url, 3)}
	flush(t, nodes...)
	sender, local := connectPeer(t, nodes[0], "n1a"), connectPeer(t, nodes[0], "n1b")
	remote := []*peer{connectPeer(t, nodes[1], "n2"), connectPeer(t, nodes[2], "n3")}
	for i, want := range []int{2, 1, 1} {
		waitFor(t, "clients registered", func() bool { return nodes[i].srv.NumClients() == want })
	}

	seq := 0
	send := func() string {
		seq++
		body := "seq:" + strconv.Itoa(seq)
		sender.send(body)
		return body
	}
	// Every client's log of what it received, checked for duplicates.
	seen := map[*peer]map[string]int{}
	recv := func(p *peer) string {
		b := p.next()
		if seen[p] == nil {
			seen[p] = map[string]int{}
		}
		if seen[p][b]++; seen[p][b] > 1 {
			t.Fatalf("%s received %q twice", p.name, b)
		}
		return b
	}

	first := send()
	for _, p := range append([]*peer{local}, remote...) {
		if got := recv(p); got != first {
			t.Fatalf("%s got %q, want %q", p.name, got, first)
		}
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	for _, n := range nodes {
		waitFor(t, "brokers see NATS down", func() bool { return !n.b.Connected() })
	}
	var lost []string
	for range 5 {
		body := send()
		lost = append(lost, body)
		if got := recv(local); got != body { // local delivery never stops
			t.Fatalf("local client got %q during the outage, want %q", got, body)
		}
	}
	if st := nodes[0].srv.Stats(); st.BrokerPublishErrors != 5 {
		t.Errorf("publish errors during the outage: %d, want 5", st.BrokerPublishErrors)
	}
	if got := nodes[0].pubErrors.Load(); got != 5 {
		t.Errorf("Broadcast returned an error %d times, want 5", got)
	}

	// NATS comes back on the same port; the brokers reconnect and
	// resubscribe by themselves.
	startNATS(t, port)
	for _, n := range nodes {
		waitFor(t, "brokers reconnected", func() bool { return n.b.Connected() })
	}
	flush(t, nodes...) // resubscriptions, sent first on reconnect, are in place
	resumed := send()
	if got := recv(local); got != resumed {
		t.Fatalf("local client got %q, want %q", got, resumed)
	}
	for _, p := range remote {
		// What was published while NATS was down is lost, not replayed
		// late: the next thing a remote client sees is the resumed one.
		if got := recv(p); got != resumed {
			t.Fatalf("%s got %q after the outage, want %q (lost while down: %v)", p.name, got, resumed, lost)
		}
	}
	// And it stays resumed.
	last := send()
	for _, p := range append([]*peer{local}, remote...) {
		if got := recv(p); got != last {
			t.Fatalf("%s got %q, want %q", p.name, got, last)
		}
	}
	// Nothing more is on its way to anyone (no late duplicate): a final
	// broadcast from another client is the next message everywhere.
	local.send("end")
	for _, p := range append([]*peer{sender}, remote...) {
		if got := recv(p); got != "end" {
			t.Fatalf("%s got %q, want the final \"end\"", p.name, got)
		}
	}
}

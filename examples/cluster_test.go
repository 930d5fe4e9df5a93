package examples_test

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/simpleserver-go/simpleserver/proto"
)

// freePorts3 finds a port P with P+1 and P+2 free too (the cluster
// example's three nodes).
func freePorts3(t *testing.T) int {
	t.Helper()
	for range 50 {
		p := freePort(t)
		ok := true
		var lns []net.Listener
		for i := range 3 {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+i))
			if err != nil {
				ok = false
				break
			}
			lns = append(lns, ln)
		}
		for _, ln := range lns {
			ln.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no three consecutive free ports")
	return 0
}

// TestClusterExample runs `go run ./examples/cluster` (embedded NATS and
// three nodes): a client on node 1 chats with a client on node 3, and the
// metrics show each node's clients.
func TestClusterExample(t *testing.T) {
	bin := build(t, "cluster")
	port, mport := freePorts3(t), freePort(t)
	cmd := exec.Command(bin, "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-metrics", fmt.Sprintf("127.0.0.1:%d", mport))
	waitLog(t, cmd, "/metrics")
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", mport)

	far := connect(t, port+2) // node 3
	deadline := time.Now().Add(10 * time.Second)
	for metricValue(t, url, `simpleserver_connections{node="3"}`) != "1" {
		if time.Now().After(deadline) {
			t.Fatal("node 3 never registered its client")
		}
		time.Sleep(10 * time.Millisecond) // polling another process's scrape
	}
	near := connect(t, port) // node 1
	if m := receive(t, far); !strings.Contains(m.BodyString(), "joined node 1") {
		t.Fatalf("node 3's client got %q, want node 1's join notice", m.BodyString())
	}
	if err := near.Send(proto.NewMessage().SetBodyString("hello from node 1")); err != nil {
		t.Fatal(err)
	}
	m := receive(t, far)
	if from, _ := m.HeaderString("from"); m.BodyString() != "hello from node 1" || !strings.HasSuffix(from, "@node 1") {
		t.Fatalf("node 3's client got %q from %q", m.BodyString(), from)
	}
	if got := metricValue(t, url, `simpleserver_connections{node="1"}`); got != "1" {
		t.Errorf(`simpleserver_connections{node="1"} = %s, want 1`, got)
	}
	if got := metricValue(t, url, `simpleserver_broker_received_total{node="3"}`); got == "0" {
		t.Error("node 3 counts no publication received")
	}
}

// TestClusterExampleExternalNATS runs two single-node processes of the
// cluster example with -nats against one NATS (embedded in the test, as a
// stand-in for a real nats-server) and -node 1 / -node 2.
func TestClusterExampleExternalNATS(t *testing.T) {
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	bin := build(t, "cluster")
	var ports []int
	mport := freePort(t)
	for _, id := range []string{"1", "2"} {
		p := freePort(t)
		args := []string{"-nats", ns.ClientURL(), "-node", id, "-addr", fmt.Sprintf("127.0.0.1:%d", p)}
		if id == "2" {
			args = append(args, "-metrics", fmt.Sprintf("127.0.0.1:%d", mport))
		}
		waitLog(t, exec.Command(bin, args...), map[string]string{"1": "listening", "2": "/metrics"}[id])
		ports = append(ports, p)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", mport)
	// Both nodes' subscriptions reach NATS before anyone speaks.
	deadline := time.Now().Add(10 * time.Second)
	for ns.NumSubscriptions() < 4 { // each node: broadcasts and its direct sends
		if time.Now().After(deadline) {
			t.Fatalf("NATS has %d subscriptions, want 4", ns.NumSubscriptions())
		}
		time.Sleep(10 * time.Millisecond) // polling another process's state
	}
	far := connect(t, ports[1])
	for metricValue(t, url, `simpleserver_connections{node="2"}`) != "1" {
		if time.Now().After(deadline) {
			t.Fatal("node 2 never registered its client")
		}
		time.Sleep(10 * time.Millisecond) // polling another process's scrape
	}
	near := connect(t, ports[0])
	if m := receive(t, far); !strings.Contains(m.BodyString(), "joined node 1") {
		t.Fatalf("node 2's client got %q, want node 1's join notice", m.BodyString())
	}
	if err := near.Send(proto.NewMessage().SetBodyString("across processes")); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, far); m.BodyString() != "across processes" {
		t.Fatalf("node 2's client got %q", m.BodyString())
	}
}

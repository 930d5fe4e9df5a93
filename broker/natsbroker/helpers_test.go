package natsbroker_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/goleak"

	"github.com/simpleserver-go/simpleserver/broker/natsbroker"
	"github.com/simpleserver-go/simpleserver/client"
	"github.com/simpleserver-go/simpleserver/engine"
	"github.com/simpleserver-go/simpleserver/proto"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*goWorker).run.func1"), // idle workers of gnet's pool (Engine.Register)
	)
}

var quiet = slog.New(slog.NewTextHandler(discard{}, nil))

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// startNATS runs an embedded nats-server on 127.0.0.1:port (-1: random).
func startNATS(t testing.TB, port int) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

// node is one cluster member running the test application: every client
// gets "id:<its ID>" first; then by message body:
//
//	join / leave        Room("r") membership, answered "joined" / "left"
//	room:<text>         Room("r").Broadcast, sender excluded
//	excl:<id>:<text>    BroadcastExceptIDs(sender, id)
//	prep:<text>         BroadcastPrepared, sender excluded
//	to:<id>:<text>      SendToID(id); an error is answered "err:<error>"
//	anything else       Broadcast, sender excluded
type node struct {
	srv       *engine.Server
	b         *natsbroker.Broker
	port      int
	pubErrors atomic.Int64 // sends that returned ErrBrokerPublish
}

func startNode(t testing.TB, natsURL string, id uint32, opts ...engine.Option) *node {
	t.Helper()
	n := &node{b: natsbroker.New(natsbroker.Config{URL: natsURL, Logger: quiet, ReconnectWait: 50 * time.Millisecond})}
	n.srv = engine.NewServer("127.0.0.1", 0, append([]engine.Option{engine.WithEventLoops(2), engine.WithBroker(n.b),
		engine.WithNodeID(id), engine.WithLogger(quiet)}, opts...)...)
	room := n.srv.Room("r")
	n.srv.OnConnection.AddListener(func(c *engine.Client) {
		_ = c.Send(proto.NewMessage().SetBodyString("id:" + strconv.FormatUint(c.ID(), 10)))
	})
	n.srv.OnMessage.AddListener(func(c *engine.Client, m *proto.Message) {
		body := m.BodyString()
		var err error
		switch {
		case body == "join":
			_ = room.Join(c)
			_ = c.Send(proto.NewMessage().SetBodyString("joined"))
		case body == "leave":
			room.Leave(c)
			_ = c.Send(proto.NewMessage().SetBodyString("left"))
		case strings.HasPrefix(body, "room:"):
			err = room.Broadcast(m, c)
		case strings.HasPrefix(body, "excl:"):
			id, _ := strconv.ParseUint(strings.Split(body, ":")[1], 10, 64)
			err = n.srv.BroadcastExceptIDs(m, c.ID(), id)
		case strings.HasPrefix(body, "to:"):
			id, _ := strconv.ParseUint(strings.Split(body, ":")[1], 10, 64)
			if err := n.srv.SendToID(id, m); err != nil {
				_ = c.Send(proto.NewMessage().SetBodyString("err:" + err.Error()))
			}
		case strings.HasPrefix(body, "prep:"):
			pm, _ := engine.NewPreparedMessage(m)
			err = n.srv.BroadcastPrepared(pm, c)
		default:
			err = n.srv.Broadcast(m, c)
		}
		if err != nil {
			n.pubErrors.Add(1)
		}
	})
	if err := n.srv.StartAsync(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.srv.Stop(ctx); err != nil {
			t.Errorf("stop node %d: %v", id, err)
		}
	})
	n.port = n.srv.Addr().(*net.TCPAddr).Port
	return n
}

// peer is a test client with its cluster-wide ID.
type peer struct {
	t    testing.TB
	name string
	c    *client.Client
	id   uint64
}

func connectPeer(t testing.TB, n *node, name string) *peer {
	t.Helper()
	c := client.New()
	if err := c.Connect("127.0.0.1", n.port); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := &peer{t: t, name: name, c: c}
	first := p.next()
	id, err := strconv.ParseUint(strings.TrimPrefix(first, "id:"), 10, 64)
	if err != nil {
		t.Fatalf("%s: first message %q", name, first)
	}
	p.id = id
	return p
}

// next returns the body of the next message, failing after 10 s.
func (p *peer) next() string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := p.c.Receive(ctx)
	if err != nil {
		p.t.Fatalf("%s: receive: %v", p.name, err)
	}
	return m.BodyString()
}

func (p *peer) send(body string) {
	p.t.Helper()
	if err := p.c.Send(proto.NewMessage().SetBodyString(body)); err != nil {
		p.t.Fatalf("%s: send: %v", p.name, err)
	}
}

// expect asserts the next messages are exactly want, in order.
func (p *peer) expect(want ...string) {
	p.t.Helper()
	for _, w := range want {
		if got := p.next(); got != w {
			p.t.Fatalf("%s got %q, want %q", p.name, got, w)
		}
	}
}

// waitFor polls cond (state of another goroutine with no event to wait
// on, such as a NATS connection's status) until it holds or 10 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func flush(t testing.TB, nodes ...*node) {
	t.Helper()
	for _, n := range nodes {
		if err := n.b.Conn().FlushTimeout(10 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
}

func fmtID(id uint64) string { return fmt.Sprint(id) }

// Command cluster shows several chat servers behaving as one through NATS.
// By default it starts an embedded NATS server and three chat nodes (the
// chat example's behaviour: every message goes to every OTHER client, on
// any node) in this one process:
//
//	go run ./examples/cluster -addr 127.0.0.1:8080 -metrics 127.0.0.1:9100
//	go run ./examples/chat-client -addr 127.0.0.1:8080   # node 1
//	go run ./examples/chat-client -addr 127.0.0.1:8082   # node 3: sees node 1's chat
//
// -addr is the first node's address; the other two take the next two
// ports. With -nats it runs ONE node against an external NATS instead
// (start one per machine, each with its own -node ID):
//
//	nats-server -a 127.0.0.1 -p 4222 &
//	go run ./examples/cluster -nats nats://127.0.0.1:4222 -node 1 -addr 127.0.0.1:9001
//	go run ./examples/cluster -nats nats://127.0.0.1:4222 -node 2 -addr 127.0.0.1:9002
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/simpleserver-go/simpleserver"
	"github.com/simpleserver-go/simpleserver/broker/natsbroker"
	"github.com/simpleserver-go/simpleserver/metrics"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "first node's address; the others take the next two ports")
	natsURL := flag.String("nats", "", "run one node against this external NATS (nats://host:port) instead of an embedded NATS and three nodes")
	nodeID := flag.Uint("node", 1, "node ID with -nats (1..16777215, unique per node)")
	metricsAddr := flag.String("metrics", "", "serve Prometheus metrics on host:port at /metrics (off when empty)")
	verbose := flag.Bool("v", false, "verbose logging")
	flag.Parse()
	host, port := splitAddr(*addr)

	url, n, first := *natsURL, 1, uint32(*nodeID)
	if url == "" {
		ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
		if err != nil {
			log.Fatal(err)
		}
		go ns.Start()
		if !ns.ReadyForConnections(10 * time.Second) {
			log.Fatal("embedded NATS did not start")
		}
		defer ns.Shutdown()
		url, n, first = ns.ClientURL(), 3, 1
		log.Printf("embedded NATS on %s", url)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var servers []*simpleserver.Server
	for i := range n {
		p := port
		if port != 0 {
			p = port + i
		}
		id := first + uint32(i)
		s := startNode(host, p, id, url, *verbose)
		servers = append(servers, s)
		reg.MustRegister(metrics.NewCollector(s, metrics.WithConstLabels(prometheus.Labels{"node": strconv.Itoa(int(id))})))
	}
	if *metricsAddr != "" {
		serveMetrics(*metricsAddr, reg)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		if err := s.Stop(shutdown); err != nil {
			log.Printf("stop: %v", err)
		}
	}
}

// startNode starts one chat node on the broker at url.
func startNode(host string, port int, id uint32, url string, verbose bool) *simpleserver.Server {
	name := fmt.Sprintf("node %d", id)
	b := natsbroker.New(natsbroker.Config{URL: url, Name: name, Logger: slog.Default().With("node", id)})
	server := simpleserver.NewServer(host, port, simpleserver.WithVerbose(verbose),
		simpleserver.WithBroker(b), simpleserver.WithNodeID(id))

	// All listeners of a node run on one goroutine, so the room needs no lock.
	out := simpleserver.NewMessage()
	say := func(from string, body []byte, exclude *simpleserver.Client) {
		out.Reset()
		out.AddHeader("from", from).SetBody(body)
		// A failed cross-node send still reached this node's clients.
		if err := server.Broadcast(out, exclude); err != nil {
			log.Printf("%s: broadcast: %v", name, err)
		}
	}
	server.OnConnection.AddListener(func(c *simpleserver.Client) {
		log.Printf("%s: %v joined (%d online here)", name, c, server.NumClients())
		say("server", []byte(c.RemoteAddr().String()+" joined "+name), c)
	})
	server.OnMessage.AddListener(func(c *simpleserver.Client, m *simpleserver.NetworkMessage) {
		say(c.RemoteAddr().String()+"@"+name, m.Body(), c)
	})
	server.OnDisconnect.AddListener(func(c *simpleserver.Client, reason error) {
		log.Printf("%s: %v left: %v", name, c, reason)
		say("server", []byte(c.RemoteAddr().String()+" left "+name), nil)
	})
	if err := server.StartAsync(); err != nil {
		log.Fatalf("%s: %v", name, err)
	}
	log.Printf("%s listening on %v; join with: go run ./examples/chat-client -addr %v", name, server.Addr(), server.Addr())
	return server
}

// serveMetrics serves reg at http://addr/metrics.
func serveMetrics(addr string, reg *prometheus.Registry) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("metrics: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	log.Printf("metrics on http://%v/metrics", ln.Addr())
	go func() { log.Print(http.Serve(ln, mux)) }()
}

func splitAddr(addr string) (string, int) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		log.Fatalf("bad -addr %q: %v", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		log.Fatalf("bad port in -addr %q", addr)
	}
	return host, port
}

// Command chat is a chat room: every message a client sends goes to every
// OTHER connected client, with a "from" header naming the sender. Connect
// with examples/chat-client, or open http://127.0.0.1:8080/ in a browser:
// the same port serves the page (page.go) and its WebSocket. With -metrics it serves Prometheus metrics.
//
//	go run ./examples/chat -addr 127.0.0.1:8080 -metrics 127.0.0.1:9100
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/simpleserver-go/simpleserver"
	"github.com/simpleserver-go/simpleserver/metrics"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	verbose := flag.Bool("v", false, "verbose logging")
	metricsAddr := flag.String("metrics", "", "serve Prometheus metrics on host:port at /metrics (off when empty)")
	grace := flag.Duration("grace", 10*time.Second, "keep a dropped client's session this long for it to resume (0: off)")
	flag.Parse()
	host, port := splitAddr(*addr)

	// WebSocket on, and the browser page at /: browsers join the same room
	// (page.go). Clients of the original Python library join it too,
	// unmodified.
	server := simpleserver.NewServer(host, port, append(pageOptions(), simpleserver.WithVerbose(*verbose),
		simpleserver.WithSessionGrace(*grace), simpleserver.WithLegacyClients(true))...)

	// All listeners run on one goroutine, so the room needs no lock.
	out := simpleserver.NewMessage()
	say := func(from string, body []byte, exclude *simpleserver.Client) {
		out.Reset()
		out.AddHeader("from", from).SetBody(body)
		if err := server.Broadcast(out, exclude); err != nil {
			log.Printf("broadcast: %v", err)
		}
	}
	server.OnConnection.AddListener(func(c *simpleserver.Client) {
		log.Printf("%v joined (%d online)", c, server.NumClients())
		say("server", []byte(c.RemoteAddr().String()+" joined"), c)
	})
	server.OnMessage.AddListener(func(c *simpleserver.Client, m *simpleserver.NetworkMessage) {
		say(c.RemoteAddr().String(), m.Body(), c)
	})
	// A client with a session (the chat-client) that loses its connection
	// is suspended, not gone: it may come back within -grace.
	server.OnSuspend.AddListener(func(c *simpleserver.Client, reason error) {
		log.Printf("%v dropped (%v); keeping its session for %v", c, reason, *grace)
	})
	server.OnResume.AddListener(func(c *simpleserver.Client) {
		log.Printf("%v resumed", c)
	})
	server.OnDisconnect.AddListener(func(c *simpleserver.Client, reason error) {
		log.Printf("%v left: %v", c, reason)
		say("server", []byte(c.RemoteAddr().String()+" left"), nil)
	})

	if err := server.StartAsync(); err != nil {
		log.Fatal(err)
	}
	log.Printf("chat server listening on %v; join with: go run ./examples/chat-client -addr %v, or open http://%v/ in a browser", server.Addr(), server.Addr(), server.Addr())
	if *metricsAddr != "" {
		serveMetrics(*metricsAddr, server)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := server.Stop(shutdown); err != nil {
		log.Printf("stop: %v", err)
	}
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

// serveMetrics serves the server's metrics, plus the Go runtime's and the
// process's, at http://addr/metrics from a registry of our own.
func serveMetrics(addr string, server *simpleserver.Server) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(server),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("metrics: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	log.Printf("metrics on http://%v/metrics", ln.Addr())
	go func() { log.Print(http.Serve(ln, mux)) }()
}

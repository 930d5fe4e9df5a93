// Command handshake is the seed README's Example section in Go: a server
// that answers a "handshake" message, and a client that sends one.
//
//	go run ./examples/handshake -role server -addr 127.0.0.1:8080
//	go run ./examples/handshake -role client -addr 127.0.0.1:8080
//
// The server also answers the seed's original Python client, unmodified.
//
// With -role both (the default) it runs the server, then the client
// against it, and exits once the client has its answer.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/simpleserver-go/simpleserver"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "server address")
	role := flag.String("role", "both", "server, client or both")
	flag.Parse()
	host, p, err := net.SplitHostPort(*addr)
	if err != nil {
		log.Fatalf("bad -addr %q: %v", *addr, err)
	}
	port, _ := strconv.Atoi(p)

	switch *role {
	case "server":
		server := newServer(host, port)
		if err := server.StartAsync(); err != nil {
			log.Fatal(err)
		}
		log.Printf("handshake server listening on %v (Ctrl-C stops)", server.Addr())
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Stop(shutdown)
	case "client":
		runClient(host, port)
	case "both":
		server := newServer(host, port)
		if err := server.StartAsync(); err != nil {
			log.Fatal(err)
		}
		runClient(host, server.Addr().(*net.TCPAddr).Port)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Stop(ctx)
	default:
		log.Fatalf("-role must be server, client or both")
	}
}

// newServer is the seed's server example.
func newServer(host string, port int) *simpleserver.Server {
	onMessage := func(client *simpleserver.Client, message *simpleserver.NetworkMessage) {
		if message.HasHeader("handshake") {
			// create a response to handshake
			response := simpleserver.NewMessage()
			response.AddHeader("handshake", "example")
			response.SetBodyString("Hello from the server!")

			// send the response to the same client that sent the message.
			_ = client.Send(response)
		}
		fmt.Printf("Message received from %v: %s\n", client.RemoteAddr(), message.Body())
	}

	// Create a new server instance. It also serves clients of the original
	// Python library, unmodified (the seed's own client example among them).
	server := simpleserver.NewServer(host, port, simpleserver.WithTickRate(120), simpleserver.WithLegacyClients(true))
	// add a callback to the OnMessage event.
	server.OnMessage.AddListener(onMessage)
	return server
}

// runClient is the seed's client example.
func runClient(host string, port int) {
	// Create a new client instance.
	client := simpleserver.NewClient()
	// attempt to connect to a server.
	if err := client.Connect(host, port); err != nil {
		fmt.Printf("Connection failed: %v\n", err)
		return
	}
	defer client.Close()

	// If the connection was successful, we can send a message to the server.
	message := simpleserver.NewMessage()
	message.AddHeader("handshake", "")
	message.SetBodyString("Hello server!")
	if err := client.Send(message); err != nil {
		fmt.Printf("send: %v\n", err)
		return
	}

	// a loop to receive messages from the server. Read never blocks: it
	// returns nil when no message is waiting.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if message := client.Read(); message != nil {
			if message.HasHeader("handshake") {
				fmt.Println("Server handshake received:", message.BodyString())
				return
			}
			continue
		}
		if err := client.Err(); err != nil {
			fmt.Println("disconnected:", err)
			return
		}
		time.Sleep(time.Millisecond) // a game would render a frame here
	}
	fmt.Println("no handshake within 5 s")
}

// Package client is the Go SimpleClient: a conventional net-based client
// for a SimpleServer, speaking the wire protocol of package proto.
//
// New creates a Client without connecting it; Connect (or ConnectContext)
// connects. Send and SendRaw send; Read returns the next received message
// or nil without blocking, and Receive waits for one. Close says goodbye.
// The seed's client example, in Go:
//
//	c := client.New()
//	if err := c.Connect("localhost", 8080); err != nil {
//		fmt.Println("Connection failed:", err)
//		return
//	}
//	defer c.Close()
//
//	msg := proto.NewMessage().AddHeader("handshake", "").SetBodyString("Hello server!")
//	if err := c.Send(msg); err != nil {
//		fmt.Println("send:", err)
//		return
//	}
//
//	for {
//		// Read never blocks: it returns nil when no message is waiting.
//		if m := c.Read(); m != nil {
//			if m.HasHeader("handshake") {
//				fmt.Println("Server handshake received")
//			}
//			continue
//		}
//		if err := c.Err(); err != nil { // the connection has ended
//			fmt.Println("disconnected:", err)
//			return
//		}
//		time.Sleep(time.Millisecond) // or do a frame of work
//	}
//
// A program that has nothing else to do waits with Receive instead:
//
//	for {
//		m, err := c.Receive(ctx)
//		if err != nil {
//			var ce *client.CloseError
//			if errors.As(err, &ce) {
//				fmt.Println("server closed:", ce.Reason)
//			}
//			return
//		}
//		handle(m)
//	}
//
// # Behaviour
//
// The client speaks first: the moment it connects it sends an empty PONG,
// which the server ignores. A server serving several transports on one
// port tells them apart by a connection's first byte and announces the
// connection (OnConnection) only then, so the hello spares this client
// that wait even when the application sends nothing.
//
// One goroutine per Client reads the connection: it answers the server's
// PINGs with PONGs, and queues messages, in order, for Read and Receive. The
// queue is bounded (WithQueueSize); when it is full the client stops reading
// and TCP slows the server down, so no message is ever dropped — but PINGs
// then go unanswered too, and a server with a heartbeat may give up on a
// client whose application stops reading.
//
// A keep-alive (WithKeepAlive, on by default) finds a server that vanished
// without closing: after 30 s without a byte from the server the client
// PINGs it, and gives up 15 s later if still nothing came.
//
// Ping measures a round trip to the server.
//
// Messages returned by Read and Receive belong to the caller. Send and
// SendRaw may be called from any number of goroutines; each frame is written
// whole, in one write.
//
// The connection ends when the server sends CLOSE (Receive and Err then
// report a *CloseError with the server's reason, after every message that
// came before it), when the server breaks the protocol (the client sends
// CLOSE with the reason), when the keep-alive times out, when the network
// fails, or when Close is called.
// Err says which, once every earlier message has been read.
//
// Each Client makes one connection in its life, unless WithReconnect is
// given: it then reconnects by itself (exponential backoff with jitter),
// queues sends while offline, keeps Read and Receive seamless, resumes its
// session on a server that keeps sessions (nothing lost or doubled), and
// reports its state (State, Reconnect.OnState).
package client

// Package engine is SimpleServer's server: it runs the wire protocol of
// package proto on gnet v2 event loops and offers the seed library's API —
// a Server with OnConnection, OnMessage, OnDisconnect and OnUpdate events,
// Client.Send, MessageClients, Broadcast and Clients.
//
// # Concurrency contract
//
// Default mode: every listener runs on ONE logic goroutine, never two at
// once, so listener code needs no locks (as in the seed's single thread).
// Event loops only read, decode and enqueue. Events are dispatched in the
// order they happened, through one FIFO: for each client OnConnection, then
// its OnMessage calls in arrival order, then OnDisconnect exactly once. A
// message is dispatched as soon as it arrives, not at the next tick.
// OnUpdate fires TickRate times per second on the same goroutine. Clients()
// called from a listener agrees with the events that listener has seen.
// During Stop, once the logic goroutine has exited, the last OnDisconnect
// calls run on the goroutine that called Stop: still never two at once.
//
// Manual update mode (Config.ManualUpdate): Start and StartAsync only
// listen; Update dispatches every pending event and then fires OnUpdate on
// the caller's goroutine. The same ordering guarantees hold.
//
// Inline mode (Config.Inline): listeners run directly on the event-loop
// goroutines, concurrently across loops (connections on one loop are
// serialised). There is no queue and no copy: the fastest mode. Listeners
// must then synchronise any state shared between clients, and Client.Data
// of clients on other loops; OnUpdate runs on its own goroutine,
// concurrently with the others; Clients() is a snapshot that other loops
// may change at any moment. A listener must not block: it stalls every
// connection of its loop.
//
// # Sending
//
// Client.Send, Broadcast, MessageClients and the Prepared variants may be
// called from any goroutine. They encode at once (Broadcast encodes once
// for all targets) and queue the frame; everything sent to one client while
// listeners run goes out in a single write when they return. Sends are
// never blocking: a client whose queue passes Config.MaxOutboundBytes is
// disconnected as a slow consumer instead.
//
// Every send travels on a Lane (SendOn, BroadcastOn, MessageClientsOn,
// Room.BroadcastOn, PreparedMessage.WithLane; the default is Reliable).
// While the client keeps up lanes change nothing; while its socket is
// full, frames on Latest(key) replace the unsent frame of their key and
// frames on Ephemeral(ttl) are dropped when stale, instead of piling up
// and getting the client kicked. See lanes.go for the design.
//
// # Rooms
//
// Server.Room(name) is a named group of clients to broadcast to, with O(1)
// Join and Leave; see Room.
//
// # Clusters
//
// With Config.Broker set (broker/natsbroker for NATS), Broadcast, room
// broadcasts and their Prepared and On variants also reach the clients of
// every other server on the broker: delivered locally first, then
// published once. Across nodes delivery is at most once; a send that could
// not be published returns ErrBrokerPublish after the local delivery.
// Client IDs are then unique across the cluster (BroadcastExceptIDs), and
// SendToID reaches one client of any node. See broker.go and direct.go.
//
// # Backpressure
//
// A client that sends faster than the listeners handle is slowed down, not
// disconnected. In the default and manual modes, once a client has
// Config.MaxPendingMessages messages or MaxPendingBytes bytes received and
// not yet handled (its high-water marks), or all clients together have
// Config.MaxQueuedBytes queued, the event loop reading it hands over what
// it decoded and waits until the logic goroutine has brought the client
// under half its marks and the queue under half its cap. gnet cannot pause
// one connection, so the loop pauses: it reads none of its sockets
// meanwhile, the kernel's receive windows fill, and TCP slows every sender
// on that loop. The one logic goroutine is the bottleneck anyway; the
// per-client marks keep one client from filling the whole queue. What the
// server holds for its senders is thus capped per client (the marks plus
// one frame) and in total (MaxQueuedBytes plus one frame per loop). While a
// loop waits its clients' heartbeat and frame deadlines are suspended; Stop
// and a client's disconnect end the wait. In inline mode a loop runs the
// listeners before it reads again, which throttles the same way with no
// queue at all. The only flood that disconnects is a client that does not
// read what it is sent: the outbound cap, ErrSlowConsumer.
//
// # Message lifetime
//
// The *proto.Message given to OnMessage is valid only until the listener
// returns: its bytes come from a pooled buffer that is reused. Keep it with
// m.Clone(). In steady state the server allocates nothing per message.
//
// # Transports
//
// Each connection has a transport, the codec between its bytes and
// protocol v1 payloads (transport.go): protocol v1 over TCP, and, when
// Config.WebSocket is enabled, WebSocket on the same port and event loops
// (websocket.go, on the gnet-free codec in package wsproto), and, when
// Config.LegacyClients is set, the original Python library's text format
// (legacy.go, on package proto/legacy). The transport is chosen from the
// first bytes a connection sends (Client.Transport tells which); everything
// above it (events, limits, backpressure, fan-out, Stop) is the same for
// all, except that legacy clients get no heartbeat and no CLOSE, which
// they cannot understand. Fan-out encodes a message once and frames it
// once per transport, not once per client.
//
// # Errors and panics
//
// A client that breaks the protocol is sent CLOSE with the reason and
// disconnected; other clients are untouched. A panicking listener is
// recovered and logged with its stack; if it was handling a client's
// OnConnection or OnMessage, that client is disconnected with
// ErrListenerPanic.
package engine

package engine

// Transport names what a client speaks on the wire.
type Transport uint8

// The transports a client may use, all on the server's one port.
const (
	// TransportV1 is protocol v1 over TCP (docs/PROTOCOL.md).
	TransportV1 Transport = iota
	// TransportWebSocket is protocol v1 over WebSocket (Config.WebSocket).
	TransportWebSocket
	// TransportLegacy is the original Python library's text format
	// (Config.LegacyClients, package proto/legacy).
	TransportLegacy
)

// String returns "v1", "websocket" or "legacy".
func (t Transport) String() string {
	switch t {
	case TransportV1:
		return "v1"
	case TransportWebSocket:
		return "websocket"
	case TransportLegacy:
		return "legacy"
	}
	return "unknown"
}

// Transport returns what c speaks. A Client exists only once its first
// bytes have told, so it never changes.
func (c *Client) Transport() Transport {
	c.mu.Lock()
	tr := c.tr
	c.mu.Unlock()
	switch tr.(type) {
	case *wsTransport:
		return TransportWebSocket
	case legacyTransport:
		return TransportLegacy
	}
	return TransportV1
}

package engine

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/simpleserver-go/simpleserver/engine/wsproto"
)

// Defaults for WebSocketConfig.
const (
	DefaultWebSocketPath   = "/ws"
	DefaultSubprotocol     = "simpleserver.v1"
	DefaultMaxRequestBytes = 8 << 10
)

// WebSocketConfig configures WebSocket clients (RFC 6455), accepted on the
// server's own port and event loops: a connection whose first bytes are an
// HTTP GET on Path with a valid upgrade becomes a client like any other,
// with the same events, limits and heartbeat. docs/PROTOCOL.md ("Protocol
// v1 over WebSocket") says what travels in the frames.
//
// It is off by default: with it on, a connection becomes a client only
// once its first byte shows what it speaks (an HTTP request for a page must
// not), so a protocol v1 client must speak first (the Go client does; see
// Config.DetectTimeout for silent ones); a server for native clients only
// keeps today's behaviour, and answers no HTTP at all. Turn it on with
// Enabled (or WithWebSocket); the examples do.
type WebSocketConfig struct {
	// Enabled accepts WebSocket upgrades on Path.
	Enabled bool
	// Path is the request path of the upgrade (default "/ws"). Upgrades on
	// other paths get 404.
	Path string
	// Subprotocol is the Sec-WebSocket-Protocol the server picks when the
	// client offers it (default "simpleserver.v1"). Offering nothing is
	// fine too; offering only other names gets no subprotocol.
	Subprotocol string
	// CheckOrigin decides from the Origin header (and the request's Host)
	// whether a browser page may connect; false gets 403. Nil means the
	// same-host policy: no Origin (not a browser) or an Origin whose host
	// is the request's Host. Browsers let any page open a WebSocket to any
	// server with the user's cookies; same-host stops other sites' pages,
	// and a page served from elsewhere needs its own check. AnyOrigin
	// allows every origin.
	CheckOrigin func(origin, host string) bool
	// MaxRequestBytes caps an HTTP request head (default 8 KiB); past it
	// the answer is 431 and a close. Config.FrameTimeout bounds how long it
	// may take to arrive.
	MaxRequestBytes int
}

// HTTPPage is a static response to plain HTTP GETs of one path (no
// upgrade), served from the loop with "Connection: close". It suits small
// pages: the response is handed to the kernel at once and the connection
// closed, so it should fit a socket's send buffer (tens of KiB). Such
// connections are never clients: they produce no events.
type HTTPPage struct {
	ContentType string // e.g. "text/html; charset=utf-8"
	Body        []byte
}

// AnyOrigin is a CheckOrigin that allows every origin.
func AnyOrigin(origin, host string) bool { return true }

// WithWebSocket turns WebSocket on (true) or off; see WebSocketConfig.
func WithWebSocket(on bool) Option { return func(c *Config) { c.WebSocket.Enabled = on } }

// WithHTTPPage serves body with contentType to plain GETs of path.
func WithHTTPPage(path, contentType string, body []byte) Option {
	return func(c *Config) {
		if c.HTTPPages == nil {
			c.HTTPPages = make(map[string]HTTPPage)
		}
		c.HTTPPages[path] = HTTPPage{ContentType: contentType, Body: body}
	}
}

func (w WebSocketConfig) withDefaults() WebSocketConfig {
	if w.Path == "" {
		w.Path = DefaultWebSocketPath
	}
	if w.Subprotocol == "" {
		w.Subprotocol = DefaultSubprotocol
	}
	if w.MaxRequestBytes == 0 {
		w.MaxRequestBytes = DefaultMaxRequestBytes
	}
	return w
}

func (w WebSocketConfig) validate(pages map[string]HTTPPage) []error {
	var errs []error
	if w.Path != "" && !strings.HasPrefix(w.Path, "/") {
		errs = append(errs, fmt.Errorf("websocket path %q does not start with /", w.Path))
	}
	if w.MaxRequestBytes < 0 {
		errs = append(errs, fmt.Errorf("websocket max request bytes %d is negative", w.MaxRequestBytes))
	}
	for p := range pages {
		if !strings.HasPrefix(p, "/") {
			errs = append(errs, fmt.Errorf("http page path %q does not start with /", p))
		}
	}
	return errs
}

// originAllowed applies CheckOrigin (default: same host) to req.
func (w *WebSocketConfig) originAllowed(req *wsproto.Request) bool {
	check := w.CheckOrigin
	if check == nil {
		check = sameHost
	}
	return check(req.Origin, req.Host)
}

// subprotocolFor returns the subprotocol to grant req: Subprotocol if the
// client offered it, else "".
func (w *WebSocketConfig) subprotocolFor(req *wsproto.Request) string {
	for _, p := range req.Protocols {
		if p == w.Subprotocol {
			return p
		}
	}
	return ""
}

// sameHost is the default origin check: no Origin, or one whose host:port
// is the request's Host.
func sameHost(origin, host string) bool {
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

// httpEnabled reports whether HTTP requests are answered at all.
func (s *Server) httpEnabled() bool { return s.cfg.WebSocket.Enabled || len(s.cfg.HTTPPages) > 0 }

package main

import (
	_ "embed"
	"io/fs"
	"log"
	"time"

	"github.com/simpleserver-go/simpleserver/client/js"
	"github.com/simpleserver-go/simpleserver/engine"
)

// indexHTML is the browser side of the chat room, served at "/" on the
// room's own address; it joins over WebSocket on /ws.
//
//go:embed index.html
var indexHTML []byte

// browserDetectTimeout is how long a silent connection may wait before it
// is taken for a protocol v1 client. Browsers open sockets ahead of use
// (preconnect) and may send their GET for the page, the module or the
// upgrade only later; with the engine's 200 ms default, one page load in a
// few broke under load here. Go clients speak first (an empty PONG on
// connect), so they are not delayed by it.
const browserDetectTimeout = 5 * time.Second

// pageOptions turns WebSocket on and serves the page and the JavaScript
// client it imports (client/js, embedded) to plain HTTP GETs on the chat
// port, so that one `go run ./examples/chat` is enough to chat from a
// browser at http://127.0.0.1:8080/.
func pageOptions() []engine.Option {
	opts := []engine.Option{
		engine.WithWebSocket(true),
		func(c *engine.Config) { c.DetectTimeout = browserDetectTimeout },
		engine.WithHTTPPage("/", "text/html; charset=utf-8", indexHTML),
	}
	for _, name := range []string{"simpleserver.js", "codec.js"} {
		b, err := fs.ReadFile(js.FS, name)
		if err != nil {
			log.Fatalf("embedded JavaScript client: %v", err)
		}
		opts = append(opts, engine.WithHTTPPage("/"+name, "text/javascript; charset=utf-8", b))
	}
	return opts
}

package main

import (
	_ "embed"
	"io/fs"
	"log"

	"github.com/simpleserver-go/simpleserver/client/js"
	"github.com/simpleserver-go/simpleserver/engine"
)

// indexHTML is the browser side of the chat room, served at "/" on the
// room's own address; it joins over WebSocket on /ws.
//
//go:embed index.html
var indexHTML []byte

// pageOptions turns WebSocket on and serves the page and the JavaScript
// client it imports (client/js, embedded) to plain HTTP GETs on the chat
// port, so that one `go run ./examples/chat` is enough to chat from a
// browser at http://127.0.0.1:8080/.
func pageOptions() []engine.Option {
	opts := []engine.Option{
		engine.WithWebSocket(true),
		engine.WithHTTPPage("/", "text/html; charset=utf-8", indexHTML),
	}
	// Every module file, not a list: simpleserver.js imports the others,
	// and a page whose import 404s never runs at all.
	names, err := fs.Glob(js.FS, "*.js")
	if err != nil || len(names) == 0 {
		log.Fatalf("embedded JavaScript client: %v (%d files)", err, len(names))
	}
	for _, name := range names {
		b, err := fs.ReadFile(js.FS, name)
		if err != nil {
			log.Fatalf("embedded JavaScript client: %v", err)
		}
		opts = append(opts, engine.WithHTTPPage("/"+name, "text/javascript; charset=utf-8", b))
	}
	return opts
}

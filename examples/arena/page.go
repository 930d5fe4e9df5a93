package main

import (
	_ "embed"
	"io/fs"
	"log"

	"github.com/simpleserver-go/simpleserver/client/js"
	"github.com/simpleserver-go/simpleserver/engine"
)

// indexHTML is the browser view of an arena, served at "/" on the game's
// own address: it joins over WebSocket on /ws, draws every player of its
// arena, steers with the arrow keys or WASD and chats.
//
//go:embed index.html
var indexHTML []byte

// pageOptions turns WebSocket on and serves the page and the JavaScript
// client (client/js, embedded) on the game's port.
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

// Package js holds SimpleServer's JavaScript client (simpleserver.js,
// codec.js, session.js and reconnect.js: protocol v1 over WebSocket for browsers and Node 20+) and embeds
// it, so that a Go server can serve the module to its own pages from the
// same binary:
//
//	http.Handle("/js/", http.StripPrefix("/js/", http.FileServerFS(js.FS)))
//
// The Go package has no other API; the module's documentation is in its
// JSDoc and in the README's "Browsers (WebSocket)" section.
package js

import "embed"

// FS holds the module's files (simpleserver.js, codec.js, session.js,
// reconnect.js) and package.json at its root.
//
//go:embed simpleserver.js codec.js session.js reconnect.js package.json
var FS embed.FS

// Package legacy implements the text wire format of the original Python
// SimpleServer, so that its clients can talk to this server unmodified. It
// does no I/O: the server's legacy transport (package engine) uses it to turn
// one socket read into one message and one message into one write.
//
// A message is UTF-8 text: "$", then for each header name ":" value "|",
// then "%", then the body. There is no length and no terminator; the
// original code takes every recv(1024) as exactly one message and sends every
// message with one send. Examples:
//
//	$handshake:|%Hello server!     header "handshake" without a value, body "Hello server!"
//	$%                             no headers, empty body
//	$a:1|b:2|%body                 headers a=1 and b=2, body "body"
//	Hello                          raw text: a headerless message with body "Hello"
//
// Decode reads one read's bytes exactly as the original decoder does: it
// drops the "$", takes the text between the first and the second "%" as the
// body, splits the header part at "|", skips empty pieces, and splits each
// piece at ":", keeping the name (before the first ":") and the value
// (between the first and the second ":"). Bytes that do not start with "$"
// are a headerless message whose body is all of them, as the original README
// promises for raw sends. Where the original decoder raises an exception
// (invalid UTF-8, no "%", a header without ":"), Decode returns an error
// instead; so it does for a message over MaxMessageSize bytes, an empty or
// too long header name and too many headers, which the Go side cannot carry.
//
// Append encodes a message for an original client and refuses, with an error
// wrapping ErrUnrepresentable, every message that such a client would not
// read back as sent: over MaxMessageSize bytes encoded, not valid UTF-8,
// "%", "|" or ":" in a header name, "%" or "|" in a header value, or "%" in
// the body. One loss is accepted rather than refused: a ":" inside a header
// value. The message still parses, and an original client reads the value
// up to that ":" (a "from" header "127.0.0.1:54476" reads "127.0.0.1"), just
// as it did from the Python server. Refusing it would keep such clients out
// of every room whose messages carry an address.
package legacy

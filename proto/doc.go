// Package proto implements SimpleServer's wire protocol, version 1, and the
// message type that travels over it. It does no I/O: the server (package
// engine) and the client (package client) both use it to split frames out of
// a byte stream, decode them and encode replies.
//
// Every frame on a connection is a 4-byte big-endian length followed by that
// many payload bytes. The first payload byte is the frame's Kind: a MESSAGE
// carries ordered headers and a body; PING, PONG and CLOSE are control frames.
// docs/PROTOCOL.md in the repository is the normative specification.
//
// The codec is built for hot paths: AppendFrame encodes into a caller's
// buffer, Message.Decode references the payload instead of copying it, and a
// reused Message or buffer makes both allocation-free. A decoded Message is
// valid only as long as the payload it was decoded from; Clone keeps it.
package proto

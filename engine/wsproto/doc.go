// Package wsproto is an incremental RFC 6455 (WebSocket) codec with no I/O
// and no goroutines, for servers that read from non-blocking event loops:
// every parser takes the bytes buffered so far and either reports that it
// needs more (n == 0, no error) or consumes one complete unit, so it
// resumes at any byte boundary and nothing a peer half-sends can stall it.
//
// It holds the handshake (ParseRequest, AcceptKey, AppendUpgradeResponse),
// frame headers (ParseHeader, AppendHeader, Mask), the incremental UTF-8
// check that text messages need across fragments (UTF8State), and close
// frames (ParseClose, AppendClose, ValidCloseCode). Package engine puts
// them together on gnet's loops; clients and load generators can use the
// same pieces (AppendHeader with a mask key writes client frames).
//
// permessage-deflate and other extensions are not implemented: a server
// using this package declines them by not echoing them.
package wsproto

package engine

import (
	"errors"

	"github.com/simpleserver-go/simpleserver/engine/wsproto"
	"github.com/simpleserver-go/simpleserver/proto"
)

// closeCode maps a disconnect reason to the WebSocket close status sent
// with it; the reason's text goes with it (the README's table lists both).
func closeCode(reason error) int {
	var ws *wsproto.Error
	var peer *PeerCloseError
	switch {
	case errors.As(reason, &ws):
		return ws.Code
	case errors.As(reason, &peer) && peer.Code != 0:
		return peer.Code
	case errors.Is(reason, proto.ErrFrameTooLarge):
		return wsproto.CloseTooBig
	case errors.As(reason, new(*proto.ProtocolError)):
		return wsproto.CloseProtocolError
	case errors.Is(reason, ErrServerShutdown):
		return wsproto.CloseGoingAway
	case errors.Is(reason, ErrSlowConsumer),
		errors.Is(reason, ErrIdleTimeout), errors.Is(reason, ErrFrameTimeout):
		return wsproto.ClosePolicyViolation
	case errors.Is(reason, ErrListenerPanic):
		return wsproto.CloseInternalError
	case errors.Is(reason, ErrServerFull), errors.Is(reason, ErrAddrLimit):
		return wsproto.CloseTryAgainLater
	case errors.Is(reason, ErrKicked):
		return CloseKicked
	}
	return wsproto.CloseNormal
}

// CloseKicked is the WebSocket close code of Client.Close (ErrKicked), in
// the application range 4000-4999.
const CloseKicked = wsproto.CloseApplication

// CloseSuspend is the WebSocket close code with which a client drops a
// connection that it means to resume (its keep-alive or greeting timed
// out): in a session, the server suspends the session as for a lost
// connection, where any other close from the client ends it
// (docs/PROTOCOL.md, "Sessions over WebSocket").
const CloseSuspend = 4001

package engine

import "github.com/simpleserver-go/simpleserver/proto"

// PreparedMessage is a message encoded once, ready to be sent to many
// clients without encoding it again (like gorilla/websocket's). It is
// immutable and safe for concurrent use.
type PreparedMessage struct {
	frame outFrame
	lane  Lane // see WithLane
}

// NewPreparedMessage encodes m. Later changes to m do not affect it.
func NewPreparedMessage(m *proto.Message) (*PreparedMessage, error) {
	frame, err := proto.AppendFrame(make([]byte, 0, proto.LengthSize+m.PayloadSize()), m)
	if err != nil {
		return nil, err
	}
	pm := &PreparedMessage{frame: outFrame{v1: frame}}
	pm.frame.prepare()
	return pm, nil
}

// Size returns the encoded frame's size in bytes.
func (pm *PreparedMessage) Size() int { return len(pm.frame.v1) }

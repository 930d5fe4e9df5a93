package engine

import (
	"encoding/binary"
	"errors"
)

// The envelope is what one node publishes to the others for a broadcast:
//
//	version   1 byte  (envelopeVersion)
//	origin    4 bytes big-endian node ID
//	lane      1 byte kind (0 reliable), then its argument as a uvarint
//	          (latest: the key; ephemeral: the TTL in ns)
//	nexcl     uvarint, then nexcl excluded client IDs, 8 bytes big-endian each
//	roomlen   uvarint, then the room name ("" for Server.Broadcast)
//	frame     the rest: the encoded v1 frame, as sent to clients
//
// A direct send (Server.SendToID to a client of another node) has its own
// version, published on the target node's NodeTopic:
//
//	version   1 byte  (directVersion)
//	origin    4 bytes big-endian node ID
//	lane      1 byte kind, then its argument as a uvarint
//	target    8 bytes big-endian client ID
//	frame     the rest
//
// A binary envelope rather than broker headers: NATS headers cost a map
// per message. The frame is encoded once by the publishing node and fanned
// out as is by every receiving node.

const (
	envelopeVersion = 1
	directVersion   = 2
)

var errEnvelope = errors.New("simpleserver: malformed broker envelope")

type envelope struct {
	origin uint32
	lane   uint8
	arg    uint64 // the lane's argument
	exclB  []byte // nexcl*8 bytes of IDs
	nexcl  int
	room   string
	frame  []byte
	direct bool   // a direct send to target
	target uint64 // the client ID of a direct send
}

// laneOf returns the publication's lane; an unknown kind (a newer node)
// is taken as Reliable, which never loses a frame.
func (e *envelope) laneOf() Lane {
	if k := laneKind(e.lane); k <= laneEphemeral {
		return Lane{kind: k, arg: e.arg}
	}
	return Reliable
}

func (e *envelope) excl(i int) uint64 { return binary.BigEndian.Uint64(e.exclB[8*i:]) }

func appendEnvelope(b []byte, origin uint32, room string, frame []byte, lane Lane, exclusions []*Client, exclIDs []uint64) []byte {
	b = append(b, envelopeVersion)
	b = binary.BigEndian.AppendUint32(b, origin)
	b = append(b, byte(lane.kind))
	b = binary.AppendUvarint(b, lane.arg)
	n := len(exclIDs)
	for _, c := range exclusions {
		if c != nil { // Broadcast(m, nil) excludes nobody
			n++
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	for _, c := range exclusions {
		if c != nil {
			b = binary.BigEndian.AppendUint64(b, c.id)
		}
	}
	for _, id := range exclIDs {
		b = binary.BigEndian.AppendUint64(b, id)
	}
	b = binary.AppendUvarint(b, uint64(len(room)))
	b = append(b, room...)
	return append(b, frame...)
}

// appendDirect encodes a direct send of frame to the client target.
func appendDirect(b []byte, origin uint32, target uint64, frame []byte, lane Lane) []byte {
	b = append(b, directVersion)
	b = binary.BigEndian.AppendUint32(b, origin)
	b = append(b, byte(lane.kind))
	b = binary.AppendUvarint(b, lane.arg)
	b = binary.BigEndian.AppendUint64(b, target)
	return append(b, frame...)
}

func parseEnvelope(b []byte) (envelope, error) {
	var e envelope
	if len(b) < 6 || (b[0] != envelopeVersion && b[0] != directVersion) {
		return e, errEnvelope
	}
	e.direct = b[0] == directVersion
	e.origin = binary.BigEndian.Uint32(b[1:5])
	e.lane = b[5]
	b = b[6:]
	arg, k := binary.Uvarint(b)
	if k <= 0 {
		return e, errEnvelope
	}
	e.arg, b = arg, b[k:]
	if e.direct {
		if len(b) < 8+5 {
			return e, errEnvelope
		}
		e.target, e.frame = binary.BigEndian.Uint64(b), b[8:]
		return e, nil
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k)/8 {
		return e, errEnvelope
	}
	b = b[k:]
	e.nexcl = int(n)
	e.exclB, b = b[:8*n], b[8*n:]
	n, k = binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return e, errEnvelope
	}
	e.room = string(b[k : k+int(n)])
	e.frame = b[k+int(n):]
	if len(e.frame) < 5 {
		return e, errEnvelope
	}
	return e, nil
}

package client

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// pingTag starts the payload of a PING sent by Ping; a sequence number
// follows, so that every PONG finds its Ping.
const pingTag = 'p'

const pingPayloadLen = 1 + 8

// Ping sends a PING to the server and waits for its PONG, returning the
// round-trip time: from handing the PING to the operating system to the
// reader receiving the PONG, so it includes any frames queued ahead of the
// PONG by the server. Several Pings may be in flight at once.
//
// It returns ctx.Err() when ctx ends first, and the reason when the
// connection ends first (see Err), or ErrNotConnected/ErrClosed.
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	conn, err := c.lockWriter()
	if err != nil {
		return 0, err
	}
	pong := make(chan time.Time, 1)
	c.pingMu.Lock()
	c.pingSeq++
	seq := c.pingSeq
	if c.pings == nil {
		c.pings = make(map[uint64]chan<- time.Time)
	}
	c.pings[seq] = pong
	c.pingMu.Unlock()
	defer func() {
		c.pingMu.Lock()
		delete(c.pings, seq)
		c.pingMu.Unlock()
	}()

	var payload [pingPayloadLen]byte
	payload[0] = pingTag
	binary.BigEndian.PutUint64(payload[1:], seq)
	c.wbuf = proto.AppendPing(c.wbuf[:0], payload[:])
	start := time.Now()
	err = c.flushLocked(conn, c.cfg.writeTimeout)
	c.unlockWriter()
	if err != nil {
		return 0, err
	}

	select {
	case at := <-pong:
		return at.Sub(start), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-c.ended:
		select {
		case at := <-pong: // it came just before the end
			return at.Sub(start), nil
		default:
		}
		return 0, c.endErr()
	}
}

// pongReceived hands a PONG to the Ping waiting for it. PONGs nobody waits
// for (keep-alive, late or unsolicited) are ignored.
func (c *Client) pongReceived(data []byte, at time.Time) {
	if len(data) != pingPayloadLen || data[0] != pingTag {
		return
	}
	seq := binary.BigEndian.Uint64(data[1:])
	c.pingMu.Lock()
	pong, ok := c.pings[seq]
	delete(c.pings, seq)
	c.pingMu.Unlock()
	if ok {
		pong <- at // buffered, and each seq is answered at most once
	}
}

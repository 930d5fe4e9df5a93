package engine

import (
	"errors"
	"strconv"

	"github.com/simpleserver-go/simpleserver/proto"
)

// Sending to one client by its ID, on any node.
//
// A client ID carries its node's ID (see broker.go), so a node knows where
// a client lives without asking anyone: every node subscribes to its own
// NodeTopic, and a send to a client of another node is one publication on
// that node's topic, which hands the frame to the client there. Delivery
// across nodes is at most once, as for broadcasts: if the broker is down
// the send fails with ErrBrokerPublish; if the client has left the far node
// by the time the publication arrives, the frame is dropped there and
// counted in Stats().BrokerDirectMisses. The sender learns neither later:
// a reply, if the game needs one, is the far side's to send.

// ErrNoSuchClient is returned by SendToID for an ID that names no client
// connected to (or suspended on) this server, when the ID is this node's.
var ErrNoSuchClient = errors.New("simpleserver: no client with that ID")

// NodeTopic returns the topic of direct sends to the clients of node id.
func NodeTopic(id uint32) string { return "node/" + strconv.FormatUint(uint64(id), 10) }

// ClientByID returns the client of this server with the given ID: a
// connected one (as in Clients()), or one whose session is suspended. It
// returns nil if there is none; clients of other nodes are never returned.
func (s *Server) ClientByID(id uint64) *Client {
	if c := s.reg.get(id); c != nil {
		return c
	}
	if !s.sessionsOn() {
		return nil
	}
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	if sess := s.sessions.suspended[id]; sess != nil {
		return sess.user
	}
	return nil
}

// SendToID sends m to the client with the given ID, on the reliable lane.
// In a cluster (Config.Broker set) the ID may name a client of any node:
// a client of another node is reached through the broker, at most once
// (see ErrBrokerPublish). A client of this node that is not there gets
// ErrNoSuchClient; for one of another node, absence is only counted there
// (Stats().BrokerDirectMisses).
func (s *Server) SendToID(id uint64, m *proto.Message) error {
	return s.SendToIDOn(Reliable, id, m)
}

// SendToIDOn is SendToID on the given lane; the lane travels with the
// publication, so a droppable frame stays droppable on the far node.
func (s *Server) SendToIDOn(lane Lane, id uint64, m *proto.Message) error {
	if s.draining.Load() {
		return ErrServerClosed
	}
	node := NodeOf(id)
	if s.cfg.Broker == nil || node == s.nodeID {
		c := s.ClientByID(id)
		if c == nil {
			return ErrNoSuchClient
		}
		return c.SendOn(lane, m)
	}
	f, err := s.encodeShared(m)
	if err != nil {
		return err
	}
	defer s.releaseShared(f)
	bb := s.outPool.Get()
	bb.B = appendDirect(bb.B[:0], s.nodeID, id, f.v1, lane)
	err = s.publishTo(NodeTopic(node), bb.B)
	s.outPool.Put(bb)
	return err
}

// deliverDirect hands a direct send from another node to its client here.
// It runs on the broker's goroutine.
func (s *Server) deliverDirect(env envelope) {
	c := s.ClientByID(env.target)
	if c == nil {
		s.stats.brokerDirectMiss.Add(1)
		return
	}
	f := sharedPool.Get().(*outFrame)
	f.v1 = env.frame // the sending node's encoding, as is
	s.fanout(f, env.laneOf(), []*Client{c}, nil, false)
	*f = outFrame{}
	sharedPool.Put(f)
}

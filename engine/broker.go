package engine

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/simpleserver-go/simpleserver/proto"
)

// Clusters: several servers behave as one through a Broker.
//
// With Config.Broker set, Broadcast, room broadcasts and their Prepared
// variants reach the matching clients of every server ("node") on the
// broker. A node delivers to its own clients directly, then publishes ONE
// envelope per broadcast (never one per remote client); every other node
// fans the encoded frame in it out to its clients, as its own broadcasts.
// The broker must not echo a node's publications back to it (NATS: NoEcho);
// the envelope names its origin, so an echo is dropped anyway.
//
// Interest, not flooding: every node subscribes to TopicAll; a node
// subscribes to a room's topic while the room has a member on it, and
// unsubscribes when its last one leaves, so rooms that live on one node
// cost the others nothing.
//
// Client IDs carry the node ID in their top 24 bits, so that exclusions
// (BroadcastExceptIDs) can name clients on any node.
//
// Lanes travel with the publication: a Latest or Ephemeral frame stays
// droppable on every node that fans it out.
//
// Delivery across nodes is at most once: what is published while the
// broker is unreachable is lost for the other nodes (local clients still
// get it), and the send reports ErrBrokerPublish.

// Broker carries publications between the nodes of a cluster. broker/natsbroker
// implements it on NATS; the engine itself links no broker client.
type Broker interface {
	// Open connects. The broker calls deliver with the data of every
	// publication another node made on a subscribed topic, from any
	// goroutine, one call at a time; deliver does not block on I/O.
	Open(deliver func(data []byte)) error
	// Publish sends data to the nodes subscribed to topic. It must not
	// block on the network; when the broker is unreachable it fails at
	// once.
	Publish(topic string, data []byte) error
	// Subscribe and Unsubscribe change what this node receives. The engine
	// calls them in order, never twice for the same state.
	Subscribe(topic string) error
	Unsubscribe(topic string) error
	// Close disconnects; deliver is not called once Close has returned.
	Close() error
}

// TopicAll is the topic of Server.Broadcast; every node subscribes to it.
const TopicAll = "all"

// RoomTopic returns the topic of room broadcasts to name. It may contain
// any bytes: a Broker escapes what its naming does not allow.
func RoomTopic(name string) string { return "room/" + name }

// ErrBrokerPublish wraps a failed cross-node publication: the local
// clients were sent the message, other nodes were not.
var ErrBrokerPublish = errors.New("simpleserver: cross-node publish failed (delivered locally only)")

// nodeBits is where the node ID sits in a client ID.
const nodeBits = 40

// MaxNodeID is the largest Config.NodeID.
const MaxNodeID = 1<<24 - 1

// NodeID returns the server's node ID (Config.NodeID, or the one drawn at
// random for a cluster), 0 for a server without a broker or node ID.
func (s *Server) NodeID() uint32 { return s.nodeID }

// NodeOf returns the node ID part of a client ID.
func NodeOf(clientID uint64) uint32 { return uint32(clientID >> nodeBits) }

// initNode picks the node ID and starts client IDs in its range.
func (s *Server) initNode() {
	s.nodeID = s.cfg.NodeID
	if s.nodeID == 0 && s.cfg.Broker != nil {
		var b [4]byte
		for s.nodeID == 0 {
			_, _ = rand.Read(b[:])
			s.nodeID = binary.BigEndian.Uint32(b[:]) & MaxNodeID
		}
	}
	s.nextID.Store(uint64(s.nodeID) << nodeBits)
}

// openBroker opens the broker and subscribes to TopicAll.
func (s *Server) openBroker() error {
	b := s.cfg.Broker
	if b == nil {
		return nil
	}
	if err := b.Open(s.deliverRemote); err != nil {
		return fmt.Errorf("simpleserver: open broker: %w", err)
	}
	if err := b.Subscribe(TopicAll); err != nil {
		_ = b.Close()
		return fmt.Errorf("simpleserver: subscribe to broadcasts: %w", err)
	}
	if err := b.Subscribe(NodeTopic(s.nodeID)); err != nil {
		_ = b.Close()
		return fmt.Errorf("simpleserver: subscribe to direct sends: %w", err)
	}
	s.stats.brokerSubs.Add(2)
	return nil
}

func (s *Server) closeBroker() {
	if b := s.cfg.Broker; b != nil {
		if err := b.Close(); err != nil {
			s.log.Warn("simpleserver: close broker", "err", err.Error())
		}
	}
}

// roomInterest subscribes to a room's topic when it gets its first member
// on this node, and unsubscribes when its last member leaves. It runs
// under roomsMu, so the calls reach the broker in order.
func (s *Server) roomInterest(name string, on bool) {
	b := s.cfg.Broker
	if b == nil {
		return
	}
	topic := RoomTopic(name)
	var err error
	if on {
		if err = b.Subscribe(topic); err == nil {
			s.stats.brokerSubs.Add(1)
		}
	} else if err = b.Unsubscribe(topic); err == nil {
		s.stats.brokerSubs.Add(-1)
	}
	if err != nil {
		s.log.Warn("simpleserver: broker interest", "room", name, "on", on, "err", err.Error())
	}
}

// publish sends one envelope for a broadcast this node made. frame is the
// encoded frame; room is "" for Server.Broadcast.
func (s *Server) publish(room string, frame []byte, lane Lane, exclusions []*Client, exclIDs []uint64) error {
	b := s.cfg.Broker
	if b == nil {
		return nil
	}
	bb := s.outPool.Get()
	bb.B = appendEnvelope(bb.B[:0], s.nodeID, room, frame, lane, exclusions, exclIDs)
	topic := TopicAll
	if room != "" {
		topic = RoomTopic(room)
	}
	err := s.publishTo(topic, bb.B)
	s.outPool.Put(bb)
	return err
}

// publishTo hands data to the broker, counting it, and wraps a failure in
// ErrBrokerPublish.
func (s *Server) publishTo(topic string, data []byte) error {
	if err := s.cfg.Broker.Publish(topic, data); err != nil {
		s.stats.brokerPubErrs.Add(1)
		return fmt.Errorf("%w: %w", ErrBrokerPublish, err)
	}
	s.stats.brokerPub.Add(1)
	return nil
}

// deliverRemote fans a publication from another node out to this node's
// clients. It runs on the broker's goroutine.
func (s *Server) deliverRemote(data []byte) {
	env, err := parseEnvelope(data)
	if err != nil {
		s.log.Warn("simpleserver: bad broker publication", "err", err.Error())
		return
	}
	if env.origin == s.nodeID || s.draining.Load() {
		return
	}
	s.stats.brokerRecv.Add(1)
	if env.direct {
		s.deliverDirect(env)
		return
	}
	excl := s.localClients(env)
	f := sharedPool.Get().(*outFrame)
	f.v1 = env.frame     // the publishing node's encoding, fanned out as is
	lane := env.laneOf() // a droppable frame stays droppable on this node
	if env.room == "" {
		s.fanout(f, lane, nil, excl, true)
	} else {
		s.Room(env.room).fanout(f, lane, excl)
	}
	*f = outFrame{}
	sharedPool.Put(f)
}

// localClients resolves the envelope's excluded IDs that belong to this
// node into clients. Only exclusions of this node's clients cost a scan.
func (s *Server) localClients(env envelope) []*Client {
	mine := 0
	for i := 0; i < env.nexcl; i++ {
		if NodeOf(env.excl(i)) == s.nodeID {
			mine++
		}
	}
	if mine == 0 {
		return nil
	}
	return s.clientsByID(func(yield func(uint64) bool) {
		for i := 0; i < env.nexcl; i++ {
			if !yield(env.excl(i)) {
				return
			}
		}
	})
}

// clientsByID returns this node's clients whose IDs ids yields, suspended
// sessions included: Broadcast reaches those, so its exclusions must too.
func (s *Server) clientsByID(ids func(func(uint64) bool)) []*Client {
	var out []*Client
	for id := range ids {
		if c := s.ClientByID(id); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// BroadcastExceptIDs is Broadcast with the exclusions named by client ID:
// in a cluster they may be clients of any node.
func (s *Server) BroadcastExceptIDs(m *proto.Message, ids ...uint64) error {
	if s.draining.Load() {
		return ErrServerClosed
	}
	f, err := s.encodeShared(m)
	if err != nil {
		return err
	}
	defer s.releaseShared(f)
	var local []*Client
	for _, id := range ids {
		if NodeOf(id) == s.nodeID {
			local = s.clientsByID(func(yield func(uint64) bool) {
				for _, id := range ids {
					if !yield(id) {
						return
					}
				}
			})
			break
		}
	}
	s.fanout(f, Reliable, nil, local, true)
	return s.publish("", f.v1, Reliable, nil, ids)
}

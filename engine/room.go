package engine

import (
	"sync"

	"github.com/simpleserver-go/simpleserver/proto"
)

// Rooms.
//
// A room is a named set of clients to broadcast to. Each membership is two
// index slots that point at each other: the room's member slice holds the
// client and the position of the room in the client's list, the client's
// list holds the room and the client's position in the room's members.
// Join appends to both, Leave swap-removes from both and fixes the one
// moved entry on each side: O(1), no map, nothing allocated once the slices
// have grown. A membership costs 28 bytes (8+4 on the room's side, 16 on
// the client's), plus slice growth slack.
//
// Locking: every membership change holds Server.roomsMu (so both sides of
// a membership change together), and the room's own lock for writing its
// members. Broadcasts only read-lock the room, so broadcasts to different
// rooms, and to one room from several goroutines, run in parallel.
// Membership changes are rare next to broadcasts, so one lock for all of
// them keeps the two-sided bookkeeping simple without a measurable cost.

// Room is a named group of clients to broadcast to. Get one with
// Server.Room; its methods are safe for concurrent use from any goroutine.
//
// A room with no members is freed by itself: Server.Rooms stops listing
// it. A *Room stays usable after that: every method acts on the room of
// that name the server currently holds, and Join brings it back.
//
// In the default and manual modes, listeners see membership consistent
// with their own calls: a client is a member from the Join a listener made
// until the Leave a listener made, or until its OnDisconnect listeners have
// returned. During OnDisconnect the client is still listed (Has, Members,
// Client.Rooms), so listeners can tell the room who left, but it receives
// nothing more.
type Room struct {
	name string
	srv  *Server

	mu      sync.RWMutex // guards members and live; writers also hold srv.roomsMu
	members []*Client
	live    bool // registered in srv.rooms

	// slots[i] is this room's index in members[i]'s list. Guarded by
	// srv.roomsMu alone: broadcasts do not read it.
	slots []int32
}

// clientRooms is a client's side of its memberships, allocated at its
// first Join (Client.rooms stays nil for clients never in a room). Guarded
// by Server.roomsMu.
type clientRooms struct {
	list []roomRef
	gone bool // left every room after OnDisconnect: no more joins
}

// goneRooms marks a client never in a room that has disconnected, without
// an allocation per client.
var goneRooms = &clientRooms{gone: true}

// roomRef is one membership on the client's side.
type roomRef struct {
	r    *Room
	slot int32 // the client's index in r.members
}

// Room returns the room called name, creating it if the server has none.
// A newly created room is registered (listed by Rooms) from its first Join.
func (s *Server) Room(name string) *Room {
	s.roomsMu.RLock()
	r := s.rooms[name]
	s.roomsMu.RUnlock()
	if r != nil {
		return r
	}
	return &Room{name: name, srv: s}
}

// Rooms returns a snapshot of the rooms that have members.
func (s *Server) Rooms() []*Room {
	s.roomsMu.RLock()
	defer s.roomsMu.RUnlock()
	out := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		out = append(out, r)
	}
	return out
}

// Rooms returns the rooms the client is in. During its OnDisconnect
// listeners it still lists them; after that it is empty.
func (c *Client) Rooms() []*Room {
	c.srv.roomsMu.RLock()
	defer c.srv.roomsMu.RUnlock()
	if c.rooms == nil {
		return nil
	}
	out := make([]*Room, len(c.rooms.list))
	for i, ref := range c.rooms.list {
		out[i] = ref.r
	}
	return out
}

// Name returns the room's name.
func (r *Room) Name() string { return r.name }

// String returns "room <name>", for logs.
func (r *Room) String() string { return "room " + r.name }

// current returns the registered room of r's name, or nil. srv.roomsMu
// must be held.
func (r *Room) current() *Room {
	if cur := r.srv.rooms[r.name]; cur != nil {
		return cur
	}
	return nil
}

// Join adds c to the room; joining twice is harmless. It returns
// ErrClientClosed once c's OnDisconnect listeners have run (a client that
// is leaving but not yet announced may still join, so that listeners see
// their own calls take effect).
func (r *Room) Join(c *Client) error {
	s := r.srv
	s.roomsMu.Lock()
	defer s.roomsMu.Unlock()
	if c.rooms != nil && c.rooms.gone {
		return ErrClientClosed
	}
	cur := r.current()
	if cur == nil {
		if s.rooms == nil {
			s.rooms = make(map[string]*Room)
		}
		s.rooms[r.name] = r
		cur = r
		s.roomInterest(r.name, true) // cluster: receive the room's broadcasts (broker.go)
	}
	if c.rooms == nil {
		c.rooms = &clientRooms{}
	} else if c.rooms.find(cur) >= 0 {
		return nil
	}
	cur.mu.Lock()
	cur.live = true
	cur.slots = append(cur.slots, int32(len(c.rooms.list)))
	c.rooms.list = append(c.rooms.list, roomRef{r: cur, slot: int32(len(cur.members))})
	cur.members = append(cur.members, c)
	cur.mu.Unlock()
	return nil
}

// Leave removes c from the room and reports whether it was a member.
func (r *Room) Leave(c *Client) bool {
	s := r.srv
	s.roomsMu.Lock()
	defer s.roomsMu.Unlock()
	cur := r.current()
	if cur == nil || c.rooms == nil {
		return false
	}
	k := c.rooms.find(cur)
	if k < 0 {
		return false
	}
	c.rooms.remove(k)
	return true
}

// Has reports whether c is in the room.
func (r *Room) Has(c *Client) bool {
	s := r.srv
	s.roomsMu.RLock()
	defer s.roomsMu.RUnlock()
	cur := r.current()
	return cur != nil && c.rooms != nil && c.rooms.find(cur) >= 0
}

// Len returns the number of members.
func (r *Room) Len() int {
	n := -1
	r.mu.RLock()
	if r.live {
		n = len(r.members)
	}
	r.mu.RUnlock()
	if n >= 0 {
		return n
	}
	s := r.srv
	s.roomsMu.RLock()
	defer s.roomsMu.RUnlock()
	if cur := r.current(); cur != nil {
		return len(cur.members) // roomsMu excludes writers
	}
	return 0
}

// Members returns a snapshot of the room's members.
func (r *Room) Members() []*Client {
	var out []*Client
	r.withMembers(func(members []*Client) {
		out = append(make([]*Client, 0, len(members)), members...)
	})
	return out
}

// withMembers calls fn with the current members of the room of r's name,
// read-locked. fn is not called when the room has no members.
func (r *Room) withMembers(fn func([]*Client)) {
	r.mu.RLock()
	if r.live {
		fn(r.members)
		r.mu.RUnlock()
		return
	}
	r.mu.RUnlock()
	// r was freed: another *Room of the same name may hold the members.
	s := r.srv
	s.roomsMu.RLock()
	cur := r.current()
	s.roomsMu.RUnlock()
	if cur == nil || cur == r {
		return
	}
	cur.mu.RLock()
	if cur.live {
		fn(cur.members)
	}
	cur.mu.RUnlock()
}

// Broadcast sends m to every member except the exclusions. m is encoded
// once, and it may be reused when Broadcast returns. Members that are
// leaving are skipped. Like Server.Broadcast, it fails only with
// ErrServerClosed or an encoding error.
func (r *Room) Broadcast(m *proto.Message, exclusions ...*Client) error {
	return r.BroadcastOn(Reliable, m, exclusions...)
}

// BroadcastOn is Broadcast on the given delivery lane (see Client.SendOn).
func (r *Room) BroadcastOn(lane Lane, m *proto.Message, exclusions ...*Client) error {
	s := r.srv
	if s.draining.Load() {
		return ErrServerClosed
	}
	f, err := s.encodeShared(m)
	if err != nil {
		return err
	}
	r.fanout(f, lane, exclusions)
	err = s.publish(r.name, f.v1, lane, exclusions, nil)
	s.releaseShared(f)
	return err
}

// BroadcastPrepared is Broadcast for a PreparedMessage, sent on its lane.
func (r *Room) BroadcastPrepared(pm *PreparedMessage, exclusions ...*Client) error {
	if r.srv.draining.Load() {
		return ErrServerClosed
	}
	r.fanout(&pm.frame, pm.lane, exclusions)
	return r.srv.publish(r.name, pm.frame.v1, pm.lane, exclusions, nil)
}

func (r *Room) fanout(frame *outFrame, lane Lane, exclusions []*Client) {
	b := getFanBatch()
	r.withMembers(func(members []*Client) { b.add(frame, lane, members, exclusions) })
	r.srv.finishFanout(b)
}

// find returns the index of r in the list, or -1. Clients are in few
// rooms, so a scan beats a map.
func (cr *clientRooms) find(r *Room) int {
	for i := range cr.list {
		if cr.list[i].r == r {
			return i
		}
	}
	return -1
}

// remove drops membership k from both sides. srv.roomsMu must be held.
func (cr *clientRooms) remove(k int) {
	ref := cr.list[k]
	r := ref.r
	// The room's side: move its last member into the hole.
	r.mu.Lock()
	i, last := int(ref.slot), len(r.members)-1
	moved, movedSlot := r.members[last], r.slots[last]
	r.members[i], r.slots[i] = moved, movedSlot
	moved.rooms.list[movedSlot].slot = int32(i)
	r.members[last] = nil
	r.members, r.slots = r.members[:last], r.slots[:last]
	if last == 0 {
		// Empty: free it, so that a server with many short-lived rooms
		// (one per match) keeps no trace of the finished ones.
		r.live = false
		r.members, r.slots = nil, nil
		delete(r.srv.rooms, r.name)
		r.srv.roomInterest(r.name, false)
	}
	r.mu.Unlock()
	// The client's side: move its last room into the hole.
	lastRef := len(cr.list) - 1
	mv := cr.list[lastRef]
	if k != lastRef { // then mv.r != r: a client is in a room once
		cr.list[k] = mv
		mv.r.slots[mv.slot] = int32(k)
	}
	cr.list[lastRef] = roomRef{}
	cr.list = cr.list[:lastRef]
}

// leaveRooms takes c out of every room, once its OnDisconnect listeners
// have run, and refuses later joins.
func (s *Server) leaveRooms(c *Client) {
	s.roomsMu.Lock()
	defer s.roomsMu.Unlock()
	if c.rooms == nil {
		c.rooms = goneRooms
		return
	}
	for len(c.rooms.list) > 0 {
		c.rooms.remove(len(c.rooms.list) - 1)
	}
	c.rooms.list = nil
	c.rooms.gone = true
}

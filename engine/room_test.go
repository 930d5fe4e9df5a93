package engine

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/proto"
)

// roomPeers connects n raw clients to s, each announcing its index in a
// "hello" message, and returns them with their server-side Clients, by
// index. s must not have been started; roomPeers starts it.
func roomPeers(t *testing.T, s *Server, n int) ([]*rawConn, []*Client) {
	t.Helper()
	var mu sync.Mutex
	byIdx := make(map[int]*Client)
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		if v, ok := m.HeaderString("hello"); ok {
			i, _ := strconv.Atoi(v)
			mu.Lock()
			byIdx[i] = c
			mu.Unlock()
		}
	})
	run(t, s)
	conns := make([]*rawConn, n)
	for i := range conns {
		conns[i] = dial(t, s)
		conns[i].send(proto.NewMessage().AddHeader("hello", strconv.Itoa(i)))
	}
	waitFor(t, "every hello", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(byIdx) == n
	})
	clients := make([]*Client, n)
	for i := range clients {
		clients[i] = byIdx[i]
	}
	return conns, clients
}

// checkRoomInvariants verifies both sides of every membership agree.
func checkRoomInvariants(t *testing.T, s *Server, clients []*Client) {
	t.Helper()
	s.roomsMu.RLock()
	defer s.roomsMu.RUnlock()
	for name, r := range s.rooms {
		if r.name != name || !r.live || len(r.members) == 0 || len(r.members) != len(r.slots) {
			t.Errorf("room %q: live=%v members=%d slots=%d", name, r.live, len(r.members), len(r.slots))
			continue
		}
		for i, c := range r.members {
			ref := c.rooms.list[r.slots[i]]
			if ref.r != r || int(ref.slot) != i {
				t.Errorf("room %q member %d: client's ref is %v/%d", name, i, ref.r, ref.slot)
			}
		}
	}
	for _, c := range clients {
		if c.rooms == nil {
			continue
		}
		for k, ref := range c.rooms.list {
			if s.rooms[ref.r.name] != ref.r || ref.r.members[ref.slot] != c || int(ref.r.slots[ref.slot]) != k {
				t.Errorf("%v: membership %d of %v is not mirrored", c, k, ref.r)
			}
		}
	}
}

func roomNames(rs []*Room) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name()
	}
	slices.Sort(out)
	return out
}

func TestRoomOperations(t *testing.T) {
	s := startServer(t)
	_, cs := roomPeers(t, s, 3)
	a, b, c := cs[0], cs[1], cs[2]

	lobby := s.Room("lobby")
	if lobby.Name() != "lobby" || lobby.Len() != 0 || lobby.Has(a) || len(lobby.Members()) != 0 {
		t.Fatalf("new room: len %d has %v", lobby.Len(), lobby.Has(a))
	}
	if len(s.Rooms()) != 0 {
		t.Fatalf("a room nobody joined is listed: %v", roomNames(s.Rooms()))
	}
	for _, x := range []*Client{a, b, a} { // the second Join of a is a no-op
		if err := lobby.Join(x); err != nil {
			t.Fatalf("Join: %v", err)
		}
	}
	if lobby.Len() != 2 || !lobby.Has(a) || !lobby.Has(b) || lobby.Has(c) {
		t.Fatalf("after joins: len %d", lobby.Len())
	}
	if s.Room("lobby") != lobby {
		t.Fatal("Server.Room returned another room for a registered name")
	}
	match := s.Room("match")
	_ = match.Join(a)
	_ = match.Join(c)
	if got := roomNames(a.Rooms()); !slices.Equal(got, []string{"lobby", "match"}) {
		t.Fatalf("a.Rooms() = %v", got)
	}
	if got := roomNames(s.Rooms()); !slices.Equal(got, []string{"lobby", "match"}) {
		t.Fatalf("s.Rooms() = %v", got)
	}
	members := lobby.Members()
	if len(members) != 2 || !slices.Contains(members, a) || !slices.Contains(members, b) {
		t.Fatalf("Members() = %v", members)
	}
	checkRoomInvariants(t, s, cs)

	if !lobby.Leave(a) || lobby.Leave(a) || lobby.Leave(c) {
		t.Fatal("Leave must report true once for a member, false otherwise")
	}
	if lobby.Has(a) || lobby.Len() != 1 || !match.Has(a) {
		t.Fatal("Leave changed the wrong membership")
	}
	if got := roomNames(a.Rooms()); !slices.Equal(got, []string{"match"}) {
		t.Fatalf("a.Rooms() after leaving lobby = %v", got)
	}
	checkRoomInvariants(t, s, cs)

	// The last member leaving frees the room; the handle still works.
	lobby.Leave(b)
	if got := roomNames(s.Rooms()); !slices.Equal(got, []string{"match"}) {
		t.Fatalf("an empty room is still listed: %v", got)
	}
	if lobby.Len() != 0 || lobby.Has(b) || lobby.Members() != nil {
		t.Fatal("a freed room has members")
	}
	if s.Room("lobby") == lobby {
		t.Fatal("Server.Room returned a freed room")
	}
	// A stale handle and a fresh one of the same name are the same room.
	fresh := s.Room("lobby")
	_ = fresh.Join(c)
	if !lobby.Has(c) || lobby.Len() != 1 || lobby.Members()[0] != c {
		t.Fatal("a stale handle does not see the room of its name")
	}
	_ = lobby.Join(b)
	if fresh.Len() != 2 || !fresh.Has(b) {
		t.Fatal("joining through a stale handle missed the current room")
	}
	checkRoomInvariants(t, s, cs)
}

// TestRoomBroadcastDelivers checks Broadcast, BroadcastPrepared and
// exclusions on a room, and that a stale handle's broadcast reaches the
// current room.
func TestRoomBroadcastDelivers(t *testing.T) {
	s := startServer(t)
	conns, cs := roomPeers(t, s, 3)
	r := s.Room("r")
	_ = r.Join(cs[0])
	_ = r.Join(cs[1])
	if err := r.Broadcast(proto.NewMessage().AddHeader("n", "1"), cs[1]); err != nil {
		t.Fatal(err)
	}
	pm, _ := NewPreparedMessage(proto.NewMessage().AddHeader("n", "2"))
	if err := r.BroadcastPrepared(pm); err != nil {
		t.Fatal(err)
	}
	r.Leave(cs[0])
	r.Leave(cs[1]) // freed
	_ = s.Room("r").Join(cs[2])
	_ = r.Broadcast(proto.NewMessage().AddHeader("n", "3"))
	_ = s.Broadcast(proto.NewMessage().AddHeader("n", "end"))
	want := [][]string{{"1", "2", "end"}, {"2", "end"}, {"3", "end"}}
	for i, rc := range conns {
		var got []string
		for len(got) == 0 || got[len(got)-1] != "end" {
			v, _ := rc.readMessage().HeaderString("n")
			got = append(got, v)
		}
		if !slices.Equal(got, want[i]) {
			t.Errorf("client %d got %v, want %v", i, got, want[i])
		}
	}
}

// TestRoomDisconnect: a client that disconnects leaves every room, after
// its OnDisconnect listeners, which still see its rooms; it receives
// nothing more; joins after that fail.
func TestRoomDisconnect(t *testing.T) {
	for _, inline := range []bool{false, true} {
		t.Run(fmt.Sprintf("inline=%v", inline), func(t *testing.T) {
			s := startServer(t, WithInline(inline))
			type seen struct {
				rooms   []string
				has     bool
				sendErr error
			}
			got := make(chan seen, 1)
			s.OnDisconnect.AddListener(func(c *Client, _ error) {
				var v seen
				v.rooms = roomNames(c.Rooms())
				v.has = s.Room("a").Has(c)
				// Tell the room who left; the leaver itself is skipped.
				_ = s.Room("a").Broadcast(proto.NewMessage().AddHeader("left", strconv.FormatUint(c.ID(), 10)))
				v.sendErr = c.Send(proto.NewMessage())
				got <- v
			})
			conns, cs := roomPeers(t, s, 2)
			_ = s.Room("a").Join(cs[0])
			_ = s.Room("b").Join(cs[0])
			_ = s.Room("a").Join(cs[1])
			conns[0].Close()
			v := <-got
			if !slices.Equal(v.rooms, []string{"a", "b"}) || !v.has {
				t.Errorf("during OnDisconnect: Rooms %v, Has %v; want [a b], true", v.rooms, v.has)
			}
			if !errors.Is(v.sendErr, ErrClientClosed) {
				t.Errorf("Send during OnDisconnect = %v, want ErrClientClosed", v.sendErr)
			}
			if left, _ := conns[1].readMessage().HeaderString("left"); left != strconv.FormatUint(cs[0].ID(), 10) {
				t.Errorf("the room heard %q left", left)
			}
			waitFor(t, "the leaver out of its rooms", func() bool { return len(cs[0].Rooms()) == 0 })
			if s.Room("a").Has(cs[0]) || s.Room("a").Len() != 1 {
				t.Error("the leaver is still in room a")
			}
			if got := roomNames(s.Rooms()); !slices.Equal(got, []string{"a"}) {
				t.Errorf("rooms after the disconnect: %v (room b must be freed)", got)
			}
			if err := s.Room("a").Join(cs[0]); !errors.Is(err, ErrClientClosed) {
				t.Errorf("Join after disconnect = %v, want ErrClientClosed", err)
			}
			checkRoomInvariants(t, s, cs)
		})
	}
}

// TestRoomMembershipConsistentInListeners: in manual mode a listener's own
// joins and leaves are what it sees, even while the client is gone but
// not yet announced.
func TestRoomMembershipConsistentInListeners(t *testing.T) {
	s := startServer(t, WithManualUpdate(true))
	var joinErr error
	var hasAfterJoin, hasAfterLeave bool
	s.OnMessage.AddListener(func(c *Client, m *proto.Message) {
		r := s.Room("x")
		joinErr = r.Join(c)
		hasAfterJoin = r.Has(c) && r.Len() == 1
		r.Leave(c)
		hasAfterLeave = r.Has(c)
		_ = r.Join(c)
	})
	run(t, s)
	rc := dial(t, s)
	rc.send(proto.NewMessage())
	rc.Close() // gone before its message is dispatched
	waitFor(t, "the close to be seen by the loop", func() bool { return s.numConns.Load() == 0 })
	var disconnectedIn []string
	s.OnDisconnect.AddListener(func(c *Client, _ error) { disconnectedIn = roomNames(c.Rooms()) })
	for len(disconnectedIn) == 0 {
		if err := s.Update(); err != nil {
			t.Fatal(err)
		}
	}
	if joinErr != nil || !hasAfterJoin || hasAfterLeave {
		t.Errorf("in the listener: Join %v, Has after Join %v, Has after Leave %v", joinErr, hasAfterJoin, hasAfterLeave)
	}
	if !slices.Equal(disconnectedIn, []string{"x"}) {
		t.Errorf("OnDisconnect saw rooms %v", disconnectedIn)
	}
	if len(s.Rooms()) != 0 {
		t.Errorf("rooms left after the only member went: %v", roomNames(s.Rooms()))
	}
}

// TestRoomBroadcastExactness: 50 clients in 5 rooms; each room broadcasts
// with one member excluded; every client gets exactly its room's
// messages, in order, minus those it was excluded from.
func TestRoomBroadcastExactness(t *testing.T) {
	for _, inline := range []bool{false, true} {
		t.Run(fmt.Sprintf("inline=%v", inline), func(t *testing.T) {
			const nClients, nRooms, perRoom = 50, 5, 40
			s := startServer(t, WithInline(inline))
			conns, cs := roomPeers(t, s, nClients)
			rooms := make([]*Room, nRooms)
			for i := range rooms {
				rooms[i] = s.Room("room-" + strconv.Itoa(i))
			}
			for i, c := range cs {
				_ = rooms[i%nRooms].Join(c)
			}
			want := make([][]string, nClients)
			var wg sync.WaitGroup
			for ri, r := range rooms { // rooms broadcast concurrently
				members := r.Members()
				if len(members) != nClients/nRooms {
					t.Fatalf("room %d has %d members", ri, len(members))
				}
				for k := 0; k < perRoom; k++ {
					tag := fmt.Sprintf("%d/%d", ri, k)
					excluded := members[k%len(members)]
					for i, c := range cs {
						if i%nRooms == ri && c != excluded {
							want[i] = append(want[i], tag)
						}
					}
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := 0; k < perRoom; k++ {
						tag := fmt.Sprintf("%d/%d", ri, k)
						if err := r.Broadcast(proto.NewMessage().AddHeader("tag", tag), members[k%len(members)]); err != nil {
							t.Error(err)
						}
					}
				}()
			}
			wg.Wait()
			_ = s.Broadcast(proto.NewMessage().AddHeader("tag", "end")) // a fence: frames to one client stay in order
			for i, rc := range conns {
				var got []string
				for {
					tag, _ := rc.readMessage().HeaderString("tag")
					if tag == "end" {
						break
					}
					got = append(got, tag)
				}
				if !slices.Equal(got, want[i]) {
					t.Errorf("client %d: got %d messages %v, want %d %v", i, len(got), got, len(want[i]), want[i])
				}
			}
		})
	}
}

// TestRoomConcurrent joins, leaves and broadcasts from many goroutines at
// once (run it under -race), then checks both sides of every membership.
func TestRoomConcurrent(t *testing.T) {
	const nClients, nRooms, workers = 20, 6, 8
	ops := 3000
	if testing.Short() {
		ops = 800
	}
	s := startServer(t)
	conns, cs := roomPeers(t, s, nClients)
	for _, rc := range conns { // keep the sockets drained
		go func() {
			buf := make([]byte, 32<<10)
			for {
				if _, err := rc.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	_ = s.Room("r0").Join(cs[0])
	stale := s.Room("r0")
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			msg := proto.NewMessage().SetBody(make([]byte, 16))
			for i := 0; i < ops; i++ {
				c := cs[rng.IntN(nClients)]
				r := s.Room("r" + strconv.Itoa(rng.IntN(nRooms)))
				switch rng.IntN(8) {
				case 0, 1, 2:
					_ = r.Join(c)
				case 3, 4:
					r.Leave(c)
				case 5:
					_ = r.Broadcast(msg, c)
				case 6:
					_ = stale.Broadcast(msg)
					_ = stale.Len()
				case 7:
					_ = c.Rooms()
					_ = r.Members()
					_ = r.Has(c)
					_ = s.Rooms()
				}
			}
		}()
	}
	// A disconnect racing with the workers.
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(time.Millisecond)
		conns[nClients-1].Close()
	}()
	wg.Wait()
	waitFor(t, "the closed client out of every room", func() bool {
		s.roomsMu.RLock()
		defer s.roomsMu.RUnlock()
		cr := cs[nClients-1].rooms
		return cr != nil && cr.gone && len(cr.list) == 0
	})
	checkRoomInvariants(t, s, cs)
	total := 0
	for _, r := range s.Rooms() {
		n := r.Len()
		total += n
		for _, c := range r.Members() {
			if !r.Has(c) || !slices.Contains(c.Rooms(), r) {
				t.Errorf("%v lists %v but not the other way round", r, c)
			}
		}
	}
	perClient := 0
	for _, c := range cs {
		perClient += len(c.Rooms())
	}
	if total != perClient {
		t.Errorf("rooms count %d memberships, clients %d", total, perClient)
	}
}

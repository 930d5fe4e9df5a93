// Command arena is a tiny multiplayer game server that shows rooms and
// delivery lanes. Players are put into arenas (a room each, -size players
// per arena); they send inputs, the server ticks at 60 Hz and broadcasts
// every player's position to its arena on the latest(player) lane, chat on
// the reliable lane and voice (50 frames/s of 160 bytes from each speaker)
// on the ephemeral(200 ms) lane. A player whose connection cannot keep up
// gets the newest position of everyone and fresh voice, instead of falling
// seconds behind and being kicked.
//
//	go run ./examples/arena -addr 127.0.0.1:8090 -bots 40 -slow 4
//
// and open http://127.0.0.1:8090/ in a browser to play in an arena with the
// bots (page.go: WebSocket on the same port).
//
// -bots N connects N headless players (every fourth one speaks), of which
// -slow read only ~20 KB/s, like a bad Wi-Fi link. Every second it prints
// the tick's cost, deliveries per second and what the lanes replaced and
// dropped. -duration stops it after a while.
//
// The wire format, for your own client: send a message with header
// "input" and a 2-byte body (dx, dy as int8) to steer, "chat" with text,
// "voice" with opaque bytes. You receive "welcome" (headers "id", "arena"),
// "pos" (header "id", body x, y as little-endian float32), "chat" (header
// "from") and "voice" (header "from").
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"math"
	"net"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/simpleserver-go/simpleserver"
)

const (
	tickRate = 60
	voiceTTL = 200 * time.Millisecond
	arenaW   = 100.0 // the arena is arenaW x arenaW, players bounce off its walls
)

// player is a client's game state (Client.Data). All listeners run on one
// goroutine, so none of this needs a lock.
type player struct {
	id     uint64
	idStr  string
	x, y   float32
	dx, dy float32
	arena  *arena
	index  int // in arena.players
}

// arena is one match: a room to broadcast to, and its players to simulate.
type arena struct {
	room    *simpleserver.Room
	players []*player
}

// game holds the arenas and the per-second report's counters.
type game struct {
	server  *simpleserver.Server
	size    int
	arenas  []*arena
	nextID  int
	pos     *simpleserver.NetworkMessage // reused every tick: a send encodes at once
	out     *simpleserver.NetworkMessage
	ticks   int
	tickSum time.Duration
	tickMax time.Duration
	last    simpleserver.Stats
	lastAt  time.Time
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "address to listen on")
	size := flag.Int("size", 8, "players per arena")
	bots := flag.Int("bots", 0, "headless players to connect")
	slow := flag.Int("slow", 0, "how many of the bots read only ~20 KB/s")
	duration := flag.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	flag.Parse()
	host, p, err := net.SplitHostPort(*addr)
	if err != nil {
		log.Fatalf("bad -addr %q: %v", *addr, err)
	}
	port, _ := strconv.Atoi(p)

	// WebSocket on, and the browser view at / (page.go).
	server := simpleserver.NewServer(host, port, append(pageOptions(),
		simpleserver.WithTickRate(tickRate),
		// A small kernel send buffer: what the kernel holds can no longer
		// be replaced or dropped, so a lagging player should not have
		// seconds of it queued there.
		simpleserver.Option(func(c *simpleserver.Config) { c.SocketSendBuffer = 32 << 10 }),
	)...)
	g := &game{server: server, size: max(*size, 1), pos: simpleserver.NewMessage(), out: simpleserver.NewMessage(), lastAt: time.Now()}
	server.OnConnection.AddListener(g.join)
	server.OnMessage.AddListener(g.message)
	server.OnDisconnect.AddListener(g.leave)
	server.OnUpdate.AddListener(g.tick)

	if err := server.StartAsync(); err != nil {
		log.Fatal(err)
	}
	log.Printf("arena server listening on %v", server.Addr())
	a := server.Addr().(*net.TCPAddr)
	for i := 0; i < *bots; i++ {
		go runBot(a.IP.String(), a.Port, i, i < *slow)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := server.Stop(shutdown); err != nil {
		log.Printf("stop: %v", err)
	}
}

// join puts a new player into the first arena with room, or a new one.
func (g *game) join(c *simpleserver.Client) {
	var ar *arena
	for _, a := range g.arenas {
		if len(a.players) < g.size {
			ar = a
			break
		}
	}
	if ar == nil {
		g.nextID++
		ar = &arena{room: g.server.Room("arena-" + strconv.Itoa(g.nextID))}
		g.arenas = append(g.arenas, ar)
	}
	p := &player{id: c.ID(), idStr: strconv.FormatUint(c.ID(), 10), x: arenaW / 2, y: arenaW / 2, arena: ar, index: len(ar.players)}
	ar.players = append(ar.players, p)
	c.Data = p
	_ = ar.room.Join(c)
	g.out.Reset()
	_ = c.Send(g.out.AddHeader("welcome", "").AddHeader("id", p.idStr).AddHeader("arena", ar.room.Name()))
}

// leave takes a player out of its arena; the room drops it by itself.
func (g *game) leave(c *simpleserver.Client, _ error) {
	p, ok := c.Data.(*player)
	if !ok {
		return
	}
	ar := p.arena
	last := len(ar.players) - 1
	ar.players[p.index] = ar.players[last]
	ar.players[p.index].index = p.index
	ar.players = ar.players[:last]
	if len(ar.players) == 0 {
		for i, a := range g.arenas {
			if a == ar {
				g.arenas = append(g.arenas[:i], g.arenas[i+1:]...)
				break
			}
		}
	}
}

func (g *game) message(c *simpleserver.Client, m *simpleserver.NetworkMessage) {
	p, ok := c.Data.(*player)
	if !ok {
		return
	}
	room := p.arena.room
	switch {
	case m.HasHeader("input") && len(m.Body()) == 2:
		p.dx, p.dy = float32(int8(m.Body()[0]))/64, float32(int8(m.Body()[1]))/64
	case m.HasHeader("chat"):
		g.out.Reset()
		_ = room.Broadcast(g.out.AddHeader("chat", "").AddHeader("from", p.idStr).SetBody(m.Body()))
	case m.HasHeader("voice"):
		g.out.Reset()
		g.out.AddHeader("voice", "").AddHeader("from", p.idStr).SetBody(m.Body())
		_ = room.BroadcastOn(simpleserver.Ephemeral(voiceTTL), g.out, c) // not back to the speaker
	}
}

// tick moves every player and broadcasts its position to its arena.
func (g *game) tick() {
	start := time.Now()
	var body [8]byte
	for _, ar := range g.arenas {
		for _, p := range ar.players {
			p.x, p.dx = bounce(p.x+p.dx, p.dx)
			p.y, p.dy = bounce(p.y+p.dy, p.dy)
			binary.LittleEndian.PutUint32(body[:], math.Float32bits(p.x))
			binary.LittleEndian.PutUint32(body[4:], math.Float32bits(p.y))
			g.pos.Reset()
			g.pos.AddHeader("pos", "").AddHeader("id", p.idStr).SetBody(body[:])
			_ = ar.room.BroadcastOn(simpleserver.Latest(p.id), g.pos)
		}
	}
	d := time.Since(start)
	g.ticks++
	g.tickSum += d
	g.tickMax = max(g.tickMax, d)
	if now := time.Now(); now.Sub(g.lastAt) >= time.Second {
		g.report(now)
	}
}

func bounce(v, d float32) (float32, float32) {
	switch {
	case v < 0:
		return -v, -d
	case v > arenaW:
		return 2*arenaW - v, -d
	}
	return v, d
}

// report prints the last second: the tick's cost, deliveries per second
// (frames queued or held for a client: a broadcast counts once per
// member), and what the lanes replaced and dropped for lagging players.
func (g *game) report(now time.Time) {
	st := g.server.Stats()
	secs := now.Sub(g.lastAt).Seconds()
	players := 0
	for _, a := range g.arenas {
		players += len(a.players)
	}
	fmt.Printf("players %d in %d arenas | tick avg %v max %v | deliveries/s %.0f | replaced %d dropped %d (held %d B) | slow-consumer kicks %d\n",
		players, len(g.arenas),
		(g.tickSum / time.Duration(max(g.ticks, 1))).Round(time.Microsecond), g.tickMax.Round(time.Microsecond),
		float64(st.MessagesSent-g.last.MessagesSent)/secs,
		st.Lanes.Replaced-g.last.Lanes.Replaced, st.Lanes.Dropped()-g.last.Lanes.Dropped(), st.Lanes.HeldBytes,
		st.SlowConsumerKicks)
	g.last, g.lastAt = st, now
	g.ticks, g.tickSum, g.tickMax = 0, 0, 0
}

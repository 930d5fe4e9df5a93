package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simpleserver-go/simpleserver/internal/gnet"
	"github.com/valyala/bytebufferpool"

	"github.com/simpleserver-go/simpleserver/proto"
)

// Server is a SimpleServer message server. Create it with NewServer or New,
// add listeners to its events, then Start or StartAsync it. A Server runs
// once: after Stop it cannot be started again.
type Server struct {
	// OnConnection fires when a client connects.
	OnConnection Event[func(c *Client)]
	// OnMessage fires for every MESSAGE a client sends. m is valid only
	// until the listener returns; m.Clone() keeps it.
	OnMessage Event[func(c *Client, m *proto.Message)]
	// OnDisconnect fires exactly once per connected client when it is gone.
	// reason says why: test it with errors.Is against the Err* reasons.
	OnDisconnect Event[func(c *Client, reason error)]
	// OnUpdate fires once per tick (TickRate times per second), or once per
	// Update call in manual mode.
	OnUpdate Event[func()]
	// OnSuspend fires when a client with a session (Config.SessionGrace)
	// loses its connection: it keeps its ID, Data and rooms, sends to it are
	// kept for replay, and it leaves Clients() until it resumes. reason says
	// why the connection was lost. A game may pause the player here.
	OnSuspend Event[func(c *Client, reason error)]
	// OnResume fires when a suspended client is back: what it missed has
	// been replayed, in order, and it is in Clients() again.
	OnResume Event[func(c *Client)]

	cfg    Config
	cfgErr error
	log    *slog.Logger

	mu             sync.Mutex // guards state
	state          int
	eng            gnet.Engine
	addr           net.Addr
	bootCh         chan error
	startDone      chan struct{} // closed when StartAsync has finished
	runErr         error         // what gnet.Run returned
	endErr         error         // why the engine ended by itself; nil after Stop (Wait)
	ranOut         chan struct{} // closed when gnet.Run has returned
	done           chan struct{} // closed when the server has fully stopped
	stopDispatch   chan struct{}
	dispatcherDone chan struct{}

	// Dispatch (default and manual modes).
	queue      *eventQueue
	spare      []*batch   // the queue's second buffer (queue.go)
	dispatched []*batch   // dispatched batches, recycled at the next take
	dispatchMu sync.Mutex // one dispatcher at a time
	logic      flushScope
	inPool     bytebufferpool.Pool // inbound payload copies
	outPool    bytebufferpool.Pool // broadcast frames

	reg      clientSet // registry: see clientSet
	nextID   atomic.Uint64
	numConns atomic.Int64 // admitted and not yet closed
	// heldRefusals counts refused connections held for their first bytes (refuse.go).
	heldRefusals atomic.Int64
	draining     atomic.Bool
	// tickDue is when the next inline OnUpdate is due (unix ns): a busy
	// loop yields then, so the ticker goroutine is not starved.
	tickDue atomic.Int64
	// listenerShut: Stop has shut the listener; gnet's accept errors follow.
	listenerShut atomic.Bool

	stats  serverStats // see stats.go
	nodeID uint32      // see broker.go

	loopsMu   sync.Mutex
	loops     map[gnet.EventLoop]*loopState
	loopsList atomic.Pointer[[]*loopState] // the loops' values, for lock-free reads

	sessions sessionTable // sessions by token, suspended ones (session.go)

	laneStats laneCounters // every client's droppable lanes (lanestats.go)
	poll      lanePoller   // clients with held frames (lanepoll.go)

	roomsMu sync.RWMutex     // guards rooms and every membership change (room.go)
	rooms   map[string]*Room // the rooms that have members

	// Backpressure (see backpressure.go).
	queued  atomic.Int64 // charge of the MESSAGEs queued and not yet dispatched
	waiters atomic.Int32 // loops waiting for the dispatcher

	silent silentConns // connections that have sent nothing yet (detect.go)

	// Accepting and admission: accept.go, rlimit.go, addrcap.go.
	acc      acceptor
	fdLimit  uint64 // soft RLIMIT_NOFILE at start
	addrs    addrCap
	refusals logLimiter
	// evictions limits the log lines of suspended sessions evicted (session_cap.go).
	evictions logLimiter
}

const (
	stateNew = iota
	stateRunning
	stateStopping
	stateStopped
)

// NewServer returns a server for host:port with the defaults of Config and
// the given options (the seed's Server(host, port, ...)). Invalid settings
// are reported by Start and StartAsync.
func NewServer(host string, port int, opts ...Option) *Server {
	cfg := Config{Host: host, Port: port}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		s = newServer(cfg)
		s.cfgErr = err
	}
	return s
}

// New returns a server for cfg, or the error Config.Validate reports.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return newServer(cfg), nil
}

func newServer(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:   cfg,
		queue: newEventQueue(),
		loops: make(map[gnet.EventLoop]*loopState),
		done:  make(chan struct{}),
	}
	s.initNode()
	s.log = cfg.Logger
	if s.log == nil {
		level := slog.LevelWarn
		if cfg.Verbose {
			level = slog.LevelDebug
		}
		s.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	}
	return s
}

// Config returns the server's configuration with defaults filled in. Once
// the server has started, MaxConnections is the effective cap: lowered, if
// need be, to fit the open-file limit (see Config.ReservedFDs); and
// MaxSuspended, if it was 0, is that cap.
func (s *Server) Config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// StartAsync starts the server and returns once it is listening, or with
// the error that prevented it (the address in use, an invalid config...).
// Events are then dispatched on a goroutine of the server's own, unless the
// server is in manual update or inline mode.
func (s *Server) StartAsync() error {
	s.mu.Lock()
	if s.state != stateNew {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if s.cfgErr != nil {
		s.mu.Unlock()
		return s.cfgErr
	}
	s.state = stateRunning
	s.bootCh = make(chan error, 1)
	s.ranOut = make(chan struct{})
	s.startDone = make(chan struct{})
	defer close(s.startDone) // Stop waits for it
	s.mu.Unlock()

	if err := s.openBroker(); err != nil {
		s.mu.Lock()
		s.state = stateStopped
		s.mu.Unlock()
		close(s.done)
		return err
	}
	hostport := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	addr := "tcp://" + hostport
	s.fdBudget()
	s.resolveMaxSuspended()
	if err := s.acc.listen(s, hostport); err != nil {
		s.closeBroker()
		s.mu.Lock()
		s.state = stateStopped
		s.mu.Unlock()
		close(s.done)
		return fmt.Errorf("simpleserver: listen on %s: %w", addr, err)
	}
	go func() {
		// gnet listens on nothing reachable; the acceptor feeds it.
		err := gnet.Run(&handler{s: s}, s.acc.gnetAddr,
			gnet.WithNumEventLoop(s.cfg.EventLoops),
			gnet.WithReadBufferCap(s.cfg.ReadBufferCap),
			gnet.WithReuseAddr(true),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay),
			gnet.WithTCPKeepAlive(s.tcpKeepAlive()),
			gnet.WithTicker(true),
			gnet.WithLogger(gnetLogger{s.log, &s.listenerShut}),
		)
		s.runErr = err
		select {
		case s.bootCh <- err: // Run failed before OnBoot
		default:
		}
		close(s.ranOut)
	}()
	if err := <-s.bootCh; err != nil {
		<-s.ranOut
		s.acc.stop()
		s.closeBroker()
		s.mu.Lock()
		s.state = stateStopped
		s.mu.Unlock()
		close(s.done)
		if err == nil {
			err = errors.New("engine stopped during start")
		}
		return fmt.Errorf("simpleserver: listen on %s: %w", addr, err)
	}
	s.log.Debug("simpleserver: listening", "addr", s.addr.String(), "loops", s.cfg.EventLoops,
		"manual", s.cfg.ManualUpdate, "inline", s.cfg.Inline)

	s.acc.start()
	s.stopDispatch = make(chan struct{})
	s.dispatcherDone = make(chan struct{})
	switch {
	case s.cfg.ManualUpdate:
		close(s.dispatcherDone)
	case s.cfg.Inline:
		go s.runTicker()
	default:
		go s.runDispatcher()
	}
	go s.watchEngine()
	return nil
}

// Start starts the server and blocks until it has stopped (the seed's
// start()). It returns nil after a Stop, or the error that ended it (see
// Wait).
func (s *Server) Start() error {
	if err := s.StartAsync(); err != nil {
		return err
	}
	return s.Wait()
}

// Addr returns the address the server listens on (with the real port when
// Port was 0), or nil before it has started.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Update dispatches every pending event and then fires OnUpdate, on the
// calling goroutine (the seed's update()). It needs manual update mode.
func (s *Server) Update() error {
	if !s.cfg.ManualUpdate {
		return ErrNotManual
	}
	s.mu.Lock()
	state := s.state
	s.mu.Unlock()
	switch state {
	case stateNew:
		return ErrNotStarted
	case stateStopped:
		return ErrServerClosed
	}
	s.dispatchMu.Lock()
	defer s.dispatchMu.Unlock()
	s.dispatchPending(true)
	return nil
}

// runDispatcher is the logic goroutine of the default mode.
func (s *Server) runDispatcher() {
	defer close(s.dispatcherDone)
	tick := time.NewTicker(time.Second / time.Duration(s.cfg.TickRate))
	defer tick.Stop()
	for {
		select {
		case <-s.queue.wake:
			s.dispatchMu.Lock()
			s.dispatchPending(false)
			s.dispatchMu.Unlock()
		case <-tick.C:
			start := time.Now()
			s.dispatchMu.Lock()
			s.dispatchPending(true)
			s.dispatchMu.Unlock()
			s.countOverrun(start)
		case <-s.stopDispatch:
			return
		}
	}
}

// runTicker fires OnUpdate in inline mode, on its own goroutine.
func (s *Server) runTicker() {
	defer close(s.dispatcherDone)
	period := time.Second / time.Duration(s.cfg.TickRate)
	tick := time.NewTicker(period)
	defer tick.Stop()
	s.tickDue.Store(time.Now().Add(period).UnixNano())
	for {
		select {
		case now := <-tick.C:
			s.tickDue.Store(now.Add(period).UnixNano())
			start := time.Now()
			s.fireUpdate()
			s.countOverrun(start)
		case <-s.stopDispatch:
			return
		}
	}
}

// Clients returns a snapshot of the connected clients (the seed's
// get_clients()). Called from a listener in the default or manual mode, it
// agrees with the OnConnection/OnDisconnect events dispatched so far.
func (s *Server) Clients() []*Client { return s.reg.snapshot(nil) }

// NumClients returns len(Clients()) without copying.
func (s *Server) NumClients() int { return s.reg.len() }

// Broadcast sends m to every connected client except the exclusions. m is
// encoded once, and it may be reused when Broadcast returns. With a
// Broker, the clients of every node get it; an error wrapping
// ErrBrokerPublish means only this node's clients did.
func (s *Server) Broadcast(m *proto.Message, exclusions ...*Client) error {
	return s.fanoutMessage(m, Reliable, nil, exclusions, true)
}

// MessageClients sends m to each of targets (the seed's message_clients).
// m is encoded once. Targets that have left are skipped.
func (s *Server) MessageClients(targets []*Client, m *proto.Message) error {
	return s.fanoutMessage(m, Reliable, targets, nil, false)
}

// BroadcastPrepared is Broadcast for a PreparedMessage.
func (s *Server) BroadcastPrepared(pm *PreparedMessage, exclusions ...*Client) error {
	if s.draining.Load() {
		return ErrServerClosed
	}
	s.fanout(&pm.frame, pm.lane, nil, exclusions, true)
	return s.publish("", pm.frame.v1, pm.lane, exclusions, nil)
}

func (s *Server) fanoutMessage(m *proto.Message, lane Lane, targets, exclusions []*Client, all bool) error {
	if s.draining.Load() {
		return ErrServerClosed
	}
	f, err := s.encodeShared(m)
	if err != nil {
		return err
	}
	s.fanout(f, lane, targets, exclusions, all)
	if all {
		err = s.publish("", f.v1, lane, exclusions, nil)
	}
	s.releaseShared(f)
	return err
}

// fanout appends frame to each target's queue, then flushes them together:
// in the current flush scope when one is active, else right here.
func (s *Server) fanout(frame *outFrame, lane Lane, targets, exclusions []*Client, all bool) {
	b := getFanBatch()
	if all {
		s.reg.mu.RLock()
		b.add(frame, lane, s.reg.clients, exclusions)
		if s.sessionsOn() {
			sus := s.suspendedUsers(nil) // they get it on resume
			b.add(frame, lane, sus, exclusions)
		}
		s.reg.mu.RUnlock()
	} else {
		b.add(frame, lane, targets, exclusions)
	}
	s.finishFanout(b)
}

// fanBatch collects the clients a fan-out made dirty, so that they are
// flushed together (Broadcast, MessageClients, room broadcasts).
type fanBatch struct {
	list []*Client
	sent int // frames queued, for Stats.MessagesSent
	// Sessions this fan-out overflowed, ended by finishFanout once no
	// fan-out lock is held (see session.add).
	over []*session
}

var fanBatchPool = sync.Pool{New: func() any { return &fanBatch{list: make([]*Client, 0, 64)} }}

func getFanBatch() *fanBatch { return fanBatchPool.Get().(*fanBatch) }

// add queues frame to each of targets but the exclusions.
func (b *fanBatch) add(frame *outFrame, lane Lane, targets, exclusions []*Client) {
next:
	for _, c := range targets {
		for _, x := range exclusions {
			if x == c {
				continue next
			}
		}
		if c.isUser() {
			if c.sess.sendShared(frame.v1, lane) {
				b.over = append(b.over, c.sess)
			}
			b.sent++
			continue
		}
		needFlush, skipped := c.appendShared(frame, lane)
		if !skipped {
			b.sent++
		}
		if needFlush {
			b.list = append(b.list, c)
		}
	}
}

// finishFanout flushes the batch (in the current flush scope when one is
// active) and recycles it.
func (s *Server) finishFanout(b *fanBatch) {
	if b.sent > 0 {
		s.stats.msgsOut.Add(uint64(b.sent))
		b.sent = 0
	}
	switch local := b.list; {
	case len(local) == 0:
	case s.cfg.Inline:
		s.deferToLoops(local)
	case !s.logic.addAll(local):
		s.flushList(local)
	}
	clear(b.list)
	b.list = b.list[:0]
	for i, sess := range b.over {
		s.endSession(sess, ErrSessionOverflow, closeOverflow)
		b.over[i] = nil
	}
	b.over = b.over[:0]
	fanBatchPool.Put(b)
}

// appendShared queues a fan-out frame (or holds it, see SendOn) and reports
// whether c newly needs a flush (the caller batches those), or that c was
// skipped: its transport cannot carry the message (counted in
// Stats.SkippedSends). A session's user goes through sendShared instead.
func (c *Client) appendShared(frame *outFrame, lane Lane) (needFlush, skipped bool) {
	c.mu.Lock()
	if c.closing || c.closed {
		c.mu.Unlock()
		return false, false
	}
	n0 := len(c.pend)
	var err error
	if c.pend, err = c.tr.appendFrame(c.pend, frame); err != nil {
		c.mu.Unlock()
		c.srv.skippedSend(c, err)
		return false, true
	}
	if c.holdIfBehindLocked(n0, lane) {
		c.mu.Unlock()
		return false, false
	}
	needFlush, _ = c.settleLocked()
	return needFlush, false
}

// Package simple is SimpleServer in the benchmark, used through its public
// API only: an OnMessage listener echoes each message with Client.Send, or,
// when it carries a "bcast" header, calls Server.Broadcast excluding the
// sender; PING/PONG is the engine's own. With a tick rate an OnUpdate
// listener records the update intervals.
package simple

import (
	"context"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/simpleserver-go/simpleserver/bench/srv"
	"github.com/simpleserver-go/simpleserver/engine"
	"github.com/simpleserver-go/simpleserver/proto"
)

// Server is a running SimpleServer with the benchmark's listeners.
type Server struct {
	s *engine.Server
}

// Start starts SimpleServer and returns once it listens. Config.Loops sets
// WithEventLoops, Config.Inline WithInline, Config.TickHz WithTickRate
// (the engine's default rate when 0) and Config.WebSocket WithWebSocket.
func Start(cfg srv.Config) (srv.Server, error) {
	if err := srv.CheckLoopback(cfg.Addr); err != nil {
		return nil, err
	}
	host, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, err
	}
	loops := cfg.Loops
	if loops <= 0 {
		loops = 1
	}
	opts := []engine.Option{
		engine.WithEventLoops(loops),
		engine.WithInline(cfg.Inline),
		engine.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	}
	if cfg.TickHz > 0 {
		opts = append(opts, engine.WithTickRate(cfg.TickHz))
	}
	if cfg.WebSocket {
		opts = append(opts, engine.WithWebSocket(true))
	}
	if cfg.MaxFrame > 0 {
		opts = append(opts, engine.WithLimits(proto.Limits{MaxFrameSize: cfg.MaxFrame}))
	}
	s := engine.NewServer(host, port, opts...)
	s.OnMessage.AddListener(func(c *engine.Client, m *proto.Message) {
		if m.HasHeader("bcast") {
			_ = s.Broadcast(m, c)
		} else {
			_ = c.Send(m)
		}
	})
	if cfg.Tick != nil && cfg.TickHz > 0 {
		rec := cfg.Tick
		s.OnUpdate.AddListener(func() { rec.Tick(time.Now()) })
	}
	if err := s.StartAsync(); err != nil {
		return nil, err
	}
	return &Server{s: s}, nil
}

// Addr returns the bound listen address.
func (s *Server) Addr() net.Addr { return s.s.Addr() }

// Stop stops SimpleServer.
func (s *Server) Stop(ctx context.Context) error { return s.s.Stop(ctx) }

package loadgen

import (
	"context"
	"errors"
	"time"
)

// fdMargin is the number of descriptors kept free for everything that is not
// a benchmark connection (stdio, epoll, timers, /proc reads).
const fdMargin = 64

// idleMaxMargin is how far below the fd limit "as many as the fd limit
// allows" stops: the server under test shares the limit, and SimpleServer
// keeps fds for itself (MaxConnections is clamped below the limit by its fd
// reserve, ~180 with one event loop), so every server is measured at the
// same count, one that all of them admit.
const idleMaxMargin = 256

// MaxIdleConns returns the largest idle connection count this process can
// open after raising RLIMIT_NOFILE as far as the hard limit allows.
func MaxIdleConns() (int, error) {
	lim, _, err := RaiseNoFile(1 << 20)
	if err != nil {
		return 0, err
	}
	return int(lim) - idleMaxMargin, nil
}

// RunIdle runs idle mode: it reads the server's RSS, opens Conns
// connections (-1: as many as the fd limit allows) from source addresses
// spread over 127.0.0.2..127.0.0.200, answers one PING on each so the
// server has set each one up, waits Settle, and reads the RSS again. The
// growth divided by the connection count is the server's memory per idle
// connection (user space only: kernel socket buffers are not in RSS).
func RunIdle(ctx context.Context, cfg Config) (*Result, error) {
	cfg.defaults()
	if cfg.ServerPID <= 0 {
		return nil, errors.New("idle: needs the server's pid (-pid) to read its RSS")
	}
	want := uint64(1 << 20)
	if cfg.Conns > 0 {
		want = uint64(cfg.Conns + fdMargin)
	}
	lim, clamped, err := RaiseNoFile(want)
	if err != nil {
		return nil, err
	}
	n := cfg.Conns
	if n <= 0 {
		n = int(lim) - idleMaxMargin
	}
	n = min(n, int(lim)-fdMargin)
	if clamped {
		cfg.logf("idle: RLIMIT_NOFILE clamped to the hard limit %d (wanted %d): using %d connections", lim, want, n)
	}
	res := &Result{Mode: "idle", Addr: cfg.Addr, WebSocket: cfg.WebSocket, Conns: n, NoFile: lim, NoFileClamped: clamped}

	rss0, err := ReadRSS(cfg.ServerPID)
	if err != nil {
		return nil, err
	}
	cfg.logf("idle: server RSS %d KiB; opening %d connections", rss0>>10, n)
	t0 := time.Now()
	dctx, cancel := context.WithTimeout(ctx, cfg.Timeout+time.Duration(n)*time.Millisecond)
	defer cancel()
	conns, err := dialAll(dctx, &cfg, n, 64, true)
	if err != nil {
		res.Error = err.Error()
		return res, err
	}
	defer closeAll(conns)
	res.ConnectSec = time.Since(t0).Seconds()
	sleep(ctx, cfg.Settle)
	rss1, err := ReadRSS(cfg.ServerPID)
	if err != nil {
		res.Error = err.Error()
		return res, err
	}
	res.RSSBefore, res.RSSAfter = rss0, rss1
	res.BytesPerConn = float64(rss1-rss0) / float64(n)
	cfg.logf("idle: server RSS %d KiB after %d connections: %.0f bytes per connection", rss1>>10, n, res.BytesPerConn)
	return res, ctx.Err()
}

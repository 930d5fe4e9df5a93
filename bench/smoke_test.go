package bench_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver/bench/loadgen"
	"github.com/simpleserver-go/simpleserver/bench/srv"
	"github.com/simpleserver-go/simpleserver/bench/srv/rawgnet"
	"github.com/simpleserver-go/simpleserver/bench/srv/stdnet"
	"github.com/simpleserver-go/simpleserver/proto"
)

type serverCase struct {
	name string
	cfg  srv.Config
	run  srv.StartFunc
}

// servers lists every comparison server under test; smoke_simple_test.go
// adds SimpleServer.
var servers = []serverCase{
	{"raw", srv.Config{Loops: 2}, rawgnet.Start},
	{"raw-perframe", srv.Config{Loops: 1, PerFrame: true}, rawgnet.Start},
	{"std", srv.Config{}, stdnet.Start},
}

func start(t *testing.T, cfg srv.Config, run srv.StartFunc) string {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	s, err := run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return s.Addr().String()
}

func lg(addr string) loadgen.Config {
	return loadgen.Config{Addr: addr, ServerCPU: -1, Timeout: 10 * time.Second}
}

// TestSmoke runs a few hundred echo round trips and broadcasts through every
// server with the load generator's client code: replies must be
// byte-identical, and each broadcast must reach every receiver and not the
// sender.
func TestSmoke(t *testing.T) {
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			addr := start(t, s.cfg, s.run)
			ctx := context.Background()
			for _, c := range []struct{ conns, depth, size, headers, ops int }{
				{4, 4, 64, 2, 400},
				{2, 3, 1024, 0, 60},
				{1, 2, 10000, 5, 20}, // larger than bufio's and gnet's small buffers
			} {
				cfg := lg(addr)
				cfg.Conns, cfg.Depth, cfg.Size, cfg.Headers, cfg.Ops = c.conns, c.depth, c.size, c.headers, c.ops
				res, err := loadgen.RunEcho(ctx, cfg)
				if err != nil {
					t.Fatalf("echo %+v: %v", c, err)
				}
				if res.Ops != uint64(c.ops) || res.Mismatches != 0 {
					t.Fatalf("echo %+v: %d round trips, %d mismatches", c, res.Ops, res.Mismatches)
				}
			}
			cfg := lg(addr)
			cfg.Conns, cfg.Depth, cfg.Size, cfg.Headers, cfg.Ops = 5, 4, 32, 1, 100
			res, err := loadgen.RunBcast(ctx, cfg)
			if err != nil {
				t.Fatalf("bcast: %v", err)
			}
			if res.Ops != 500 || res.Broadcasts != 100 || res.MinPerReceiver != 100 || res.MaxPerReceiver != 100 || res.SenderReceived != 0 || res.Mismatches != 0 {
				t.Fatalf("bcast: %d deliveries, %d broadcasts, %d..%d per receiver, sender got %d, %d mismatches; want 500, 100, 100..100, 0, 0",
					res.Ops, res.Broadcasts, res.MinPerReceiver, res.MaxPerReceiver, res.SenderReceived, res.Mismatches)
			}
		})
	}
}

// faulty is a deliberately wrong server: it flips a body byte of every
// 50th echo and sends broadcasts back to their sender too. The load
// generator must notice both.
func faulty(t *testing.T) string {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
		wg    sync.WaitGroup
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				r := bufio.NewReader(c)
				for n := 1; ; n++ {
					var hdr [4]byte
					if _, err := io.ReadFull(r, hdr[:]); err != nil {
						return
					}
					f := make([]byte, 4+binary.BigEndian.Uint32(hdr[:]))
					copy(f, hdr[:])
					if _, err := io.ReadFull(r, f[4:]); err != nil {
						return
					}
					switch b, _ := srv.HasBcastHeader(f[5:]); {
					case proto.Kind(f[4]) == proto.KindPing:
						f[4] = byte(proto.KindPong)
						c.Write(f)
					case b:
						mu.Lock()
						for o := range conns {
							o.Write(f)
						}
						mu.Unlock()
					default:
						if n%50 == 0 {
							f[len(f)-1] ^= 1
						}
						c.Write(f)
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestLoadgenCatchesFaults(t *testing.T) {
	addr := faulty(t)
	cfg := lg(addr)
	cfg.Conns, cfg.Depth, cfg.Ops = 1, 1, 100
	res, err := loadgen.RunEcho(context.Background(), cfg)
	if err == nil || res == nil || res.Mismatches == 0 {
		t.Fatalf("echo through a corrupting server: err=%v, result %+v; want a mismatch", err, res)
	}
	cfg.Conns, cfg.Ops = 3, 10
	res, err = loadgen.RunBcast(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "sender received") || res.SenderReceived == 0 {
		t.Fatalf("bcast through a server that echoes to the sender: err=%v; want the sender to notice", err)
	}
}

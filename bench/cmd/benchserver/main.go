// Command benchserver runs one of the benchmark's comparison servers until
// it receives SIGTERM or SIGINT:
//
//	benchserver -impl raw|std|simple -addr 127.0.0.1:9000 [-loops N] [-inline] [-perframe] [-ws] [-tick HZ -tickout FILE] [-pprof ADDR -memprofilerate N]
//
// When it listens it prints one line to stdout,
//
//	benchserver impl=raw pid=1234 addr=127.0.0.1:9000 gomaxprocs=1
//
// which the bench matrix parses. With -tick the server runs a periodic
// update at HZ (SimpleServer: OnUpdate via WithTickRate; raw gnet: OnTick;
// std: a time.Ticker goroutine) and records its intervals: SIGUSR1 starts a
// new measurement window, SIGUSR2 writes the summary as JSON to -tickout,
// and so does exiting.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/simpleserver-go/simpleserver/bench/loadgen"
	"github.com/simpleserver-go/simpleserver/bench/srv"
	"github.com/simpleserver-go/simpleserver/bench/srv/rawgnet"
	"github.com/simpleserver-go/simpleserver/bench/srv/stdnet"
)

// impls maps -impl names to servers; impl_simple.go adds "simple".
var impls = map[string]srv.StartFunc{
	"raw": rawgnet.Start,
	"std": stdnet.Start,
}

func main() {
	var (
		impl     = flag.String("impl", "raw", "server implementation: "+strings.Join(names(), "|"))
		addr     = flag.String("addr", "127.0.0.1:9000", "loopback `host:port` to listen on (port 0 picks one)")
		loops    = flag.Int("loops", 1, "event loops (raw, simple)")
		inline   = flag.Bool("inline", false, "simple: run listeners on the gnet loops (WithInline)")
		perFrame = flag.Bool("perframe", false, "raw: one write per echo reply instead of one per OnTraffic")
		tickHz   = flag.Int("tick", 0, "run a periodic update at this rate in Hz (0: none)")
		tickOut  = flag.String("tickout", "", "write the tick interval summary as JSON to this `file` on SIGUSR2 and on exit")
		maxFrame = flag.Int("maxframe", 0, "largest payload accepted (0: 1 MiB)")
		ws       = flag.Bool("ws", false, "simple: also accept WebSocket clients on /ws (WithWebSocket)")
		cpuProf  = flag.String("cpuprofile", "", "write a CPU profile to this `file` until the server stops")
		pprofAt  = flag.String("pprof", "", "serve net/http/pprof on this loopback `host:port` (heap profiles of a running server)")
		memRate  = flag.Int("memprofilerate", 0, "set runtime.MemProfileRate (1: record every allocation; 0: leave the default)")
	)
	flag.Parse()
	start, ok := impls[*impl]
	if !ok {
		fatalf("unknown -impl %q (have %s)", *impl, strings.Join(names(), ", "))
	}
	if lim, clamped, err := loadgen.RaiseNoFile(1 << 20); err != nil {
		fmt.Fprintf(os.Stderr, "benchserver: RLIMIT_NOFILE: %v\n", err)
	} else if clamped {
		fmt.Fprintf(os.Stderr, "benchserver: RLIMIT_NOFILE clamped to the hard limit %d\n", lim)
	}

	cfg := srv.Config{Addr: *addr, Loops: *loops, Inline: *inline, PerFrame: *perFrame, TickHz: *tickHz, MaxFrame: *maxFrame, WebSocket: *ws}
	if *tickHz > 0 {
		cfg.Tick = srv.NewTickRecorder(*tickHz)
	}
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			fatalf("%v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatalf("%v", err)
		}
		defer pprof.StopCPUProfile()
	}
	if *memRate > 0 {
		runtime.MemProfileRate = *memRate
	}
	if *pprofAt != "" {
		if err := servePprof(*pprofAt); err != nil {
			fatalf("pprof: %v", err)
		}
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, loadgen.TickResetSignal, loadgen.TickDumpSignal)

	s, err := start(cfg)
	if err != nil {
		fatalf("%s: %v", *impl, err)
	}
	fmt.Printf("benchserver impl=%s pid=%d addr=%s gomaxprocs=%d\n", *impl, os.Getpid(), s.Addr(), runtime.GOMAXPROCS(0))

	dump := func() {
		if cfg.Tick == nil || *tickOut == "" {
			return
		}
		if err := cfg.Tick.WriteFile(*tickOut); err != nil {
			fmt.Fprintf(os.Stderr, "benchserver: %v\n", err)
		}
	}
	for sig := range sigs {
		switch sig {
		case loadgen.TickResetSignal:
			if cfg.Tick != nil {
				cfg.Tick.Reset()
			}
		case loadgen.TickDumpSignal:
			dump()
		default:
			dump()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := s.Stop(ctx)
			cancel()
			if err != nil {
				fatalf("stop: %v", err)
			}
			return
		}
	}
}

func names() []string {
	var n []string
	for k := range impls {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchserver: "+format+"\n", args...)
	os.Exit(1)
}

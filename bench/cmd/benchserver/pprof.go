package main

import (
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
)

// servePprof serves the runtime profiles on addr, for looking at the heap
// of a server holding connections (go tool pprof http://addr/debug/pprof/heap).
// It is off by default: its goroutine and buffers would count in the idle
// scenario's RSS.
func servePprof(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	go http.Serve(ln, nil) //nolint:errcheck // lives as long as the process
	return nil
}

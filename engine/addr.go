package engine

import (
	"fmt"
	"net"
	"strconv"
)

// ParseAddr splits a "host:port" address (as net.Listen takes it: ":8080",
// "[::1]:0", "localhost:8080") into the host and port NewServer takes.
func ParseAddr(addr string) (host string, port int, err error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("simpleserver: address %q: %w", addr, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("simpleserver: address %q: port %q is not a number in 0..65535", addr, p)
	}
	return host, port, nil
}

// NewServerAddr is NewServer for a "host:port" address, the form most Go
// servers take. It does not start the server: add listeners, then Start or
// StartAsync it. A malformed address or an invalid option is an error here.
func NewServerAddr(addr string, opts ...Option) (*Server, error) {
	host, port, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	cfg := Config{Host: host, Port: port}
	for _, o := range opts {
		o(&cfg)
	}
	return New(cfg)
}

// Done returns a channel that is closed once the server has fully stopped
// (after Stop, or when the engine ended by itself), like context.Done: a
// program that used StartAsync selects on it.
func (s *Server) Done() <-chan struct{} { return s.done }

// Wait blocks until the server has fully stopped. It returns nil after a
// Stop, or the error that ended the engine when it stopped by itself.
func (s *Server) Wait() error {
	<-s.done
	return s.endErr // written before done was closed
}

package client

import (
	"context"
	"fmt"
	"net"
	"strconv"
)

// ConnectAddr is Connect for a "host:port" address, the form net.Dial
// takes ("localhost:8080", "[::1]:9000").
func (c *Client) ConnectAddr(addr string) error {
	return c.ConnectAddrContext(context.Background(), addr)
}

// ConnectAddrContext is ConnectContext for a "host:port" address.
func (c *Client) ConnectAddrContext(ctx context.Context, addr string) error {
	host, port, err := splitAddr(addr)
	if err != nil {
		return err
	}
	return c.ConnectContext(ctx, host, port)
}

func splitAddr(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("client: address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("client: address %q: port %q is not a number", addr, p)
	}
	return host, port, nil
}

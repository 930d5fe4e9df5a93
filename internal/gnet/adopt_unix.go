// Copyright (c) 2026 The SimpleServer Authors. Licensed as the rest of this
// directory (Apache License 2.0): not part of gnet's release, see
// SIMPLESERVER.md.

//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnet

import (
	"net"

	"golang.org/x/sys/unix"

	errorx "github.com/simpleserver-go/simpleserver/internal/gnet/pkg/errors"
	"github.com/simpleserver-go/simpleserver/internal/gnet/pkg/queue"
)

// Adopt hands a connected, non-blocking TCP socket accepted by the caller to
// the event loop the load balancer picks for remote, as gnet's own acceptor
// does with the sockets it accepts: fd is not dup'ed, and the loop owns it
// from then on (it is closed with the connection). sa is the peer's address
// as accept(2) returned it; local and remote are what Conn.LocalAddr and
// Conn.RemoteAddr return; ctx is the Conn's context.
//
// done, if not nil, runs on the event loop once OnOpen has returned (nil),
// or once registering the socket with the poller failed (the error; gnet has
// closed fd and OnOpen does not run). If Adopt returns an error, nothing
// happened: fd is still the caller's and done is never called.
//
// Adopt is meant for one accepting goroutine; as for Register, the default
// round-robin load balancer is not safe to use from several at once.
func (e Engine) Adopt(fd int, sa unix.Sockaddr, local, remote net.Addr, ctx any, done func(error)) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if e.eng.eventLoops.len() == 0 {
		return errorx.ErrEmptyEngine
	}
	el := e.eng.eventLoops.next(remote)
	c := newStreamConn("tcp", fd, el, sa, local, remote)
	c.ctx = ctx
	err := el.poller.Trigger(queue.HighPriority, func(any) error {
		err := el.register0(c)
		if done != nil {
			done(err)
		}
		return err
	}, nil)
	if err != nil {
		c.release() // leaves fd open: it is still the caller's
	}
	return err
}

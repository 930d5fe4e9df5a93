// Package faultproxy is a TCP proxy for tests that breaks connections on
// purpose: it forwards bytes both ways and, when told, resets both sides
// of every connection, at once or after forwarding only part of the next
// chunk (so that a frame is cut in the middle).
package faultproxy

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards connections from its own address to a target.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	pairs  map[*pair]struct{}
	closed bool
	wg     sync.WaitGroup

	cuts atomic.Int64
}

type pair struct {
	a, b    *net.TCPConn // a: the dialling side, b: the target
	midCut  atomic.Bool  // the next chunk is forwarded in part, then both reset
	once    sync.Once
	proxy   *Proxy
	stopped chan struct{}
}

// New listens on 127.0.0.1:0 and forwards to target.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, pairs: make(map[*pair]struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address to dial instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cuts returns how many connections the proxy has reset.
func (p *Proxy) Cuts() int { return int(p.cuts.Load()) }

// Live returns how many connections are being forwarded.
func (p *Proxy) Live() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pairs)
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		t, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		pr := &pair{a: c.(*net.TCPConn), b: t.(*net.TCPConn), proxy: p, stopped: make(chan struct{})}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			pr.reset(false)
			continue
		}
		p.pairs[pr] = struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go pr.pipe(pr.a, pr.b)
		go pr.pipe(pr.b, pr.a)
	}
}

// pipe copies from src to dst until either fails or the pair is cut.
func (pr *pair) pipe(src, dst *net.TCPConn) {
	defer pr.proxy.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if pr.midCut.Load() && n > 1 {
				dst.Write(buf[:1+rand.IntN(n-1)]) // part of the chunk, maybe half a frame
				pr.reset(true)
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				pr.reset(false)
				return
			}
		}
		if err != nil {
			pr.reset(false)
			return
		}
	}
}

// reset closes both sides with a TCP reset (linger 0).
func (pr *pair) reset(counted bool) {
	pr.once.Do(func() {
		pr.a.SetLinger(0)
		pr.b.SetLinger(0)
		pr.a.Close()
		pr.b.Close()
		close(pr.stopped)
		if counted {
			pr.proxy.cuts.Add(1)
		}
		pr.proxy.mu.Lock()
		delete(pr.proxy.pairs, pr)
		pr.proxy.mu.Unlock()
	})
}

// Cut resets every live connection. With midFrame, each is cut after part
// of its next chunk of bytes (either way), or within 20 ms if none comes.
// It returns how many connections it cut or armed.
func (p *Proxy) Cut(midFrame bool) int {
	p.mu.Lock()
	list := make([]*pair, 0, len(p.pairs))
	for pr := range p.pairs {
		list = append(list, pr)
	}
	p.mu.Unlock()
	for _, pr := range list {
		if !midFrame {
			pr.reset(true)
			continue
		}
		pr.midCut.Store(true)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			select {
			case <-pr.stopped:
			case <-time.After(20 * time.Millisecond):
				pr.reset(true)
			}
		}()
	}
	return len(list)
}

// Close stops accepting, resets every connection and waits for the
// proxy's goroutines.
func (p *Proxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Cut(false)
	p.wg.Wait()
}

package engine

import "sync"

// registry is the set of clients that listeners have been told about: a
// client joins when OnConnection is dispatched and leaves when OnDisconnect
// is, so Clients() agrees with the events a listener has seen.
type registry struct {
	mu      sync.RWMutex
	clients []*Client
}

func (r *registry) add(c *Client) {
	r.mu.Lock()
	c.slot = len(r.clients)
	r.clients = append(r.clients, c)
	r.mu.Unlock()
}

func (r *registry) remove(c *Client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := c.slot
	if i < 0 || i >= len(r.clients) || r.clients[i] != c {
		return
	}
	last := len(r.clients) - 1
	r.clients[i] = r.clients[last]
	r.clients[i].slot = i
	r.clients[last] = nil
	r.clients = r.clients[:last]
	c.slot = -1
}

// snapshot returns a copy of the client list.
func (r *registry) snapshot() []*Client {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Client, len(r.clients))
	copy(out, r.clients)
	return out
}

func (r *registry) len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.clients)
}

// Package natsbroker joins SimpleServer servers into a cluster over NATS:
// it implements engine.Broker on core NATS (github.com/nats-io/nats.go).
// A server that runs alone never imports it, and so never links nats.go.
//
//	b := natsbroker.New(natsbroker.Config{URL: "nats://10.0.0.5:4222"})
//	server := simpleserver.NewServer("0.0.0.0", 9000, engine.WithBroker(b), engine.WithNodeID(1))
//
// Subjects are <Prefix>.<topic>, the engine's topic escaped into one
// subject token ('.', '*', '>', '%', spaces and control bytes become %XX),
// so any room name is safe.
//
// Delivery is at most once, as core NATS is. The connection uses NoEcho
// (a node delivers its own broadcasts locally and must not get them back),
// retries forever (MaxReconnects(-1), RetryOnFailedConnect) and buffers
// nothing while disconnected (ReconnectBufSize(-1)): a publication made
// while NATS is unreachable fails at once with an error (the engine counts
// it and still delivers locally) rather than being replayed late. On
// reconnect, nats.go restores the subscriptions by itself.
//
// NATS refuses messages over the server's max_payload (1 MiB by default).
// A publication is a client frame plus a small envelope, so a broadcast of
// a frame near 1 MiB fails (with an error saying so, counted) unless the
// NATS server runs with a larger max_payload (8 MB is NATS's recommended
// ceiling). Publish checks the limit the server announced before sending.
package natsbroker

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// DefaultPrefix is the first subject token when Config.Prefix is empty.
const DefaultPrefix = "simpleserver"

// DefaultQueueLen is the default Config.QueueLen.
const DefaultQueueLen = 65536

// Errors Publish returns; they wrap nats.go's error where there is one.
var (
	// ErrNotConnected: NATS is unreachable right now (connecting or
	// reconnecting); nothing was sent.
	ErrNotConnected = errors.New("natsbroker: not connected to NATS")
	// ErrTooLarge: the publication is larger than the NATS server's
	// max_payload.
	ErrTooLarge = errors.New("natsbroker: publication larger than NATS max_payload")
	// ErrClosed: the broker was closed.
	ErrClosed = errors.New("natsbroker: closed")
)

// Config configures a Broker.
type Config struct {
	// URL of the NATS server(s), comma-separated (nats.Connect's url).
	URL string
	// Prefix is the first subject token, so that several clusters can
	// share one NATS (default "simpleserver").
	Prefix string
	// Name is the connection name NATS shows in its monitoring.
	Name string
	// QueueLen bounds the publications received and not yet fanned out
	// (default 65536). Past it, NATS drops them for this node (a slow
	// consumer, reported through Logger).
	QueueLen int
	// ReconnectWait is the pause between reconnect attempts (default 250 ms).
	ReconnectWait time.Duration
	// Logger receives connection state changes (default slog.Default()).
	Logger *slog.Logger
	// Options are extra nats.go options (credentials, TLS...), applied after
	// the broker's own.
	Options []nats.Option
}

// Broker is an engine.Broker on NATS. Create it with New and give it to
// one server (engine.WithBroker), which opens and closes it.
type Broker struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	nc      *nats.Conn
	subs    map[string]*nats.Subscription
	closed  bool
	msgs    chan *nats.Msg
	stop    chan struct{}
	stopped chan struct{}
}

// New returns a broker for cfg; it connects when its server starts.
func New(cfg Config) *Broker {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = DefaultQueueLen
	}
	if cfg.ReconnectWait <= 0 {
		cfg.ReconnectWait = 250 * time.Millisecond
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Broker{cfg: cfg, log: log, subs: make(map[string]*nats.Subscription)}
}

// Open connects to NATS and starts the goroutine that hands publications
// to deliver. It succeeds while NATS is down: the connection is retried
// in the background.
func (b *Broker) Open(deliver func(data []byte)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if b.nc != nil {
		return errors.New("natsbroker: already open (one broker per server)")
	}
	opts := []nats.Option{
		nats.Name(b.cfg.Name),
		nats.NoEcho(),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(b.cfg.ReconnectWait),
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.log.Warn("natsbroker: disconnected from NATS; cross-node delivery stops until it is back", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.log.Info("natsbroker: reconnected to NATS", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			attrs := []any{"err", err}
			if sub != nil {
				attrs = append(attrs, "subject", sub.Subject)
			}
			b.log.Warn("natsbroker: NATS error", attrs...)
		}),
	}
	nc, err := nats.Connect(b.cfg.URL, append(opts, b.cfg.Options...)...)
	if err != nil {
		return fmt.Errorf("natsbroker: connect %s: %w", b.cfg.URL, err)
	}
	b.nc = nc
	b.msgs = make(chan *nats.Msg, b.cfg.QueueLen)
	b.stop = make(chan struct{})
	b.stopped = make(chan struct{})
	go b.run(deliver)
	return nil
}

// run is the one goroutine that delivers, for every subscription: nats.go
// would start one per Subscribe.
func (b *Broker) run(deliver func([]byte)) {
	defer close(b.stopped)
	for {
		select {
		case m := <-b.msgs:
			deliver(m.Data)
		case <-b.stop:
			return
		}
	}
}

// Subject returns the NATS subject of an engine topic.
func (b *Broker) Subject(topic string) string {
	return b.cfg.Prefix + "." + EscapeToken(topic)
}

// EscapeToken makes s one NATS subject token: '%', '.', '*', '>', and
// bytes up to ' ' or from 0x7f become %XX. An empty s becomes "%".
func EscapeToken(s string) string {
	if s == "" {
		return "%"
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if needsEscape(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	const hex = "0123456789ABCDEF"
	var sb strings.Builder
	sb.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		if c := s[i]; needsEscape(c) {
			sb.WriteByte('%')
			sb.WriteByte(hex[c>>4])
			sb.WriteByte(hex[c&0xF])
		} else {
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

func needsEscape(c byte) bool {
	return c <= ' ' || c >= 0x7f || c == '.' || c == '*' || c == '>' || c == '%'
}

// Publish sends data on topic's subject. It fails at once when NATS is
// unreachable or the data is over max_payload.
func (b *Broker) Publish(topic string, data []byte) error {
	nc := b.conn()
	if nc == nil {
		return ErrClosed
	}
	if !nc.IsConnected() {
		return fmt.Errorf("%w (%s)", ErrNotConnected, nc.Status())
	}
	if max := nc.MaxPayload(); max > 0 && int64(len(data)) > max {
		return fmt.Errorf("%w: %d bytes, max_payload %d", ErrTooLarge, len(data), max)
	}
	if err := nc.Publish(b.Subject(topic), data); err != nil {
		if errors.Is(err, nats.ErrReconnectBufExceeded) {
			return fmt.Errorf("%w: %w", ErrNotConnected, err)
		}
		return fmt.Errorf("natsbroker: publish: %w", err)
	}
	return nil
}

// Subscribe starts receiving topic's publications. While NATS is down
// the subscription is recorded and made on reconnect.
func (b *Broker) Subscribe(topic string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.nc == nil || b.closed {
		return ErrClosed
	}
	if _, ok := b.subs[topic]; ok {
		return nil
	}
	sub, err := b.nc.ChanSubscribe(b.Subject(topic), b.msgs)
	if err != nil {
		return fmt.Errorf("natsbroker: subscribe %q: %w", topic, err)
	}
	b.subs[topic] = sub
	return nil
}

// Unsubscribe stops receiving topic's publications.
func (b *Broker) Unsubscribe(topic string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	sub, ok := b.subs[topic]
	if !ok {
		return nil
	}
	delete(b.subs, topic)
	if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("natsbroker: unsubscribe %q: %w", topic, err)
	}
	return nil
}

// Subscriptions returns the number of topics subscribed now.
func (b *Broker) Subscriptions() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Connected reports whether the connection to NATS is up.
func (b *Broker) Connected() bool {
	nc := b.conn()
	return nc != nil && nc.IsConnected()
}

// Conn returns the NATS connection (nil before Open), for monitoring.
func (b *Broker) Conn() *nats.Conn { return b.conn() }

func (b *Broker) conn() *nats.Conn {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	return b.nc
}

// Close drops the subscriptions, closes the connection and waits for the
// delivering goroutine to exit.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	nc := b.nc
	b.subs = nil
	b.mu.Unlock()
	if nc == nil {
		return nil
	}
	nc.Close() // stops every subscription; nothing more enters msgs
	close(b.stop)
	<-b.stopped
	return nil
}

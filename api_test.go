package simpleserver_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver"
)

// TestReadmeNamesFromRoot builds a server with every option the README
// shows, through the root package only, by "host:port", and waits for it
// to end with Wait and Done after StartAsync.
func TestReadmeNamesFromRoot(t *testing.T) {
	limits := simpleserver.DefaultLimits()
	limits.MaxFrameSize = 4096
	server, err := simpleserver.NewServerAddr("127.0.0.1:0",
		simpleserver.WithVerbose(false),
		simpleserver.WithTickRate(60),
		simpleserver.WithManualUpdate(false),
		simpleserver.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		simpleserver.WithEventLoops(1),
		simpleserver.WithLimits(limits),
		simpleserver.Option(func(c *simpleserver.Config) { c.MaxOutboundBytes = 1 << 20 }),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := server.Config().Limits.MaxFrameSize; got != 4096 {
		t.Fatalf("MaxFrameSize = %d, want 4096", got)
	}
	reasons := make(chan error, 1)
	var id simpleserver.ListenerID = server.OnDisconnect.AddListener(func(c *simpleserver.Client, reason error) {
		reasons <- reason
	})
	_ = id
	if err := server.StartAsync(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-server.Done():
		t.Fatal("Done closed while running")
	default:
	}

	c := simpleserver.NewClient()
	if err := c.ConnectAddr(server.Addr().String()); err != nil {
		t.Fatal(err)
	}
	// Over the frame limit: the server closes us with a protocol error.
	if err := c.SendRaw(make([]byte, 5000)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.Receive(ctx)
	var ce *simpleserver.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("Receive: %v, want a *CloseError", err)
	}
	c.Close()
	var pe *simpleserver.ProtocolError
	if r := <-reasons; !errors.As(r, &pe) {
		t.Fatalf("reason %v, want a *ProtocolError", r)
	}

	waited := make(chan error, 1)
	go func() { waited <- server.Wait() }()
	if err := server.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-server.Done():
	case <-ctx.Done():
		t.Fatal("Done not closed after Stop")
	}
	if err := <-waited; err != nil {
		t.Fatalf("Wait after Stop = %v, want nil", err)
	}
	if err := server.StartAsync(); !errors.Is(err, simpleserver.ErrServerClosed) {
		t.Fatalf("StartAsync after Stop = %v, want ErrServerClosed", err)
	}
}

func TestNewServerAddrErrors(t *testing.T) {
	for _, addr := range []string{"localhost", "localhost:http", "127.0.0.1:70000", ""} {
		if _, err := simpleserver.NewServerAddr(addr); err == nil {
			t.Errorf("NewServerAddr(%q) = nil error", addr)
		}
	}
	if _, err := simpleserver.NewServerAddr(":0", simpleserver.WithTickRate(-1)); err == nil {
		t.Error("invalid option accepted")
	}
	host, port, err := simpleserver.ParseAddr("[::1]:8080")
	if err != nil || host != "::1" || port != 8080 {
		t.Fatalf("ParseAddr = %q %d %v", host, port, err)
	}
}

package metrics_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/simpleserver-go/simpleserver/client"
	"github.com/simpleserver-go/simpleserver/engine"
	"github.com/simpleserver-go/simpleserver/metrics"
	"github.com/simpleserver-go/simpleserver/proto"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*goWorker).run.func1"), // idle workers of gnet's pool (Engine.Register)
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),                     // httptest's idle keep-alive conns
	)
}

// scrape fetches url and parses it as the Prometheus text format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value returns the value of family name with the given label pairs.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return 0
}

// TestScrapeMovesWithTraffic serves the collector over HTTP, drives real
// clients through an echo server, and checks the scraped counters moved by
// what the traffic must have caused.
func TestScrapeMovesWithTraffic(t *testing.T) {
	srv := engine.NewServer("127.0.0.1", 0, engine.WithEventLoops(2))
	srv.OnMessage.AddListener(func(c *engine.Client, m *proto.Message) { _ = c.Send(m) })
	left := make(chan error, 4)
	srv.OnDisconnect.AddListener(func(c *engine.Client, reason error) { left <- reason })
	joined := make(chan struct{}, 4)
	srv.OnConnection.AddListener(func(*engine.Client) { joined <- struct{}{} })
	if err := srv.StartAsync(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Stop(ctx)
	}()

	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(srv, metrics.WithConstLabels(prometheus.Labels{"node": "a"})))
	web := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer web.Close()
	defer web.CloseClientConnections()
	defer http.DefaultClient.CloseIdleConnections()
	url := web.URL + "/metrics"

	before := scrape(t, url)
	if got := value(t, before, "simpleserver_connections", "node", "a"); got != 0 {
		t.Fatalf("connections before traffic = %v", got)
	}

	port := srv.Addr().(*net.TCPAddr).Port
	a, b := client.New(), client.New()
	for _, c := range []*client.Client{a, b} {
		if err := c.Connect("127.0.0.1", port); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	// Connect returns once the kernel accepted; the server admits a
	// socket on its loop a moment later. Wait for both to be announced,
	// so the counters below have seen them.
	for i := 0; i < 2; i++ {
		select {
		case <-joined:
		case <-time.After(20 * time.Second):
			t.Fatalf("only %d of 2 clients announced", i)
		}
	}
	const n = 50
	m := proto.NewMessage().AddHeader("k", "v").SetBody(make([]byte, 100))
	frame, _ := proto.AppendFrame(nil, m)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := 0; i < n; i++ {
		if err := a.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		if _, err := a.Receive(ctx); err != nil {
			t.Fatalf("echo %d: %v", i, err)
		}
	}
	mid := scrape(t, url)
	if got := value(t, mid, "simpleserver_connections"); got != 2 {
		t.Errorf("connections = %v, want 2", got)
	}
	if got := value(t, mid, "simpleserver_connections_accepted_total"); got != 2 {
		t.Errorf("connections_accepted_total = %v, want 2", got)
	}
	if got := value(t, mid, "simpleserver_messages_received_total"); got != n {
		t.Errorf("messages_received_total = %v, want %d", got, n)
	}
	if got := value(t, mid, "simpleserver_messages_sent_total"); got != n {
		t.Errorf("messages_sent_total = %v, want %d", got, n)
	}
	if got := value(t, mid, "simpleserver_received_bytes_total"); got < float64(n*len(frame)) {
		t.Errorf("received_bytes_total = %v, want >= %d", got, n*len(frame))
	}
	// A write is counted just after the kernel took it, so the client may
	// have read the last ones (coalesced: several frames a write) before
	// the counter moved. Every echo must be counted soon after, though.
	want := float64(n * len(frame))
	sent := value(t, mid, "simpleserver_sent_bytes_total")
	for deadline := time.Now().Add(10 * time.Second); sent < want && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		sent = value(t, scrape(t, url), "simpleserver_sent_bytes_total")
	}
	if sent < want {
		t.Errorf("sent_bytes_total = %v, want >= %v", sent, want)
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-left:
	case <-ctx.Done():
		t.Fatal("b's disconnect never dispatched")
	}
	after := scrape(t, url)
	if got := value(t, after, "simpleserver_disconnects_total", "reason", "peer_closed"); got != 1 {
		t.Errorf(`disconnects_total{reason="peer_closed"} = %v, want 1`, got)
	}
	if got := value(t, after, "simpleserver_disconnects_total", "reason", "slow_consumer"); got != 0 {
		t.Errorf(`disconnects_total{reason="slow_consumer"} = %v, want 0`, got)
	}
	if got := value(t, after, "simpleserver_connections"); got != 1 {
		t.Errorf("connections after one left = %v, want 1", got)
	}
	if f := after["simpleserver_disconnects_total"]; f.GetType() != dto.MetricType_COUNTER || len(f.Metric) != int(engine.NumDisconnectReasons) {
		t.Errorf("disconnects_total: type %v with %d series, want a counter with one per reason", f.GetType(), len(f.Metric))
	}
}

// TestTwoServersOneRegistry: collectors never touch the global registry,
// so two servers register side by side under a distinguishing label.
func TestTwoServersOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	for _, node := range []string{"1", "2"} {
		s := engine.NewServer("127.0.0.1", 0)
		if err := reg.Register(metrics.NewCollector(s, metrics.WithConstLabels(prometheus.Labels{"node": node}))); err != nil {
			t.Fatalf("node %s: %v", node, err)
		}
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "simpleserver_connections" && len(f.Metric) != 2 {
			t.Fatalf("simpleserver_connections has %d series, want 2", len(f.Metric))
		}
	}
}

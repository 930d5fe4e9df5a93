package proxytest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/simpleserver-go/simpleserver"
	"github.com/simpleserver-go/simpleserver/client"
)

const haproxyBin = "/usr/sbin/haproxy"

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// selfSigned writes a PEM file with a certificate for 127.0.0.1 and its
// key, as HAProxy's "crt" wants.
func selfSigned(t *testing.T, path string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})...)
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestHAProxy puts a real HAProxy in front of a server trusting only
// 127.0.0.1, with the README's configuration: a TLS frontend with
// send-proxy-v2 and a plain one with send-proxy (v1). Clients connect from
// 127.0.0.3, so the server must report that address, not HAProxy's.
func TestHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("haproxy not installed (.ci/run installs Debian's haproxy): " + err.Error())
	}
	srv := simpleserver.NewServer("127.0.0.1", 0,
		simpleserver.WithTrustedProxies(netip.MustParsePrefix("127.0.0.1/32")))
	seen := make(chan string, 4)
	srv.OnConnection.AddListener(func(c *simpleserver.Client) { seen <- c.RemoteAddr().String() })
	srv.OnMessage.AddListener(func(c *simpleserver.Client, m *simpleserver.NetworkMessage) { _ = c.Send(m) })
	if err := srv.StartAsync(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Stop(ctx)
	}()
	back := srv.Addr().(*net.TCPAddr).Port

	dir := t.TempDir()
	pemPath := filepath.Join(dir, "game.pem")
	selfSigned(t, pemPath)
	tlsPort, plainPort := freePort(t), freePort(t)
	cfg := fmt.Sprintf(`global
    maxconn 100
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend players_tls
    bind 127.0.0.1:%d ssl crt %s
    default_backend nodes_v2
frontend players_plain
    bind 127.0.0.1:%d
    default_backend nodes_v1
backend nodes_v2
    balance leastconn
    server node1 127.0.0.1:%d send-proxy-v2
backend nodes_v1
    server node1 127.0.0.1:%d send-proxy
`, tlsPort, pemPath, plainPort, back, back)
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(haproxyBin, "-c", "-f", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	hp := exec.Command(haproxyBin, "-db", "-f", cfgPath)
	hp.Stdout, hp.Stderr = os.Stderr, os.Stderr
	if err := hp.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hp.Process.Kill(); _ = hp.Wait() }()

	from := &net.TCPAddr{IP: net.ParseIP("127.0.0.3")}
	for _, tc := range []struct {
		name string
		port int
		dial client.DialFunc
	}{
		{"tls+v2", tlsPort, func(ctx context.Context, network, addr string) (net.Conn, error) {
			d := &tls.Dialer{NetDialer: &net.Dialer{LocalAddr: from}, Config: &tls.Config{InsecureSkipVerify: true}}
			return d.DialContext(ctx, network, addr)
		}},
		{"plain+v1", plainPort, func(ctx context.Context, network, addr string) (net.Conn, error) {
			return (&net.Dialer{LocalAddr: from}).DialContext(ctx, network, addr)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var local net.Addr
			dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
				// HAProxy may not listen yet right after start: retry briefly.
				var err error
				for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
					var c net.Conn
					if c, err = tc.dial(ctx, network, addr); err == nil {
						local = c.LocalAddr()
						return c, nil
					}
				}
				return nil, err
			}
			c := client.New(client.WithDialFunc(dial))
			if err := c.Connect("127.0.0.1", tc.port); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Send(simpleserver.NewMessage().SetBodyString("through haproxy")); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			m, err := c.Receive(ctx)
			if err != nil || m.BodyString() != "through haproxy" {
				t.Fatalf("echo through haproxy: %v %v", m, err)
			}
			select {
			case got := <-seen:
				if got != local.String() {
					t.Fatalf("server saw %s, want the client's %s (HAProxy connects from 127.0.0.1)", got, local)
				}
			case <-ctx.Done():
				t.Fatal("no OnConnection")
			}
		})
	}
}

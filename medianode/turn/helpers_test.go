package turn_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"testing"
	"time"

	"github.com/pion/logging"
	pionturn "github.com/pion/turn/v4"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/medianode/turn"
)

const testRealm = "chroom.test"

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// ioTimeout bounds every blocking read in these tests.
const ioTimeout = 5 * time.Second

func testConfig() turn.Config {
	return turn.Config{
		Realm:         testRealm,
		PublicIP:      net.IPv4(127, 0, 0, 1),
		Secret:        testSecret,
		AllowLoopback: true,
		Logger:        testLogger(),
	}
}

// testLogger discards logs unless the tests run with -v. It never writes
// through t.Log: pion's goroutines may log after a test has returned.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testServer struct {
	*turn.Server
	udpAddr, tcpAddr, tlsAddr string
	// roots trusts the TLS listener's self-signed certificate.
	roots *x509.CertPool
}

// startServer runs a server on fresh loopback UDP, TCP and TLS sockets
// (a self-signed certificate for 127.0.0.1) and closes it when the test
// ends.
func startServer(t testing.TB, cfg turn.Config) testServer {
	t.Helper()
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	tcp, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	cert, roots := selfSigned(t)
	rawTLS, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	tlsL := tls.NewListener(rawTLS, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	s, err := turn.New(cfg, udp, tcp, tlsL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return testServer{Server: s, udpAddr: udp.LocalAddr().String(), tcpAddr: tcp.Addr().String(), tlsAddr: rawTLS.Addr().String(), roots: roots}
}

// selfSigned makes an ECDSA certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}

// quietPion silences pion's client logs (it logs failed refreshes at Warn).
func quietPion() logging.LoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelDisabled
	f.ScopeLevels = map[string]logging.LogLevel{}
	return f
}

// newClient starts a pion TURN client over conn towards serverAddr and
// closes both when the test ends.
func newClient(t testing.TB, conn net.PacketConn, serverAddr, username, password string) *pionturn.Client {
	t.Helper()
	c, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: serverAddr,
		TURNServerAddr: serverAddr,
		Conn:           conn,
		Username:       username,
		Password:       password,
		LoggerFactory:  quietPion(),
	})
	require.NoError(t, err)
	require.NoError(t, c.Listen())
	t.Cleanup(func() {
		c.Close()
		_ = conn.Close()
	})
	return c
}

// udpClient is a TURN client speaking UDP to the server.
func udpClient(t testing.TB, s testServer, username, password string) *pionturn.Client {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	return newClient(t, conn, s.udpAddr, username, password)
}

// tcpClient is a TURN client speaking TCP (RFC 8656 §3.1 framing) to the
// server.
func tcpClient(t testing.TB, s testServer, username, password string) *pionturn.Client {
	t.Helper()
	conn, err := net.Dial("tcp4", s.tcpAddr)
	require.NoError(t, err)
	return newClient(t, pionturn.NewSTUNConn(conn), s.tcpAddr, username, password)
}

// tlsClient is a TURN client speaking TLS (turns:, RFC 8656 §3.1) to the
// server, verifying its certificate.
func tlsClient(t testing.TB, s testServer, username, password string) *pionturn.Client {
	t.Helper()
	conn, err := tls.Dial("tcp4", s.tlsAddr, &tls.Config{RootCAs: s.roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	require.NoError(t, err)
	return newClient(t, pionturn.NewSTUNConn(conn), s.tlsAddr, username, password)
}

// allocate makes an allocation and deletes it when the test ends.
func allocate(t testing.TB, c *pionturn.Client) net.PacketConn {
	t.Helper()
	relay, err := c.Allocate()
	require.NoError(t, err)
	t.Cleanup(func() { _ = relay.Close() })
	return relay
}

// echoPeer is a UDP peer on loopback that sends every datagram back.
func echoPeer(t testing.TB) net.PacketConn {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if _, err := conn.WriteTo(buf[:n], from); err != nil && errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = conn.Close()
		<-done
	})
	return conn
}

// eventually polls cond until it holds or ioTimeout passes; for state that
// pion updates on its own goroutines after answering.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

package turn_test

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the TURN REST API's MAC
	"encoding/base64"
	"errors"
	"io"
	"net"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v3"
	pionturn "github.com/pion/turn/v4"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/medianode/turn"
)

// TestRelayRoundTrip allocates over UDP, TCP and TLS with minted
// credentials and relays datagrams to a loopback echo peer (AllowLoopback)
// and back, first as Send/Data indications and then over the channel pion
// binds.
func TestRelayRoundTrip(t *testing.T) {
	for _, transport := range []string{"udp", "tcp", "tls"} {
		t.Run(transport, func(t *testing.T) {
			s := startServer(t, testConfig())
			user, pass, _ := s.Credentials("alice", time.Now())
			c := map[string]func(testing.TB, testServer, string, string) *pionturn.Client{"udp": udpClient, "tcp": tcpClient, "tls": tlsClient}[transport]
			relay := allocate(t, c(t, s, user, pass))

			relayAddr, ok := relay.LocalAddr().(*net.UDPAddr)
			require.True(t, ok, "relay address %v", relay.LocalAddr())
			require.True(t, relayAddr.IP.Equal(net.IPv4(127, 0, 0, 1)), "relay advertised at %v, want PublicIP", relayAddr)
			require.Equal(t, 1, s.Stats().Allocations)

			peer := echoPeer(t)
			require.NoError(t, relay.SetDeadline(time.Now().Add(ioTimeout)))
			buf := make([]byte, 1500)
			for i := range 3 {
				msg := []byte(transport + " datagram " + strconv.Itoa(i))
				_, err := relay.WriteTo(msg, peer.LocalAddr())
				require.NoError(t, err)
				n, from, err := relay.ReadFrom(buf)
				require.NoError(t, err, "datagram %d did not come back", i)
				require.Equal(t, msg, buf[:n])
				require.Equal(t, peer.LocalAddr().String(), from.String())
			}
			require.Zero(t, s.Stats().PeersRefused)
			want := uint64(3 * len(transport+" datagram 0"))
			eventually(t, "relayed bytes are counted both ways", func() bool {
				st := s.Stats()
				return st.BytesToPeers == want && st.BytesFromPeers == want
			})
		})
	}
}

// TestRelayRefusesLoopbackPeer checks that without AllowLoopback the server
// refuses permissions for a loopback peer and relays nothing to it, even when
// a client skips CreatePermission and sends a raw Send indication.
func TestRelayRefusesLoopbackPeer(t *testing.T) {
	cfg := testConfig()
	cfg.AllowLoopback = false
	s := startServer(t, cfg)
	user, pass, _ := s.Credentials("mallory", time.Now())
	c := udpClient(t, s, user, pass)
	relay := allocate(t, c)

	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = peer.Close() })
	peerAddr := peer.LocalAddr().(*net.UDPAddr) //nolint:forcetypeassert // udp4

	err = c.CreatePermission(peerAddr)
	require.Error(t, err, "CreatePermission for a loopback peer")
	var te *stun.TurnError
	require.ErrorAs(t, err, &te)
	require.Equal(t, stun.CodeForbidden, te.ErrorCodeAttr.Code, "a refused peer is 403 (RFC 8656 §9.1)")
	_, err = relay.WriteTo([]byte("via client"), peerAddr)
	require.Error(t, err, "the client's WriteTo asks for a permission first")

	// A Send indication needs no authentication; the server must drop it
	// because no permission exists.
	raw, err := stun.Build(
		stun.TransactionID,
		stun.NewType(stun.MethodSend, stun.ClassIndication),
		xorPeerAddress{IP: peerAddr.IP, Port: peerAddr.Port},
		rawAttr{typ: stun.AttrData, value: []byte("raw send indication")},
		stun.Fingerprint,
	)
	require.NoError(t, err)
	serverAddr, err := net.ResolveUDPAddr("udp4", s.udpAddr)
	require.NoError(t, err)
	_, err = c.WriteTo(raw.Raw, serverAddr)
	require.NoError(t, err)

	// Barrier: the server answers requests from one socket in order, and it
	// writes a relayed datagram before it reads the next request, so once
	// this permission for a public peer is granted, anything relayed to
	// the loopback peer is already in its receive buffer.
	require.NoError(t, c.CreatePermission(&net.UDPAddr{IP: net.IPv4(8, 8, 8, 8), Port: 9}))
	require.NoError(t, peer.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
	n, from, err := peer.ReadFrom(make([]byte, 1500))
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "loopback peer received %d bytes from %v (err %v)", n, from, err)

	require.GreaterOrEqual(t, s.Stats().PeersRefused, uint64(2))
}

// TestAuthRefused checks that only well-formed, unexpired credentials with
// the right password allocate, and that minted passwords are
// base64(HMAC-SHA1(secret, username)).
func TestAuthRefused(t *testing.T) {
	s := startServer(t, testConfig())
	mac := func(username string) string {
		h := hmac.New(sha1.New, testSecret)
		h.Write([]byte(username))
		return base64.StdEncoding.EncodeToString(h.Sum(nil))
	}
	future := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	expiredUser, expiredPass, expires := s.Credentials("alice", time.Now().Add(-time.Hour))
	require.True(t, expires.Before(time.Now()))
	goodUser, goodPass, _ := s.Credentials("alice", time.Now())
	require.Equal(t, mac(goodUser), goodPass)

	cases := []struct {
		name, username, password string
	}{
		{"expired", expiredUser, expiredPass},
		{"wrong password", goodUser, mac(goodUser + "x")},
		{"empty password", goodUser, ""},
		{"other secret", goodUser, base64.StdEncoding.EncodeToString(make([]byte, 20))},
		// Correct HMACs of usernames Credentials never mints.
		{"no expiry", "alice", mac("alice")},
		{"empty expiry", ":alice", mac(":alice")},
		{"signed expiry", "+" + future + ":alice", mac("+" + future + ":alice")},
		{"non-numeric expiry", "tomorrow:alice", mac("tomorrow:alice")},
		{"expiry overflows int64", "99999999999999999999:alice", mac("99999999999999999999:alice")},
		{"colon in identity", future + ":room:alice", mac(future + ":room:alice")},
		{"space in identity", future + ":al ice", mac(future + ":al ice")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Stats().AuthRefused
			_, err := udpClient(t, s, tc.username, tc.password).Allocate()
			require.Error(t, err, "allocation with %q", tc.username)
			var te *stun.TurnError
			require.ErrorAs(t, err, &te)
			require.Equal(t, stun.CodeUnauthorized, te.ErrorCodeAttr.Code, "refused credentials are 401 (RFC 8489 §9.2.4)")
			require.Greater(t, s.Stats().AuthRefused, before)
		})
	}
	require.Zero(t, s.Stats().Allocations)

	t.Run("valid credentials allocate", func(t *testing.T) {
		allocate(t, udpClient(t, s, goodUser, goodPass))
	})
	t.Run("identity with a colon is escaped and allocates", func(t *testing.T) {
		user, pass, _ := s.Credentials("room:alice", time.Now())
		require.Regexp(t, `^\d+:room%3Aalice$`, user)
		allocate(t, udpClient(t, s, user, pass))
	})
}

// TestAllocationQuota checks that one identity gets MaxAllocationsPerUser
// allocations across UDP and TCP, that others are unaffected, and that a
// deleted allocation frees its slot.
func TestAllocationQuota(t *testing.T) {
	cfg := testConfig()
	cfg.MaxAllocationsPerUser = 2
	s := startServer(t, cfg)
	bobUser, bobPass, _ := s.Credentials("bob", time.Now())

	first := allocate(t, udpClient(t, s, bobUser, bobPass))
	allocate(t, tcpClient(t, s, bobUser, bobPass))

	_, err := udpClient(t, s, bobUser, bobPass).Allocate()
	var te *stun.TurnError
	require.ErrorAs(t, err, &te, "allocation %d for bob", cfg.MaxAllocationsPerUser+1)
	require.Equal(t, stun.CodeAllocQuotaReached, te.ErrorCodeAttr.Code)
	require.Equal(t, uint64(1), s.Stats().QuotaRefused)

	// Fresh credentials for the same identity share its quota.
	again, againPass, _ := s.Credentials("bob", time.Now().Add(time.Second))
	_, err = tcpClient(t, s, again, againPass).Allocate()
	require.ErrorAs(t, err, &te)
	require.Equal(t, stun.CodeAllocQuotaReached, te.ErrorCodeAttr.Code)

	carolUser, carolPass, _ := s.Credentials("carol", time.Now())
	allocate(t, udpClient(t, s, carolUser, carolPass))
	require.Equal(t, 3, s.Stats().Allocations)

	// Closing an allocation sends Refresh(lifetime 0) without waiting.
	require.NoError(t, first.Close())
	eventually(t, "bob's first allocation is deleted", func() bool { return s.Stats().Allocations == 2 })
	allocate(t, udpClient(t, s, bobUser, bobPass))
}

// TestAllocationQuotaConcurrent sends many Allocate requests for one
// identity at once, each on its own TCP connection (pion serves those
// concurrently), and expects exactly the quota to succeed.
func TestAllocationQuotaConcurrent(t *testing.T) {
	const attempts = 8
	cfg := testConfig()
	cfg.MaxAllocationsPerUser = 3
	s := startServer(t, cfg)
	user, pass, _ := s.Credentials("bob", time.Now())

	clients := make([]*pionturn.Client, attempts)
	for i := range clients {
		clients[i] = tcpClient(t, s, user, pass)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		granted int
	)
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if relay, err := c.Allocate(); err == nil {
				mu.Lock()
				granted++
				mu.Unlock()
				t.Cleanup(func() { _ = relay.Close() })
			}
		}()
	}
	wg.Wait()
	require.Equal(t, cfg.MaxAllocationsPerUser, granted)
	require.Equal(t, uint64(attempts-cfg.MaxAllocationsPerUser), s.Stats().QuotaRefused)
}

// TestRelayPortRange checks that relays bind inside the configured range and
// that a full range fails with 508 (Insufficient Capacity).
func TestRelayPortRange(t *testing.T) {
	probe, err := net.ListenPacket("udp4", "0.0.0.0:0")
	require.NoError(t, err)
	port := probe.LocalAddr().(*net.UDPAddr).Port //nolint:forcetypeassert // udp4
	require.NoError(t, probe.Close())

	cfg := testConfig()
	cfg.RelayMinPort, cfg.RelayMaxPort = uint16(port), uint16(port)
	s := startServer(t, cfg)

	aliceUser, alicePass, _ := s.Credentials("alice", time.Now())
	relay := allocate(t, udpClient(t, s, aliceUser, alicePass))
	require.Equal(t, port, relay.LocalAddr().(*net.UDPAddr).Port) //nolint:forcetypeassert // relay addresses are UDP

	bobUser, bobPass, _ := s.Credentials("bob", time.Now())
	_, err = udpClient(t, s, bobUser, bobPass).Allocate()
	var te *stun.TurnError
	require.ErrorAs(t, err, &te)
	require.Equal(t, stun.CodeInsufficientCapacity, te.ErrorCodeAttr.Code)
}

// TestCloseFreesPorts checks that Close releases the UDP and TCP ports, every
// relay port and every accepted TCP connection before it returns, and that
// pion's goroutines end.
func TestCloseFreesPorts(t *testing.T) {
	baseline := runtime.NumGoroutine()

	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	tcp, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	// Relay ports below the kernel's ephemeral range (32768–60999): a
	// kernel-chosen one, once freed, may be taken at once by a socket of
	// another package's test running alongside, and the rebind check
	// below would fail for a port this server did free.
	cfg := testConfig()
	cfg.RelayMinPort, cfg.RelayMaxPort = 24000, 24049
	srv, err := turn.New(cfg, udp, tcp, nil)
	require.NoError(t, err)
	s := testServer{Server: srv, udpAddr: udp.LocalAddr().String(), tcpAddr: tcp.Addr().String()}

	user, pass, _ := s.Credentials("alice", time.Now())
	udpConn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	uc := newClient(t, udpConn, s.udpAddr, user, pass)
	tcpConn, err := net.Dial("tcp4", s.tcpAddr)
	require.NoError(t, err)
	tc := newClient(t, pionturn.NewSTUNConn(tcpConn), s.tcpAddr, user, pass)
	var relayPorts []int
	var relays []net.PacketConn
	for _, c := range []*pionturn.Client{uc, tc} {
		relay, err := c.Allocate()
		require.NoError(t, err)
		relays = append(relays, relay)
		relayPorts = append(relayPorts, relay.LocalAddr().(*net.UDPAddr).Port) //nolint:forcetypeassert // UDP relay
	}

	// A raw TCP connection the server has accepted: a Binding request
	// answered proves it.
	raw, err := net.Dial("tcp4", s.tcpAddr)
	require.NoError(t, err)
	defer raw.Close()
	_, err = raw.Write(stun.MustBuild(stun.TransactionID, stun.BindingRequest).Raw)
	require.NoError(t, err)
	require.NoError(t, raw.SetReadDeadline(time.Now().Add(ioTimeout)))
	_, err = raw.Read(make([]byte, 1500))
	require.NoError(t, err, "binding response")

	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")

	_, err = raw.Read(make([]byte, 1500))
	require.ErrorIs(t, err, io.EOF, "Close must close accepted TCP connections")

	rebound, err := net.ListenPacket("udp4", s.udpAddr)
	require.NoError(t, err, "TURN UDP port still bound")
	require.NoError(t, rebound.Close())
	reboundTCP, err := net.Listen("tcp4", s.tcpAddr)
	require.NoError(t, err, "TURN TCP port still bound")
	require.NoError(t, reboundTCP.Close())
	for _, port := range relayPorts {
		relayConn, err := net.ListenPacket("udp4", "0.0.0.0:"+strconv.Itoa(port))
		require.NoError(t, err, "relay port %d still bound", port)
		require.NoError(t, relayConn.Close())
	}
	eventually(t, "pion deletes every allocation", func() bool { return s.Stats().Allocations == 0 })

	// With the clients gone too, every goroutine started since the
	// baseline must end.
	for _, r := range relays {
		_ = r.Close()
	}
	for _, c := range []*pionturn.Client{uc, tc} {
		c.Close()
	}
	_ = udpConn.Close()
	_ = tcpConn.Close()
	eventually(t, "goroutines return to the baseline", func() bool { return runtime.NumGoroutine() <= baseline })
}

// xorPeerAddress is an XOR-PEER-ADDRESS attribute (RFC 8656 §18.3).
type xorPeerAddress stun.XORMappedAddress

func (a xorPeerAddress) AddTo(m *stun.Message) error {
	return (*stun.XORMappedAddress)(&a).AddToAs(m, stun.AttrXORPeerAddress)
}

// rawAttr adds an attribute with an arbitrary value.
type rawAttr struct {
	typ   stun.AttrType
	value []byte
}

func (a rawAttr) AddTo(m *stun.Message) error {
	m.Add(a.typ, a.value)
	return nil
}

// TestRelayDropsOwnAddresses: relayed data may reach the node's own
// address only on the ports it lists (the SFU's media port); a datagram
// to any other port of it (its HTTP, RPC or TURN ports, another relay
// allocation) is dropped and counted, so the relay is no way into the
// node's own services.
func TestRelayDropsOwnAddresses(t *testing.T) {
	sfu, other := echoPeer(t), echoPeer(t)
	cfg := testConfig()
	cfg.OwnIPs = []net.IP{net.IPv4(127, 0, 0, 1)}
	cfg.OwnPortsReachable = []int{sfu.LocalAddr().(*net.UDPAddr).Port}
	s := startServer(t, cfg)
	user, pass, _ := s.Credentials("alice", time.Now())
	relay := allocate(t, udpClient(t, s, user, pass))
	buf := make([]byte, 1500)

	require.NoError(t, relay.SetDeadline(time.Now().Add(ioTimeout)))
	_, err := relay.WriteTo([]byte("to the sfu"), sfu.LocalAddr())
	require.NoError(t, err)
	n, _, err := relay.ReadFrom(buf)
	require.NoError(t, err, "the SFU's port is reachable")
	require.Equal(t, "to the sfu", string(buf[:n]))

	for i := range 3 {
		_, err = relay.WriteTo([]byte("to another port "+strconv.Itoa(i)), other.LocalAddr())
		require.NoError(t, err)
	}
	require.NoError(t, relay.SetReadDeadline(time.Now().Add(500*time.Millisecond)))
	_, _, err = relay.ReadFrom(buf)
	require.Error(t, err, "nothing comes back from a port the relay may not reach")
	eventually(t, "the drops are counted", func() bool { return s.Stats().OwnAddressDropped == 3 })
}

// TestChannelBindToRefusedPeerIs403: a ChannelBind towards a refused peer
// is answered 403 (Forbidden, RFC 8656 §11.2, §12) with MESSAGE-INTEGRITY
// — not 401, which clients take for an authentication challenge.
func TestChannelBindToRefusedPeerIs403(t *testing.T) {
	cfg := testConfig()
	cfg.AllowLoopback = false
	s := startServer(t, cfg)
	user, pass, _ := s.Credentials("mallory", time.Now())
	c := udpClient(t, s, user, pass)
	allocate(t, c)
	srv, err := net.ResolveUDPAddr("udp4", s.udpAddr)
	require.NoError(t, err)
	channel := rawAttr{typ: stun.AttrChannelNumber, value: []byte{0x40, 0x00, 0, 0}}
	peer := xorPeerAddress{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	typ := stun.NewType(stun.MethodChannelBind, stun.ClassRequest)

	// Without credentials: 401 with the realm and a nonce.
	res, err := c.PerformTransaction(stun.MustBuild(stun.TransactionID, typ, channel, peer, stun.Fingerprint), srv, false)
	require.NoError(t, err)
	var code stun.ErrorCodeAttribute
	require.NoError(t, code.GetFrom(res.Msg))
	require.Equal(t, stun.CodeUnauthorized, code.Code)
	var nonce stun.Nonce
	require.NoError(t, nonce.GetFrom(res.Msg))

	res, err = c.PerformTransaction(stun.MustBuild(stun.TransactionID, typ, channel, peer,
		stun.NewUsername(user), stun.NewRealm(testRealm), nonce, stun.NewLongTermIntegrity(user, testRealm, pass), stun.Fingerprint), srv, false)
	require.NoError(t, err)
	require.Equal(t, stun.ClassErrorResponse, res.Msg.Type.Class)
	require.NoError(t, code.GetFrom(res.Msg))
	require.Equal(t, stun.CodeForbidden, code.Code)
	require.True(t, res.Msg.Contains(stun.AttrMessageIntegrity), "the answer is integrity-protected")
}

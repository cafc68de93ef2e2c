package turn

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	pionturn "github.com/pion/turn/v4"
)

// Server is a running TURN relay. Its methods are safe for concurrent use.
type Server struct {
	cfg    Config
	log    *slog.Logger
	turn   *pionturn.Server
	relays *relayAllocator
	tcp    *trackedListener // nil without a TCP listener
	tls    *trackedListener // nil without a TLS listener
	quota  *quotaTracker

	ownDropped   atomic.Uint64
	toPeers      atomic.Uint64
	fromPeers    atomic.Uint64
	peersRefused atomic.Uint64
	authRefused  atomic.Uint64
	quotaRefused atomic.Uint64

	closeOnce sync.Once
	closeErr  error
}

// Stats is a snapshot of the relay's counters, for metrics.
type Stats struct {
	// Allocations is the number of live allocations.
	Allocations int
	// PeersRefused counts peer addresses refused by PeerAllowed in
	// CreatePermission and ChannelBind requests.
	PeersRefused uint64
	// AuthRefused counts requests whose username was malformed, expired or
	// for another realm, or whose MESSAGE-INTEGRITY (password) was wrong.
	AuthRefused uint64
	// QuotaRefused counts Allocate requests refused with 486 because the
	// identity already held MaxAllocationsPerUser allocations.
	QuotaRefused uint64
	// OwnAddressDropped counts relayed datagrams dropped because they went
	// to one of the node's own addresses on a port relayed data may not
	// reach (Config.OwnIPs).
	OwnAddressDropped uint64
	// BytesToPeers and BytesFromPeers count the UDP payload bytes the
	// relay sockets sent to and received from peers.
	BytesToPeers, BytesFromPeers uint64
}

// New starts a TURN server on udp (TURN over UDP), tcp (TURN over TCP,
// RFC 8656 §3.1) and tlsL (TURN over TLS, RFC 8656 §3.1 and RFC 7350's
// "turns": a listener from crypto/tls.NewListener, so the caller owns the
// certificate); any may be nil, not all. Relay sockets are always UDP. On
// success the Server owns them and Close closes them; on error they are
// left open for the caller. cfg is validated with Config.Validate.
func New(cfg Config, udp net.PacketConn, tcp, tlsL net.Listener) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if udp == nil && tcp == nil && tlsL == nil {
		return nil, errors.New("turn: a UDP socket, a TCP listener or a TLS listener is required")
	}
	cfg = cfg.withDefaults()

	s := &Server{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "turn"),
		quota: newQuotaTracker(cfg.MaxAllocationsPerUser),
	}
	ports := map[int]bool{}
	for _, p := range cfg.OwnPortsReachable {
		ports[p] = true
	}
	s.relays = newRelayAllocator(cfg.PublicIP, cfg.RelayMinPort, cfg.RelayMaxPort,
		ownAddrs{ips: cfg.OwnIPs, ports: ports, dropped: &s.ownDropped, log: s.log, toPeers: &s.toPeers, fromPeers: &s.fromPeers})

	sc := pionturn.ServerConfig{
		Realm:         cfg.Realm,
		AuthHandler:   s.authenticate,
		QuotaHandler:  s.admitAllocation,
		LoggerFactory: pionLoggerFactory{log: s.log},
		EventHandler: pionturn.EventHandler{
			OnAuth:              s.onAuth,
			OnAllocationCreated: s.onAllocationCreated,
			OnAllocationDeleted: s.onAllocationDeleted,
		},
	}
	if udp != nil {
		sc.PacketConnConfigs = []pionturn.PacketConnConfig{{
			PacketConn:            udp,
			RelayAddressGenerator: s.relays,
			PermissionHandler:     s.permit,
		}}
	}
	if tcp != nil {
		s.tcp = newTrackedListener(tcp, s.log)
		sc.ListenerConfigs = append(sc.ListenerConfigs, pionturn.ListenerConfig{
			Listener:              s.tcp,
			RelayAddressGenerator: s.relays,
			PermissionHandler:     s.permit,
		})
	}
	if tlsL != nil {
		s.tls = newTrackedListener(tlsL, s.log)
		sc.ListenerConfigs = append(sc.ListenerConfigs, pionturn.ListenerConfig{
			Listener:              s.tls,
			RelayAddressGenerator: s.relays,
			PermissionHandler:     s.permit,
		})
	}

	ts, err := pionturn.NewServer(sc)
	if err != nil {
		return nil, fmt.Errorf("turn: start server: %w", err)
	}
	s.turn = ts

	attrs := []any{"realm", cfg.Realm, "public_ip", cfg.PublicIP, "allow_loopback", cfg.AllowLoopback}
	if udp != nil {
		attrs = append(attrs, "udp", udp.LocalAddr().String())
	}
	if tcp != nil {
		attrs = append(attrs, "tcp", tcp.Addr().String())
	}
	if tlsL != nil {
		attrs = append(attrs, "tls", tlsL.Addr().String())
	}
	if cfg.RelayMinPort != 0 {
		attrs = append(attrs, "relay_ports", fmt.Sprintf("%d-%d", cfg.RelayMinPort, cfg.RelayMaxPort))
	}
	s.log.Info("relay started", attrs...)
	return s, nil
}

// Close stops the server: it closes the UDP socket, the TCP listener, every
// accepted TCP connection and every relay socket before it returns, so all
// ports are free and pion's read loops end. Calling Close again returns the
// first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		err := s.turn.Close()
		if s.tcp != nil {
			s.tcp.closeConns()
		}
		if s.tls != nil {
			s.tls.closeConns()
		}
		s.relays.closeAll()
		if err != nil {
			s.closeErr = fmt.Errorf("turn: close: %w", err)
		}
		s.log.Info("relay stopped")
	})
	return s.closeErr
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	return Stats{
		Allocations:  s.turn.AllocationCount(),
		PeersRefused: s.peersRefused.Load(),
		AuthRefused:  s.authRefused.Load(),
		QuotaRefused: s.quotaRefused.Load(),

		OwnAddressDropped: s.ownDropped.Load(),
		BytesToPeers:      s.toPeers.Load(),
		BytesFromPeers:    s.fromPeers.Load(),
	}
}

// authenticate is the pion AuthHandler: it returns the long-term key
// (RFC 8489 §9.2.2) for a well-formed, unexpired username of this realm.
// pion checks MESSAGE-INTEGRITY with it, answers 400 on refusal, and calls
// it again for every authenticated request (Refresh, CreatePermission,
// ChannelBind), so expired credentials cannot extend an allocation either.
func (s *Server) authenticate(username, realm string, srcAddr net.Addr) ([]byte, bool) {
	var reason string
	expiry, _, err := parseUsername(username)
	switch {
	case realm != s.cfg.Realm:
		reason = "wrong realm"
	case err != nil:
		reason = err.Error()
	case time.Now().Unix() >= expiry:
		reason = "expired"
	default:
		return pionturn.GenerateAuthKey(username, realm, s.password(username)), true
	}
	s.authRefused.Add(1)
	s.log.Debug("refused credentials", "client", srcAddr, "username", username, "reason", reason)
	return nil, false
}

// onAuth counts wrong passwords; authenticate counts its own refusals.
func (s *Server) onAuth(srcAddr, _ net.Addr, _, username, _, method string, verdict bool) {
	if verdict {
		return
	}
	s.authRefused.Add(1)
	s.log.Debug("wrong password", "client", srcAddr, "username", username, "method", method)
}

// permit is the pion PermissionHandler for CreatePermission and
// ChannelBind.
func (s *Server) permit(clientAddr net.Addr, peerIP net.IP) bool {
	if PeerAllowed(peerIP, s.cfg.AllowLoopback) {
		return true
	}
	s.peersRefused.Add(1)
	s.log.Info("refused relay to special-use peer", "client", clientAddr, "peer", peerIP)
	return false
}

// admitAllocation is the pion QuotaHandler, called for an authenticated
// Allocate request before the relay socket is made.
func (s *Server) admitAllocation(username, _ string, srcAddr net.Addr) bool {
	identity := identityKey(username)
	if s.quota.admit(identity, addrKey(srcAddr), time.Now()) {
		return true
	}
	s.quotaRefused.Add(1)
	s.log.Info("allocation quota reached", "identity", identity, "client", srcAddr,
		"max", s.cfg.MaxAllocationsPerUser)
	return false
}

func (s *Server) onAllocationCreated(srcAddr, _ net.Addr, protocol, username, _ string, relayAddr net.Addr, _ int) {
	s.quota.created(identityKey(username), addrKey(srcAddr))
	s.log.Debug("allocation created", "client", srcAddr, "transport", protocol, "relay", relayAddr,
		"username", username)
}

func (s *Server) onAllocationDeleted(srcAddr, _ net.Addr, protocol, username, _ string) {
	s.quota.deleted(identityKey(username))
	s.log.Debug("allocation deleted", "client", srcAddr, "transport", protocol, "username", username)
}

// identityKey is the quota key of a username: its escaped identity.
func identityKey(username string) string {
	if _, identity, err := parseUsername(username); err == nil {
		return identity
	}
	return username // unreachable for authenticated requests
}

// addrKey names a client transport address; TCP and UDP clients may share an
// ip:port string.
func addrKey(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.Network() + "/" + a.String()
}

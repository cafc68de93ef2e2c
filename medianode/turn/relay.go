package turn

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var (
	errClosed         = errors.New("turn: server closed")
	errTCPRelay       = errors.New("turn: TCP relay allocations (RFC 6062) are not supported")
	errPortOutOfRange = errors.New("turn: requested relay port is outside the configured range")
	errRangeFull      = errors.New("turn: every port of the relay range is in use")
)

// relayAllocator is the pion/turn RelayAddressGenerator of every listener.
// It binds relay sockets on 0.0.0.0 within the configured port range,
// advertises PublicIP, and remembers every socket it hands out so Close can
// release all relay ports before it returns (pion closes them only later,
// from its read-loop goroutines).
type relayAllocator struct {
	publicIP         net.IP
	minPort, maxPort uint16 // 0, 0 = any port
	own              ownAddrs

	conns connSet[*relayConn]
}

// ownAddrs are the node's own addresses and the ports of them relayed data
// may reach (Config.OwnIPs, Config.OwnPortsReachable); dropped counts the
// datagrams refused.
type ownAddrs struct {
	ips     []net.IP
	ports   map[int]bool
	dropped *atomic.Uint64
	log     *slog.Logger
	// toPeers and fromPeers count the bytes relayed (Stats).
	toPeers, fromPeers *atomic.Uint64
}

// refuses reports whether a relayed datagram to addr must be dropped: an
// own address on a port that is not reachable.
func (o *ownAddrs) refuses(addr net.Addr) bool {
	ua, ok := addr.(*net.UDPAddr)
	if !ok || len(o.ips) == 0 {
		return false
	}
	own := ua.IP.IsUnspecified() // 0.0.0.0 and :: reach this host
	for _, ip := range o.ips {
		own = own || ip.Equal(ua.IP)
	}
	return own && !o.ports[ua.Port]
}

// connSet is the set of a listener's or allocator's open sockets, so that
// Close can end them all; after closeAll it refuses new members.
type connSet[T interface {
	comparable
	Close() error
}] struct {
	mu     sync.Mutex
	m      map[T]struct{}
	closed bool
}

// add records c and reports true, or reports false after closeAll.
func (s *connSet[T]) add(c T) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.m == nil {
		s.m = map[T]struct{}{}
	}
	s.m[c] = struct{}{}
	return true
}

func (s *connSet[T]) remove(c T) {
	s.mu.Lock()
	delete(s.m, c)
	s.mu.Unlock()
}

// closeAll closes every member (outside the lock: Close calls remove) and
// refuses new ones.
func (s *connSet[T]) closeAll() {
	s.mu.Lock()
	s.closed = true
	conns := make([]T, 0, len(s.m))
	for c := range s.m {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

func newRelayAllocator(publicIP net.IP, minPort, maxPort uint16, own ownAddrs) *relayAllocator {
	return &relayAllocator{publicIP: publicIP, minPort: minPort, maxPort: maxPort, own: own}
}

// Validate implements pionturn.RelayAddressGenerator.
func (r *relayAllocator) Validate() error { return nil }

// AllocatePacketConn implements pionturn.RelayAddressGenerator. network is
// "udp4"; requestedPort is non-zero only for an EVEN-PORT reservation.
func (r *relayAllocator) AllocatePacketConn(network string, requestedPort int) (net.PacketConn, net.Addr, error) {
	var (
		conn net.PacketConn
		err  error
	)
	switch {
	case requestedPort != 0:
		if r.minPort != 0 && (requestedPort < int(r.minPort) || requestedPort > int(r.maxPort)) {
			return nil, nil, fmt.Errorf("%w: %d", errPortOutOfRange, requestedPort)
		}
		conn, err = listenRelay(network, requestedPort)
	case r.minPort == 0:
		conn, err = listenRelay(network, 0)
	default:
		conn, err = r.listenInRange(network)
	}
	if err != nil {
		return nil, nil, err
	}

	rc := &relayConn{PacketConn: conn, owner: &r.conns, own: &r.own}
	if !r.conns.add(rc) {
		_ = conn.Close()
		return nil, nil, errClosed
	}

	port := conn.LocalAddr().(*net.UDPAddr).Port //nolint:forcetypeassert // a udp4 socket
	return rc, &net.UDPAddr{IP: r.publicIP, Port: port}, nil
}

// listenInRange tries each port of the range once, from a random start, so
// a nearly full range still finds its free ports and a full one fails fast.
func (r *relayAllocator) listenInRange(network string) (net.PacketConn, error) {
	n := int(r.maxPort) - int(r.minPort) + 1
	start := rand.IntN(n) //nolint:gosec // port choice needs no cryptographic randomness
	for i := range n {
		port := int(r.minPort) + (start+i)%n
		if conn, err := listenRelay(network, port); err == nil {
			return conn, nil
		}
	}
	return nil, fmt.Errorf("%w: %d-%d", errRangeFull, r.minPort, r.maxPort)
}

func listenRelay(network string, port int) (net.PacketConn, error) {
	return net.ListenPacket(network, net.JoinHostPort("0.0.0.0", strconv.Itoa(port))) //nolint:noctx // binding, not dialing
}

// AllocateConn implements pionturn.RelayAddressGenerator; pion/turn v4's
// server does not support TCP relays either.
func (r *relayAllocator) AllocateConn(string, int) (net.Conn, net.Addr, error) {
	return nil, nil, errTCPRelay
}

// closeAll closes every relay socket and refuses new ones.
func (r *relayAllocator) closeAll() { r.conns.closeAll() }

// relayConn is a relay socket that leaves its allocator's set when closed.
// Close is idempotent, because both Server.Close and pion close it.
type relayConn struct {
	net.PacketConn
	owner *connSet[*relayConn]
	own   *ownAddrs
	once  sync.Once
	err   error
}

// WriteTo relays b to addr unless addr is one of the node's own addresses
// on a port relayed data may not reach; such datagrams are dropped
// silently (as a firewall would), counted and logged.
func (c *relayConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.own != nil && c.own.refuses(addr) {
		if c.own.dropped != nil && c.own.dropped.Add(1)&1023 == 1 && c.own.log != nil {
			c.own.log.Info("dropped relayed data to the node's own address", "peer", addr.String(), "relay", c.LocalAddr().String())
		}
		return len(b), nil
	}
	n, err := c.PacketConn.WriteTo(b, addr)
	if c.own != nil && c.own.toPeers != nil {
		c.own.toPeers.Add(uint64(n))
	}
	return n, err
}

// ReadFrom reads a datagram from a peer, counting its bytes.
func (c *relayConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(b)
	if c.own != nil && c.own.fromPeers != nil {
		c.own.fromPeers.Add(uint64(n))
	}
	return n, addr, err
}

func (c *relayConn) Close() error {
	c.once.Do(func() {
		// Close the socket before leaving the set: a concurrent closeAll
		// either finds c (and its Close waits on once until the socket is
		// closed) or finds it gone because the socket is closed already.
		// Removed first, Server.Close could return while pion's own close
		// of an allocation still held the port (TestCloseFreesPorts flake).
		c.err = c.PacketConn.Close()
		c.owner.remove(c)
	})
	return c.err
}

// trackedListener wraps the TURN-over-TCP listener. It remembers accepted
// connections so Close can end them (pion/turn v4 closes only the listener,
// leaving each connection's read loop running until the client hangs up),
// and it retries temporary Accept errors such as EMFILE with a backoff, as
// net/http does (pion's accept loop would otherwise stop for good).
type trackedListener struct {
	net.Listener
	log *slog.Logger

	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	conns connSet[*trackedConn]
}

const (
	minAcceptBackoff = 5 * time.Millisecond
	maxAcceptBackoff = time.Second
)

func newTrackedListener(l net.Listener, log *slog.Logger) *trackedListener {
	return &trackedListener{Listener: l, log: log, done: make(chan struct{})}
}

// Accept implements net.Listener.
func (l *trackedListener) Accept() (net.Conn, error) {
	backoff := minAcceptBackoff
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			var te interface{ Temporary() bool }
			if !errors.As(err, &te) || !te.Temporary() || errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			l.log.Warn("accept failed, retrying", "err", err, "backoff", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-l.done:
				t.Stop()
				return nil, net.ErrClosed
			case <-t.C:
			}
			backoff = min(2*backoff, maxAcceptBackoff)
			continue
		}

		tc := &trackedConn{Conn: conn, owner: &l.conns}
		if !l.conns.add(tc) {
			_ = conn.Close()
			return nil, net.ErrClosed
		}
		return tc, nil
	}
}

// Close implements net.Listener: it stops accepting. Connections already
// accepted stay open until closeConns.
func (l *trackedListener) Close() error {
	l.closeOnce.Do(func() {
		close(l.done)
		l.closeErr = l.Listener.Close()
	})
	return l.closeErr
}

// closeConns closes every accepted connection and refuses new ones.
func (l *trackedListener) closeConns() { l.conns.closeAll() }

// trackedConn is an accepted TCP connection that leaves its listener's set
// when closed.
type trackedConn struct {
	net.Conn
	owner *connSet[*trackedConn]
	once  sync.Once
	err   error
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.owner.remove(c)
		c.err = c.Conn.Close()
	})
	return c.err
}

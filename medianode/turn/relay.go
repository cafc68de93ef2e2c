package turn

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
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

	mu     sync.Mutex
	conns  map[*relayConn]struct{}
	closed bool
}

func newRelayAllocator(publicIP net.IP, minPort, maxPort uint16) *relayAllocator {
	return &relayAllocator{publicIP: publicIP, minPort: minPort, maxPort: maxPort, conns: map[*relayConn]struct{}{}}
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

	rc := &relayConn{PacketConn: conn, owner: r}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = conn.Close()
		return nil, nil, errClosed
	}
	r.conns[rc] = struct{}{}
	r.mu.Unlock()

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
func (r *relayAllocator) closeAll() {
	r.mu.Lock()
	r.closed = true
	conns := make([]*relayConn, 0, len(r.conns))
	for c := range r.conns {
		conns = append(conns, c)
	}
	r.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// relayConn is a relay socket that leaves its allocator's set when closed.
// Close is idempotent, because both Server.Close and pion close it.
type relayConn struct {
	net.PacketConn
	owner *relayAllocator
	once  sync.Once
	err   error
}

func (c *relayConn) Close() error {
	c.once.Do(func() {
		c.owner.mu.Lock()
		delete(c.owner.conns, c)
		c.owner.mu.Unlock()
		c.err = c.PacketConn.Close()
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

	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

const (
	minAcceptBackoff = 5 * time.Millisecond
	maxAcceptBackoff = time.Second
)

func newTrackedListener(l net.Listener, log *slog.Logger) *trackedListener {
	return &trackedListener{Listener: l, log: log, done: make(chan struct{}), conns: map[*trackedConn]struct{}{}}
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

		tc := &trackedConn{Conn: conn, owner: l}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			_ = conn.Close()
			return nil, net.ErrClosed
		}
		l.conns[tc] = struct{}{}
		l.mu.Unlock()
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
func (l *trackedListener) closeConns() {
	l.mu.Lock()
	l.closed = true
	conns := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// trackedConn is an accepted TCP connection that leaves its listener's set
// when closed.
type trackedConn struct {
	net.Conn
	owner *trackedListener
	once  sync.Once
	err   error
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.owner.mu.Lock()
		delete(c.owner.conns, c)
		c.owner.mu.Unlock()
		c.err = c.Conn.Close()
	})
	return c.err
}

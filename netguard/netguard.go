// Package netguard keeps endpoints read from the chain's registry from
// turning Chroom's outgoing connections against private networks (SSRF):
// anyone who stakes can register a node whose endpoint is
// http://127.0.0.1:6060 or http://169.254.169.254, and orchestrators and
// media nodes then dial it (health checks, Media Node RPC). A Policy
// checks each address when a connection is made — after DNS resolution,
// so a name that resolves (or rebinds) to a private address is refused
// too — and HTTP clients built from it never follow redirects.
//
// Refused unless AllowPrivate: loopback (127.0.0.0/8, ::1), RFC 1918 and
// RFC 4193 private ranges, link-local (169.254.0.0/16, fe80::/10),
// shared address space (100.64.0.0/10, RFC 6598), 0.0.0.0/8,
// unspecified, multicast and broadcast addresses.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrPrivateAddress is returned for a connection to a refused address.
var ErrPrivateAddress = errors.New("refusing to connect to a private, loopback or link-local address from the registry")

// Policy decides which addresses outgoing connections may reach.
type Policy struct {
	// AllowPrivate permits every address (devnets on one machine).
	AllowPrivate bool
}

var (
	sharedSpace = netip.MustParsePrefix("100.64.0.0/10")
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	broadcast   = netip.MustParseAddr("255.255.255.255")
)

// Check returns ErrPrivateAddress (wrapped, with the address) if addr may
// not be reached.
func (p Policy) Check(addr netip.Addr) error {
	if p.AllowPrivate {
		return nil
	}
	a := addr.Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsMulticast() ||
		a.IsUnspecified() || a.IsInterfaceLocalMulticast() || sharedSpace.Contains(a) || thisNetwork.Contains(a) || a == broadcast {
		return fmt.Errorf("%w: %s", ErrPrivateAddress, addr)
	}
	return nil
}

// control is a net.Dialer Control function applying Check to the address
// being connected to.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("netguard: unexpected address %q: %w", address, err)
	}
	return p.Check(ap.Addr())
}

// Dialer returns a net.Dialer that refuses addresses Check refuses.
func (p Policy) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: p.control}
}

// DialContext dials like net.Dialer.DialContext under the policy (for
// grpc.WithContextDialer: address is host:port, TCP).
func (p Policy) DialContext(ctx context.Context, address string) (net.Conn, error) {
	return p.Dialer(10*time.Second).DialContext(ctx, "tcp", address)
}

// HTTPClient returns a client that connects only where the policy allows
// and never follows a redirect (the 3xx response is returned as is).
func (p Policy) HTTPClient(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = p.Dialer(timeout).DialContext
	tr.Proxy = nil // a proxy would dial on our behalf, past the check
	return &http.Client{
		Timeout:       timeout,
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

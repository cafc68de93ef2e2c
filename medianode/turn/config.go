package turn

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

const (
	// DefaultCredentialTTL is how long credentials from Server.Credentials
	// stay valid when Config.CredentialTTL is zero.
	DefaultCredentialTTL = 10 * time.Minute

	// DefaultMaxAllocationsPerUser is the per-identity allocation quota when
	// Config.MaxAllocationsPerUser is zero.
	DefaultMaxAllocationsPerUser = 10

	// MinSecretBytes is the shortest HMAC key Config.Secret may hold.
	MinSecretBytes = 16

	// minCredentialTTL is one tick of the username's Unix-second clock; a
	// shorter TTL would mint credentials that are already expired.
	minCredentialTTL = time.Second

	// maxRealmChars is the RFC 8489 §14.9 limit on REALM (fewer than 128
	// characters).
	maxRealmChars = 127
)

// Config configures the embedded TURN relay.
type Config struct {
	// Realm is the STUN/TURN realm (RFC 8489 §9.2) sent to clients and
	// required in their requests, e.g. "chroom". Required, at most 127
	// characters.
	Realm string

	// PublicIP is the relay address advertised in XOR-RELAYED-ADDRESS: the
	// node's public IPv4 address (relays are IPv4 only in pion/turn v4).
	// Relay sockets bind to 0.0.0.0 and this address is what peers send to.
	// Required.
	PublicIP net.IP

	// RelayMinPort and RelayMaxPort bound the UDP ports of relay sockets,
	// inclusive. Both zero lets the kernel pick any ephemeral port; otherwise
	// both must be set and RelayMinPort ≤ RelayMaxPort. A full range makes
	// allocations fail with 508 (Insufficient Capacity).
	RelayMinPort, RelayMaxPort uint16

	// Secret is the HMAC-SHA1 key shared with whoever mints credentials
	// (TURN REST API style, like coturn's static-auth-secret). At least
	// MinSecretBytes bytes.
	Secret []byte

	// CredentialTTL is how long minted credentials stay valid. Zero means
	// DefaultCredentialTTL; otherwise at least one second. Every request on
	// an allocation (Refresh, CreatePermission, ChannelBind) is authenticated
	// again, so a relayed session stops within about 5 minutes of its
	// credentials' expiry (permissions lapse unrefreshed; the allocation
	// follows at the end of its lifetime). Sessions that may outlast the TTL
	// need fresh credentials and an ICE restart before then.
	CredentialTTL time.Duration

	// AllowLoopback also admits peers in 127.0.0.0/8 and ::1. For devnets and
	// tests only: on a real node it lets clients reach services bound to
	// localhost.
	AllowLoopback bool

	// MaxAllocationsPerUser caps concurrent allocations per identity (the
	// part of the username after the expiry); further Allocate requests get
	// 486 (Allocation Quota Reached). Zero means
	// DefaultMaxAllocationsPerUser.
	MaxAllocationsPerUser int

	// OwnIPs are the node's own addresses (its relay, bind and public
	// addresses; the node layer lists them): relayed data to an own address is dropped unless its port is one of
	// OwnPortsReachable, so a client cannot use the relay to reach the
	// node's HTTP, RPC, metrics or TURN ports, or loop through another relay
	// allocation, while a client that can only reach the relay (UDP
	// blocked, TURN over TLS) still reaches the node's own SFU.
	OwnIPs []net.IP
	// OwnPortsReachable are the UDP ports of the own addresses that relayed
	// data may reach: the SFU's media port (its ICE UDP mux).
	OwnPortsReachable []int

	// Logger receives the server's logs and pion/turn's; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Validate reports the first problem with c, or nil. Zero CredentialTTL,
// MaxAllocationsPerUser and Logger are valid and take their defaults in New.
func (c Config) Validate() error {
	switch {
	case c.Realm == "":
		return errors.New("turn: realm is required")
	case len([]rune(c.Realm)) > maxRealmChars:
		return fmt.Errorf("turn: realm is %d characters, at most %d allowed", len([]rune(c.Realm)), maxRealmChars)
	case c.PublicIP == nil:
		return errors.New("turn: public IP (the advertised relay address) is required")
	case c.PublicIP.To4() == nil:
		return fmt.Errorf("turn: public IP %s is not IPv4; pion/turn relays IPv4 only", c.PublicIP)
	case c.PublicIP.IsUnspecified() || c.PublicIP.IsMulticast() || c.PublicIP.Equal(net.IPv4bcast):
		return fmt.Errorf("turn: public IP %s cannot be a relay address", c.PublicIP)
	case (c.RelayMinPort == 0) != (c.RelayMaxPort == 0):
		return fmt.Errorf("turn: relay port range %d-%d: set both ends or neither", c.RelayMinPort, c.RelayMaxPort)
	case c.RelayMinPort > c.RelayMaxPort:
		return fmt.Errorf("turn: relay port range %d-%d: min is above max", c.RelayMinPort, c.RelayMaxPort)
	case len(c.Secret) < MinSecretBytes:
		return fmt.Errorf("turn: secret is %d bytes, at least %d required", len(c.Secret), MinSecretBytes)
	case c.CredentialTTL < 0:
		return fmt.Errorf("turn: credential TTL %s is negative", c.CredentialTTL)
	case c.CredentialTTL != 0 && c.CredentialTTL < minCredentialTTL:
		return fmt.Errorf("turn: credential TTL %s is below %s", c.CredentialTTL, minCredentialTTL)
	case c.MaxAllocationsPerUser < 0:
		return fmt.Errorf("turn: max allocations per user %d is negative", c.MaxAllocationsPerUser)
	}
	return nil
}

// withDefaults returns a copy of c with zero fields set to their defaults
// and slices copied, so the caller may reuse its own.
func (c Config) withDefaults() Config {
	if c.CredentialTTL == 0 {
		c.CredentialTTL = DefaultCredentialTTL
	}
	if c.MaxAllocationsPerUser == 0 {
		c.MaxAllocationsPerUser = DefaultMaxAllocationsPerUser
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.PublicIP = append(net.IP(nil), c.PublicIP.To4()...)
	c.OwnIPs = append([]net.IP(nil), c.OwnIPs...)
	c.OwnPortsReachable = append([]int(nil), c.OwnPortsReachable...)
	c.Secret = append([]byte(nil), c.Secret...)
	return c
}

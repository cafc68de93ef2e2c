package turn

import (
	"net"
	"net/netip"
)

// deniedV4 are the IPv4 special-use ranges (RFC 6890 and the IANA IPv4
// Special-Purpose Address Registry) a relay must not reach: "this network",
// private, shared (CGNAT), link-local (including cloud metadata at
// 169.254.169.254), IETF protocol assignments, documentation, 6to4 relay
// anycast, benchmarking, multicast, reserved and broadcast. Loopback is
// handled separately because AllowLoopback may admit it.
var deniedV4 = prefixes(
	"0.0.0.0/8",          // "this network", RFC 791
	"10.0.0.0/8",         // private, RFC 1918
	"100.64.0.0/10",      // shared address space (CGNAT), RFC 6598
	"169.254.0.0/16",     // link-local, cloud metadata, RFC 3927
	"172.16.0.0/12",      // private, RFC 1918
	"192.0.0.0/24",       // IETF protocol assignments, RFC 6890
	"192.0.2.0/24",       // TEST-NET-1, RFC 5737
	"192.88.99.0/24",     // 6to4 relay anycast, RFC 7526
	"192.168.0.0/16",     // private, RFC 1918
	"198.18.0.0/15",      // benchmarking, RFC 2544
	"198.51.100.0/24",    // TEST-NET-2, RFC 5737
	"203.0.113.0/24",     // TEST-NET-3, RFC 5737
	"224.0.0.0/4",        // multicast, RFC 5771
	"240.0.0.0/4",        // reserved, RFC 1112
	"255.255.255.255/32", // limited broadcast, RFC 919
)

// deniedV6 are the IPv6 special-use ranges (RFC 6890 and the IANA IPv6
// Special-Purpose Address Registry) a relay must not reach. IPv4-mapped,
// NAT64 and 6to4 addresses are judged by the IPv4 address they embed, before
// this list is consulted; ::1 is handled separately.
var deniedV6 = prefixes(
	"::/96",          // unspecified and deprecated IPv4-compatible, RFC 4291
	"64:ff9b:1::/48", // local-use NAT64, RFC 8215
	"100::/64",       // discard-only, RFC 6666
	"2001::/23",      // IETF protocol assignments (Teredo, ORCHID, …), RFC 2928
	"2001:db8::/32",  // documentation, RFC 3849
	"3fff::/20",      // documentation, RFC 9637
	"fc00::/7",       // unique local, RFC 4193
	"fe80::/10",      // link-local, RFC 4291
	"ff00::/8",       // multicast, RFC 4291
)

var (
	loopbackV4    = netip.MustParsePrefix("127.0.0.0/8")
	nat64WKP      = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052
	sixToFour     = netip.MustParsePrefix("2002::/16")    // RFC 3056
	globalUnicast = netip.MustParsePrefix("2000::/3")     // RFC 4291 §2.4
	loopbackV6    = netip.IPv6Loopback()
)

func prefixes(cidrs ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(cidrs))
	for i, c := range cidrs {
		out[i] = netip.MustParsePrefix(c)
	}
	return out
}

// PeerAllowed reports whether the relay may exchange data with peer ip
// (checked on CreatePermission and ChannelBind, RFC 8656 §9). It refuses the
// IPv4 ranges 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0/24,
// 192.0.2/24, 192.88.99/24, 192.168/16, 198.18/15, 198.51.100/24,
// 203.0.113/24, 224/4, 240/4 and 255.255.255.255, and the IPv6 ranges ::/96
// (including :: and the IPv4-compatible form), ::1, 64:ff9b:1::/48, 100::/64,
// 2001::/23, 2001:db8::/32, 3fff::/20, fc00::/7, fe80::/10, ff00::/8 and
// anything outside global unicast 2000::/3. IPv4-mapped (::ffff:0:0/96),
// NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses are judged by the IPv4
// address they embed. With allowLoopback, 127.0.0.0/8 and ::1 (and their
// embedded forms) are allowed too. A nil or malformed ip is refused.
func PeerAllowed(ip net.IP, allowLoopback bool) bool {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	if addr.Is4() || addr.Is4In6() {
		return v4Allowed(addr.Unmap(), allowLoopback)
	}
	if addr == loopbackV6 {
		return allowLoopback
	}
	b := addr.As16()
	switch {
	case nat64WKP.Contains(addr):
		return v4Allowed(netip.AddrFrom4([4]byte(b[12:16])), allowLoopback)
	case sixToFour.Contains(addr):
		return v4Allowed(netip.AddrFrom4([4]byte(b[2:6])), allowLoopback)
	}
	for _, p := range deniedV6 {
		if p.Contains(addr) {
			return false
		}
	}
	return globalUnicast.Contains(addr)
}

func v4Allowed(addr netip.Addr, allowLoopback bool) bool {
	if loopbackV4.Contains(addr) {
		return allowLoopback
	}
	for _, p := range deniedV4 {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

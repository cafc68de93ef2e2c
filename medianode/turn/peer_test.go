package turn_test

import (
	"net"
	"testing"

	"github.com/chroom/chroom/medianode/turn"
)

func TestPeerAllowed(t *testing.T) {
	type want int
	const (
		refused want = iota
		allowed
		loopbackOnly // allowed only with allowLoopback
	)
	cases := []struct {
		name string
		ip   string
		want want
	}{
		// IPv4 special-use ranges: first, an inside and the last address.
		{"this network first", "0.0.0.0", refused},
		{"this network last", "0.255.255.255", refused},
		{"private 10 first", "10.0.0.0", refused},
		{"private 10", "10.1.2.3", refused},
		{"private 10 last", "10.255.255.255", refused},
		{"cgnat first", "100.64.0.0", refused},
		{"cgnat last", "100.127.255.255", refused},
		{"loopback first", "127.0.0.0", loopbackOnly},
		{"loopback", "127.0.0.1", loopbackOnly},
		{"loopback last", "127.255.255.255", loopbackOnly},
		{"link-local first", "169.254.0.0", refused},
		{"cloud metadata", "169.254.169.254", refused},
		{"link-local last", "169.254.255.255", refused},
		{"private 172 first", "172.16.0.0", refused},
		{"private 172 last", "172.31.255.255", refused},
		{"ietf protocol assignments", "192.0.0.8", refused},
		{"ietf protocol assignments last", "192.0.0.255", refused},
		{"test-net-1", "192.0.2.1", refused},
		{"6to4 relay anycast", "192.88.99.1", refused},
		{"private 192.168 first", "192.168.0.0", refused},
		{"private 192.168 last", "192.168.255.255", refused},
		{"benchmarking first", "198.18.0.0", refused},
		{"benchmarking last", "198.19.255.255", refused},
		{"test-net-2", "198.51.100.7", refused},
		{"test-net-3", "203.0.113.200", refused},
		{"multicast first", "224.0.0.1", refused},
		{"multicast last", "239.255.255.255", refused},
		{"reserved first", "240.0.0.0", refused},
		{"reserved", "250.1.2.3", refused},
		{"broadcast", "255.255.255.255", refused},

		// IPv4 public addresses, including the neighbours of refused ranges.
		{"google dns", "8.8.8.8", allowed},
		{"cloudflare dns", "1.1.1.1", allowed},
		{"below cgnat", "100.63.255.255", allowed},
		{"above cgnat", "100.128.0.0", allowed},
		{"below 172.16", "172.15.255.255", allowed},
		{"above 172.31", "172.32.0.0", allowed},
		{"above 192.0.0/24", "192.0.1.1", allowed},
		{"below benchmarking", "198.17.255.255", allowed},
		{"above benchmarking", "198.20.0.0", allowed},
		{"above link-local", "169.255.0.1", allowed},
		{"last unicast", "223.255.255.254", allowed},

		// IPv6 special-use ranges.
		{"unspecified", "::", refused},
		{"ipv6 loopback", "::1", loopbackOnly},
		{"ipv4-compatible", "::8.8.8.8", refused},
		{"discard-only", "100::1", refused},
		{"discard-only last", "100::ffff:ffff:ffff:ffff", refused},
		{"teredo", "2001::1", refused},
		{"2001::/23 last", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", refused},
		{"documentation", "2001:db8::1", refused},
		{"documentation last", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", refused},
		{"documentation 3fff", "3fff::1", refused},
		{"unique local fc", "fc00::1", refused},
		{"unique local fd", "fd12:3456:789a::1", refused},
		{"link-local v6", "fe80::1", refused},
		{"link-local v6 last", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", refused},
		{"multicast v6", "ff02::1", refused},
		{"multicast v6 global", "ff0e::101", refused},
		{"local-use nat64", "64:ff9b:1::808:808", refused},
		{"outside global unicast", "4000::1", refused},

		// IPv6 public addresses.
		{"google dns v6", "2001:4860:4860::8888", allowed},
		{"cloudflare dns v6", "2606:4700:4700::1111", allowed},
		{"just above 2001::/23", "2001:200::1", allowed},

		// IPv4-mapped: judged by the embedded IPv4 address.
		{"mapped public", "::ffff:8.8.8.8", allowed},
		{"mapped loopback", "::ffff:127.0.0.1", loopbackOnly},
		{"mapped private", "::ffff:10.0.0.1", refused},
		{"mapped metadata", "::ffff:169.254.169.254", refused},
		{"mapped this network", "::ffff:0.0.0.0", refused},
		{"mapped broadcast", "::ffff:255.255.255.255", refused},

		// NAT64 well-known prefix: judged by the embedded IPv4 address.
		{"nat64 public", "64:ff9b::8.8.8.8", allowed},
		{"nat64 private", "64:ff9b::192.168.1.1", refused},
		{"nat64 metadata", "64:ff9b::169.254.169.254", refused},
		{"nat64 loopback", "64:ff9b::127.0.0.1", loopbackOnly},
		{"nat64 cgnat", "64:ff9b::100.64.0.1", refused},

		// 6to4: judged by the embedded IPv4 address.
		{"6to4 public", "2002:808:808::1", allowed},
		{"6to4 private", "2002:a00:1::1", refused},
		{"6to4 metadata", "2002:a9fe:a9fe::1", refused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ip := net.ParseIP(tc.ip)
			if ip == nil {
				t.Fatalf("bad test address %q", tc.ip)
			}
			for _, allowLoopback := range []bool{false, true} {
				want := tc.want == allowed || tc.want == loopbackOnly && allowLoopback
				if got := turn.PeerAllowed(ip, allowLoopback); got != want {
					t.Errorf("PeerAllowed(%s, allowLoopback=%v) = %v, want %v", tc.ip, allowLoopback, got, want)
				}
				// The 4-byte form of an IPv4 address is judged the same.
				if v4 := ip.To4(); v4 != nil && tc.ip[0] != ':' {
					if got := turn.PeerAllowed(v4, allowLoopback); got != want {
						t.Errorf("PeerAllowed(4-byte %s, allowLoopback=%v) = %v, want %v", tc.ip, allowLoopback, got, want)
					}
				}
			}
		})
	}
}

func TestPeerAllowedMalformed(t *testing.T) {
	for _, ip := range []net.IP{nil, {}, {1, 2, 3}, make(net.IP, 5)} {
		for _, allowLoopback := range []bool{false, true} {
			if turn.PeerAllowed(ip, allowLoopback) {
				t.Errorf("PeerAllowed(%#v, %v) = true, want false", []byte(ip), allowLoopback)
			}
		}
	}
}

package turn_test

import (
	"testing"
	"time"

	pionturn "github.com/pion/turn/v4"
	"github.com/stretchr/testify/require"
)

// BenchmarkRelayRoundTrip relays one 1,000-byte datagram from a client to
// a loopback echo peer and back per iteration (two relayed packets), over
// UDP and over TLS. Client, relay and peer share the process, so ns/op is
// the whole round trip's CPU and latency: an upper bound on the relay's
// own cost. Run: go test -run - -bench RelayRoundTrip ./medianode/turn/
func BenchmarkRelayRoundTrip(b *testing.B) {
	for name, client := range map[string]func(testing.TB, testServer, string, string) *pionturn.Client{"udp": udpClient, "tls": tlsClient} {
		b.Run(name, func(b *testing.B) {
			s := startServer(b, testConfig())
			user, pass, _ := s.Credentials("bench", time.Now())
			relay := allocate(b, client(b, s, user, pass))
			peer := echoPeer(b)
			msg, buf := make([]byte, 1000), make([]byte, 1500)
			require.NoError(b, relay.SetDeadline(time.Now().Add(time.Hour)))
			b.SetBytes(2 * int64(len(msg)))
			b.ResetTimer()
			for range b.N {
				if _, err := relay.WriteTo(msg, peer.LocalAddr()); err != nil {
					b.Fatal(err)
				}
				if _, _, err := relay.ReadFrom(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

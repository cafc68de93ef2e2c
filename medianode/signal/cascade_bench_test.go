package signal_test

import (
	"encoding/binary"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/grant"
)

// BenchmarkRelayHop measures what one cascade relay hop adds on loopback:
// a publisher on node A sends b.N VP8 packets (1000 bytes, 200 packets/s,
// each carrying its send time); one subscriber receives them on node A
// directly, another on node B over the relay leg (cascaded), or on node A
// too (same-node, the baseline). It reports the one-way delay's p50 and
// p99 for both subscribers, the hop's p50, and the process CPU per
// packet sent (both nodes and all clients run in the process: the
// difference between the two cases is the relay leg's cost).
// Run: go test -run '^$' -bench RelayHop -benchtime 2000x ./medianode/signal/
func BenchmarkRelayHop(b *testing.B) {
	b.Run("cascaded", func(b *testing.B) { benchmarkRelayHop(b, true) })
	b.Run("same-node", func(b *testing.B) { benchmarkRelayHop(b, false) })
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchmarkRelayHop(b *testing.B, cascaded bool) {
	a := newNode(b)
	n2 := newNodeTrusting(b, a.orch)
	const room = "bench-hop"
	pub := a.connect("pub", a.grantFor("pub", room, grant.RoleHost))
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "pub-cam", "pub")
	require.NoError(b, err)
	_, err = pub.pc.AddTrack(track)
	require.NoError(b, err)
	pub.offer()

	var mu sync.Mutex
	delays := map[string][]time.Duration{}
	record := func(who string) func(*client) {
		return func(c *client) {
			c.onRTP = func(_ string, pkt *rtp.Packet) {
				if len(pkt.Payload) < 8 {
					return
				}
				sent := int64(binary.BigEndian.Uint64(pkt.Payload[len(pkt.Payload)-8:]))
				if sent == 0 {
					return
				}
				mu.Lock()
				delays[who] = append(delays[who], time.Duration(time.Now().UnixNano()-sent))
				mu.Unlock()
			}
		}
	}
	direct := a.connectWith("direct", a.grantFor("direct", room, grant.RoleViewer), record("direct"))
	direct.offer()
	other := a
	if cascaded {
		other = n2
	}
	relayed := other.connectWith("relayed", other.grantFor("relayed", room, grant.RoleViewer), record("relayed"))
	relayed.offer()
	if cascaded {
		_, err = n2.links(b).Link(room, a.nodeID, a.wsURL(), a.grantFor("relay:"+n2.nodeID, room, grant.RoleRelay))
		require.NoError(b, err)
	}

	payload := make([]byte, 1000)
	copy(payload, []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}) // a VP8 keyframe's first bytes
	var seq uint16
	send := func(stamp bool) {
		seq++
		binary.BigEndian.PutUint64(payload[len(payload)-8:], 0)
		if stamp {
			binary.BigEndian.PutUint64(payload[len(payload)-8:], uint64(time.Now().UnixNano()))
		}
		_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(seq) * 450, Marker: true}, Payload: payload})
	}
	// Warm up until both subscribers receive.
	require.Eventually(b, func() bool {
		send(false)
		return direct.received.Load() > 20 && relayed.received.Load() > 20
	}, 20*time.Second, 5*time.Millisecond, "both subscribers receive")
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	delays = map[string][]time.Duration{}
	mu.Unlock()

	b.ResetTimer()
	cpu0 := cpuTime()
	tick := time.NewTicker(5 * time.Millisecond)
	for range b.N {
		<-tick.C
		send(true)
	}
	tick.Stop()
	time.Sleep(300 * time.Millisecond) // the last packets arrive
	cpu := cpuTime() - cpu0
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	pct := func(ds []time.Duration, p float64) float64 {
		if len(ds) == 0 {
			return 0
		}
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[int(p*float64(len(s)-1))].Microseconds())
	}
	d, r := delays["direct"], delays["relayed"]
	b.ReportMetric(pct(d, 0.5), "direct-p50-µs")
	b.ReportMetric(pct(d, 0.99), "direct-p99-µs")
	b.ReportMetric(pct(r, 0.5), "relayed-p50-µs")
	b.ReportMetric(pct(r, 0.99), "relayed-p99-µs")
	b.ReportMetric(pct(r, 0.5)-pct(d, 0.5), "hop-p50-µs")
	b.ReportMetric(float64(len(r))/float64(b.N), "relayed-delivered/sent")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/packet")
}

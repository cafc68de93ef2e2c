package signal_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/medianode/sfu"
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

	send := stampedSender(track)
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
	pct := percentileMicros
	d, r := delays["direct"], delays["relayed"]
	b.ReportMetric(pct(d, 0.5), "direct-p50-µs")
	b.ReportMetric(pct(d, 0.99), "direct-p99-µs")
	b.ReportMetric(pct(r, 0.5), "relayed-p50-µs")
	b.ReportMetric(pct(r, 0.99), "relayed-p99-µs")
	b.ReportMetric(pct(r, 0.5)-pct(d, 0.5), "hop-p50-µs")
	b.ReportMetric(float64(len(r))/float64(b.N), "relayed-delivered/sent")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/packet")
}

// BenchmarkCascadeWHEPFanout: one publisher on node A; node B and node C
// pull the room over relay legs; CHROOM_BENCH_VIEWERS (default 20) WHEP
// viewers on each of the three nodes. The publisher sends b.N VP8 packets
// (1000 bytes, 200 packets/s, send time inside). Reports the viewers, the
// worst viewer's delivered/sent, one-way delay p50/p99 of the direct (A)
// and relayed (B, C) viewers, each leg's bytes per byte published (one
// copy: ≈ 1 whatever the viewers behind it), and process CPU per packet
// sent (three nodes, two legs and every viewer run in the process).
// Run: go test -run '^$' -bench CascadeWHEPFanout -benchtime 2000x ./medianode/signal/
func BenchmarkCascadeWHEPFanout(b *testing.B) {
	perNode := 20
	if v, err := strconv.Atoi(os.Getenv("CHROOM_BENCH_VIEWERS")); err == nil && v > 0 {
		perNode = v
	}
	a := newNode(b)
	nb, nc := newNodeTrusting(b, a.orch), newNodeTrusting(b, a.orch)
	const room = "bench-fanout"
	pub := a.connect("pub", a.grantFor("pub", room, grant.RoleHost))
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "pub-cam", "pub")
	require.NoError(b, err)
	_, err = pub.pc.AddTrack(track)
	require.NoError(b, err)
	pub.offer()

	type viewer struct {
		mu     sync.Mutex
		got    int
		delays []time.Duration
	}
	var viewers []*viewer
	groups := map[string][]*viewer{}
	for gi, n := range []*node{a, nb, nc} {
		group := []string{"direct", "relayed", "relayed"}[gi]
		for i := range perNode {
			v := &viewer{}
			play, err := webrtc.NewPeerConnection(webrtc.Configuration{})
			require.NoError(b, err)
			b.Cleanup(func() { play.Close() })
			_, err = play.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
			require.NoError(b, err)
			play.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
				for {
					pkt, _, err := tr.ReadRTP()
					if err != nil {
						return
					}
					if len(pkt.Payload) < 8 {
						continue
					}
					sent := int64(binary.BigEndian.Uint64(pkt.Payload[len(pkt.Payload)-8:]))
					if sent == 0 {
						continue
					}
					v.mu.Lock()
					v.got++
					v.delays = append(v.delays, time.Duration(time.Now().UnixNano()-sent))
					v.mu.Unlock()
				}
			})
			token := n.grantFor(fmt.Sprintf("viewer-%d-%d", gi, i), room, grant.RoleViewer)
			resp := n.httpOffer("/whep", token, "application/sdp", gatheredOffer(b, play))
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(b, http.StatusCreated, resp.StatusCode, string(answer))
			require.NoError(b, play.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}))
			viewers = append(viewers, v)
			groups[group] = append(groups[group], v)
		}
	}
	for _, n := range []*node{nb, nc} {
		_, err := n.links(b).Link(room, a.nodeID, a.wsURL(), a.grantFor("relay:"+n.nodeID, room, grant.RoleRelay))
		require.NoError(b, err)
	}

	send := stampedSender(track)
	// Warm up until every viewer receives.
	require.Eventually(b, func() bool {
		send(false)
		ra, _ := a.sfu.Room(room)
		legs := 0
		for _, p := range ra.Participants() {
			if p.Relay() && p.BytesOut() > 0 {
				legs++
			}
		}
		return legs == 2
	}, 60*time.Second, 5*time.Millisecond, "both legs carry the track")
	// The WHEP viewers count only stamped packets: stamp a few and wait
	// until each has some.
	require.Eventually(b, func() bool {
		send(true)
		for _, v := range viewers {
			v.mu.Lock()
			n := v.got
			v.mu.Unlock()
			if n == 0 {
				return false
			}
		}
		return true
	}, 60*time.Second, 5*time.Millisecond, "every viewer receives")
	time.Sleep(200 * time.Millisecond)
	for _, v := range viewers {
		v.mu.Lock()
		v.got, v.delays = 0, nil
		v.mu.Unlock()
	}
	ra, _ := a.sfu.Room(room)
	pubOnA, _ := ra.Participant("pub")
	var legs []*sfu.Participant
	for _, p := range ra.Participants() {
		if p.Relay() {
			legs = append(legs, p)
		}
	}
	require.Len(b, legs, 2)
	in0 := pubOnA.BytesIn()
	out0 := []uint64{legs[0].BytesOut(), legs[1].BytesOut()}

	b.ResetTimer()
	cpu0 := cpuTime()
	tick := time.NewTicker(5 * time.Millisecond)
	for range b.N {
		<-tick.C
		send(true)
	}
	tick.Stop()
	time.Sleep(300 * time.Millisecond)
	cpu := cpuTime() - cpu0
	b.StopTimer()

	pct := percentileMicros
	worst := 1.0
	for _, v := range viewers {
		v.mu.Lock()
		worst = min(worst, float64(v.got)/float64(b.N))
		v.mu.Unlock()
	}
	for group, vs := range groups {
		var all []time.Duration
		for _, v := range vs {
			v.mu.Lock()
			all = append(all, v.delays...)
			v.mu.Unlock()
		}
		b.ReportMetric(pct(all, 0.5), group+"-p50-µs")
		b.ReportMetric(pct(all, 0.99), group+"-p99-µs")
	}
	in := float64(pubOnA.BytesIn() - in0)
	for i, l := range legs {
		b.ReportMetric(float64(l.BytesOut()-out0[i])/in, fmt.Sprintf("leg%d-bytes/published", i+1))
	}
	b.ReportMetric(float64(len(viewers)), "viewers")
	b.ReportMetric(worst, "worst-delivered/sent")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/packet")
}

// stampedSender returns what writes one 1000-byte VP8 packet (a
// keyframe's first bytes) to track per call, carrying its send time in
// its last 8 bytes when stamp is set (0 otherwise: warm-up packets).
func stampedSender(track *webrtc.TrackLocalStaticRTP) func(stamp bool) {
	payload := make([]byte, 1000)
	copy(payload, []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00})
	var seq uint16
	return func(stamp bool) {
		seq++
		binary.BigEndian.PutUint64(payload[len(payload)-8:], 0)
		if stamp {
			binary.BigEndian.PutUint64(payload[len(payload)-8:], uint64(time.Now().UnixNano()))
		}
		_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(seq) * 450, Marker: true}, Payload: payload})
	}
}

// percentileMicros is the p-th percentile (0…1) of ds in µs, 0 if empty.
func percentileMicros(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[int(p*float64(len(s)-1))].Microseconds())
}

package bench

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/stdnet"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

// countingConn is a subscriber's UDP socket: it passes STUN and DTLS up
// to Pion, and counts and drops RTP, so the subscribers are "cheap
// receivers" that cost a read per packet, not an SRTP decryption.
type countingConn struct {
	*net.UDPConn
	media *atomic.Uint64
}

// ReadFrom returns the next datagram that is not RTP. RTP and RTCP both
// start with version 2 (first byte 128–191); RTCP's second byte is a
// packet type 192–223 (RFC 5761 §4), RTP's a payload type below 128 with
// or without the marker bit.
func (c *countingConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		// ReadFromUDPAddrPort does not allocate: -benchmem then counts
		// the SFU's allocations, not the receivers'.
		n, ap, err := c.UDPConn.ReadFromUDPAddrPort(b)
		if err != nil {
			return n, nil, err
		}
		if n >= 2 && b[0] >= 128 && b[0] < 192 && (b[1] < 192 || b[1] > 223) {
			c.media.Add(1)
			continue
		}
		return n, net.UDPAddrFromAddrPort(ap), nil
	}
}

// countingNet gives Pion's ICE agent countingConns for its host candidates.
type countingNet struct {
	*stdnet.Net
	media *atomic.Uint64
}

func (n countingNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	uc := c.(*net.UDPConn)
	_ = uc.SetReadBuffer(1 << 20)
	return &countingConn{UDPConn: uc, media: n.media}, nil
}

// cheapSubscribers connects n WHEP sessions whose sockets drop the media
// they receive; it returns the count of media packets received.
func cheapSubscribers(b *testing.B, s *SFU, n int) *atomic.Uint64 {
	media := new(atomic.Uint64)
	std, err := stdnet.NewNet()
	require.NoError(b, err)
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelError
	me := &webrtc.MediaEngine{}
	require.NoError(b, me.RegisterDefaultCodecs())
	se := webrtc.SettingEngine{LoggerFactory: lf}
	se.SetNet(countingNet{Net: std, media: media})
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(&interceptor.Registry{}), webrtc.WithSettingEngine(se))
	for i := range n {
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		require.NoError(b, err)
		b.Cleanup(func() { pc.Close() })
		_, err = pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		require.NoError(b, err)
		connected := make(chan struct{})
		var once sync.Once
		pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
			if st == webrtc.PeerConnectionStateConnected {
				once.Do(func() { close(connected) })
			}
		})
		offer, err := gatheredOffer(pc)
		require.NoError(b, err)
		answer, _, err := httpExchange(s.WHEP, s.ViewerTokens[i])(context.Background(), offer)
		require.NoError(b, err, "WHEP session %d", i)
		require.NoError(b, pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}))
		select {
		case <-connected:
		case <-time.After(15 * time.Second):
			b.Fatalf("WHEP session %d did not connect", i)
		}
	}
	return media
}

// BenchmarkForward measures the SFU's forwarding: one WHIP publisher's
// video track to 100 WHEP subscribers, real ICE, DTLS and SRTP on
// loopback, the SFU in this process; the subscribers are cheap (see
// countingConn). One op is one packet delivered to one subscriber's
// socket; the publisher keeps at most 64 packets ahead of delivery, so
// the SFU's socket does not overflow. Run it with -cpu 1,2 to see the
// fan-out spread over cores (docs/benchmarks.md):
//
//	go test -run '^$' -bench Forward -benchmem -cpu 1,2 ./medianode/bench/
//
// Reported besides ns/op: fwd-pkt/s (delivered packets per second) and
// loss-% (packets the publisher sent that some subscriber never got).
func BenchmarkForward(b *testing.B) {
	for _, unbatched := range []bool{false, true} {
		name := "batched"
		if unbatched {
			name = "sendto"
		}
		b.Run(fmt.Sprintf("subscribers=100/%s", name), func(b *testing.B) {
			benchmarkForward(b, 100, unbatched)
		})
	}
}

func benchmarkForward(b *testing.B, subscribers int, unbatched bool) {
	s, err := StartSFU(SFUOptions{UDPBufferBytes: 8 << 20, UnbatchedWrites: unbatched})
	require.NoError(b, err)
	b.Cleanup(s.Close)
	api, err := newClientAPI(ClientOptions{})
	require.NoError(b, err)
	cfg := &Config{Codec: "vp8", KeyframeEvery: 1, PayloadBytes: 1100}
	pub, err := connectPublisher(context.Background(), api, httpExchange(s.WHIP, s.PublisherToken), cfg)
	require.NoError(b, err)
	b.Cleanup(func() { pub.pc.Close() })

	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Marker: true, SSRC: 1}, Payload: make([]byte, cfg.PayloadBytes)}
	copy(pkt.Payload, vp8Key[:])
	var seq uint16
	send := func() {
		seq++
		pkt.SequenceNumber = seq
		pkt.Timestamp += 3000
		if err := pub.track.WriteRTP(pkt); err != nil {
			b.Fatal(err)
		}
	}
	send() // the SFU binds the publisher's track on its first packet
	media := cheapSubscribers(b, s, subscribers)
	// Warm up: every subscriber receives (its downTrack is bound).
	deadline := time.Now().Add(10 * time.Second)
	for media.Load() < uint64(20*subscribers) && time.Now().Before(deadline) {
		send()
		time.Sleep(time.Millisecond)
	}
	require.GreaterOrEqual(b, media.Load(), uint64(20*subscribers), "every subscriber receives")
	time.Sleep(100 * time.Millisecond)

	packets := (b.N + subscribers - 1) / subscribers
	const window = 256 // publisher packets in flight at most
	base := media.Load()
	runtime.GC()
	b.ResetTimer()
	start := time.Now()
	for i := 1; i <= packets; i++ {
		send()
		// Sleep (not spin: the benchmark's own CPU would count) until
		// the SFU has delivered all but the last window's packets.
		for waited := 0; (i-window)*subscribers > int(media.Load()-base) && waited < 200; waited++ {
			time.Sleep(100 * time.Microsecond) // 200 × ≥ 0.1 ms: a packet lost for good is not waited for
		}
	}
	want := uint64(packets * subscribers)
	for last, still := media.Load(), 0; media.Load()-base < want && still < 20; still++ {
		time.Sleep(5 * time.Millisecond)
		if now := media.Load(); now != last {
			last, still = now, 0
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	got := media.Load() - base
	b.ReportMetric(float64(got)/elapsed.Seconds(), "fwd-pkt/s")
	b.ReportMetric(100*float64(want-min(got, want))/float64(want), "loss-%")
}

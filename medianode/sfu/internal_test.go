package sfu

import (
	"log/slog"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

func TestIsKeyframe(t *testing.T) {
	tests := []struct {
		name    string
		mime    string
		payload []byte
		want    bool
	}{
		{"vp8 key frame", "video/VP8", []byte{0x10, 0x00, 0x9d}, true},
		{"vp8 inter frame", "video/VP8", []byte{0x10, 0x01, 0x9d}, false},
		{"vp8 continuation", "video/VP8", []byte{0x00, 0x00}, false},
		{"vp8 with picture id", "video/VP8", []byte{0x90, 0x80, 0x81, 0x23, 0x00}, true},
		{"vp8 truncated", "video/VP8", []byte{0x90}, false},
		{"h264 idr", "video/H264", []byte{0x65, 0x88}, true},
		{"h264 non-idr", "video/H264", []byte{0x41, 0x9a}, false},
		{"h264 stap-a with sps", "video/H264", []byte{0x78, 0x00, 0x02, 0x67, 0x42}, true},
		{"h264 fu-a start of idr", "video/H264", []byte{0x7c, 0x85}, true},
		{"h264 fu-a middle", "video/H264", []byte{0x7c, 0x05}, false},
		{"vp9 key", "video/VP9", []byte{0x08}, true},
		{"vp9 inter", "video/VP9", []byte{0x48}, false},
		{"opus", "audio/opus", []byte{0x00}, false},
		{"empty", "video/VP8", nil, false},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, isKeyframe(tc.mime, tc.payload), tc.name)
	}
}

type capture struct{ pkts []rtp.Header }

func (c *capture) WriteRTP(h *rtp.Header, _ []byte) (int, error) {
	c.pkts = append(c.pkts, *h)
	return 10, nil
}
func (c *capture) Write(b []byte) (int, error) { return len(b), nil }

// TestDownTrackSwitchesLayersAtKeyframesWithoutGaps: the subscriber's
// sequence numbers and timestamps continue across a layer switch, and the
// switch waits for a keyframe of the new layer.
func TestDownTrackSwitchesLayersAtKeyframesWithoutGaps(t *testing.T) {
	d := newDownTrack("t", "s", webrtc.RTPCodecTypeVideo, webrtc.RTPCodecCapability{MimeType: "video/VP8"}, LayerLow, nil)
	w := &capture{}
	d.bound, d.ssrc, d.pt, d.writer = true, 1234, 96, w
	key, delta := []byte{0x10, 0x00}, []byte{0x10, 0x01}
	pkt0 := &rtp.Packet{Header: rtp.Header{SequenceNumber: 9, Timestamp: 1000}, Payload: key}
	require.Zero(t, d.writeRTP(LayerLow, pkt0), "nothing is written before the subscriber is connected")
	d.ready.Store(true) // the test stands in for the subscriber
	pkt := func(seq uint16, ts uint32, payload []byte) *rtp.Packet {
		return &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts, SSRC: 99, PayloadType: 100}, Payload: payload}
	}
	require.Zero(t, d.writeRTP(LayerLow, pkt(10, 1000, delta)), "no keyframe yet")
	require.Positive(t, d.writeRTP(LayerLow, pkt(11, 1000, key)))
	require.Positive(t, d.writeRTP(LayerLow, pkt(12, 4000, delta)))
	require.Zero(t, d.writeRTP(LayerHigh, pkt(500, 77000, key)), "high layer not wanted yet")

	require.True(t, d.SetTargetLayer(LayerHigh))
	require.Positive(t, d.writeRTP(LayerLow, pkt(13, 7000, delta)), "the current layer flows until the new one has a keyframe")
	require.Zero(t, d.writeRTP(LayerHigh, pkt(501, 80000, delta)), "switch waits for a keyframe")
	require.Positive(t, d.writeRTP(LayerHigh, pkt(502, 83000, key)))
	require.Positive(t, d.writeRTP(LayerHigh, pkt(503, 86000, delta)))

	for i := 1; i < len(w.pkts); i++ {
		require.Equal(t, w.pkts[i-1].SequenceNumber+1, w.pkts[i].SequenceNumber, "no sequence gap at packet %d", i)
		require.Greater(t, w.pkts[i].Timestamp, w.pkts[i-1].Timestamp, "timestamps keep rising at packet %d", i)
		require.Equal(t, uint32(1234), w.pkts[i].SSRC)
		require.Equal(t, uint8(96), w.pkts[i].PayloadType)
	}
}

// TestDownTrackFollowsItsSubscribersConnection: a downTrack created before
// its subscriber's transport is up starts forwarding once it is, whenever
// the subscription was made (the CI soak once caught a subscription made
// while the connection came up, which never forwarded audio).
func TestDownTrackFollowsItsSubscribersConnection(t *testing.T) {
	sub := &Participant{identity: "bob", log: slog.Default()}
	tr := &publishedTrack{info: TrackInfo{ID: "mic", Kind: "audio"}, codec: webrtc.RTPCodecCapability{MimeType: "audio/opus", ClockRate: 48000},
		layers: map[int]*webrtc.TrackRemote{}, down: map[string]*downTrack{}}
	d := tr.subscribe(sub, LayerHigh)
	d.bound, d.ssrc, d.pt, d.writer = true, 1, 111, &capture{}
	pkt := &rtp.Packet{Header: rtp.Header{SequenceNumber: 1, Timestamp: 960}, Payload: []byte{0x01}}
	require.Zero(t, d.writeRTP(LayerHigh, pkt), "nothing before the subscriber is connected")
	sub.connected.Store(true) // what onConnected does, whether or not it saw this subscription
	require.Positive(t, d.writeRTP(LayerHigh, pkt))
}

func TestSectionsLogValue(t *testing.T) {
	offer := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=msid:s mic\r\na=rtpmap:111 opus/48000/2\r\n" +
		"m=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:sfu1\r\na=recvonly\r\na=rtpmap:96 VP8/90000\r\n"
	require.Equal(t, "0:audio:sendonly:mic sfu1:video:rejected", sections(offer).LogValue().String())
	require.Contains(t, sections("not sdp").LogValue().String(), "unparsable SDP")
}

// TestSpeakerLevelHoldsThroughPauses: a tone that sounds for 100 ms
// every second (Chromium's fake microphone is like it) keeps its
// participant above the speaker threshold between tones, and speaking
// ends within SpeakerHangover plus the decay once the tone stops; a
// track that stops sending counts as silent after a second.
func TestSpeakerLevelHoldsThroughPauses(t *testing.T) {
	const threshold = 30 // speakerLoop's
	var a audioLevel
	t0 := time.Unix(1_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ms := 0
	for ; ms < 5000; ms += 20 { // 50 packets a second
		dBov := uint8(127) // silence
		if ms%1000 < 100 {
			dBov = 20 // the tone
		}
		a.observeAt(at(ms), dBov)
		if ms >= 100 {
			require.Greater(t, a.levelAt(at(ms)), float64(threshold), "at %d ms: speaking between tones", ms)
		}
	}
	for ; ms < 5000+1500+500; ms += 20 {
		a.observeAt(at(ms), 127)
	}
	require.Less(t, a.levelAt(at(ms)), float64(threshold), "silent 2 s after the last tone")
	require.Zero(t, a.levelAt(at(ms+1100)), "no packets for a second")
}

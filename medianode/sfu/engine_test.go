package sfu

import (
	"net"
	"regexp"
	"testing"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

// TestOfferUsesChromiumHeaderExtensionIDs: when the SFU offers first, its
// header extension IDs are Chromium's defaults (see headerExtensions).
func TestOfferUsesChromiumHeaderExtensionIDs(t *testing.T) {
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer udp.Close()
	api, err := NewAPI(TransportConfig{UDP: udp, IncludeLoopback: true}, nil)
	require.NoError(t, err)
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	defer pc.Close()
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		_, err = pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		require.NoError(t, err)
	}
	offer, err := pc.CreateOffer(nil)
	require.NoError(t, err)
	chromium := map[string]string{ // id → URI in Chromium 120+'s own offers
		"1":  "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
		"2":  "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
		"3":  "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
		"4":  "urn:ietf:params:rtp-hdrext:sdes:mid",
		"5":  "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay",
		"10": "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
		"11": "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
	}
	seen := 0
	for _, m := range regexp.MustCompile(`a=extmap:(\d+) (\S+)`).FindAllStringSubmatch(offer.SDP, -1) {
		if want, ok := chromium[m[1]]; ok {
			require.Equal(t, want, m[2], "extmap id %s", m[1])
			seen++
		}
	}
	require.GreaterOrEqual(t, seen, len(chromium), "offer:\n%s", offer.SDP)
}

package sfu

import (
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

type payloadCapture struct {
	hdrs     []rtp.Header
	payloads [][]byte
}

func (c *payloadCapture) WriteRTP(h *rtp.Header, p []byte) (int, error) {
	c.hdrs = append(c.hdrs, *h)
	c.payloads = append(c.payloads, p)
	return len(p) + 12, nil
}
func (c *payloadCapture) Write(b []byte) (int, error) { return len(b), nil }

// A NACK gets the packets it names again, as the subscriber first saw
// them (its SSRC, payload type, sequence number and timestamp, the same
// payload bytes); packets out of the history, never sent, or already
// resent maxResends times are not sent; nothing is metered as egress.
func TestNACKsAreAnsweredFromTheSharedHistory(t *testing.T) {
	metered := 0
	d := newDownTrack("t", "s", webrtc.RTPCodecTypeVideo, webrtc.RTPCodecCapability{MimeType: "video/VP8"}, LayerHigh, func(n int) { metered += n })
	w := &payloadCapture{}
	d.bound, d.ssrc, d.pt, d.writer = true, 1234, 96, w
	d.ready.Store(true)
	key := []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a}
	payloads := map[uint16][]byte{}
	for seq := uint16(100); seq < 100+nackHistory+50; seq++ {
		p := append([]byte{0x10, 0x01}, byte(seq), byte(seq>>8))
		if seq == 100 {
			p = key
		}
		payloads[seq] = p
		require.Positive(t, d.writeRTP(LayerHigh, &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: seq%3 == 0, SSRC: 99, PayloadType: 100}, Payload: p}))
	}
	forwarded, meteredBefore := len(w.hdrs), metered
	last := 100 + nackHistory + 49 // the publisher's sequence numbers map 1:1 here
	nack := func(seqs ...uint16) int {
		pairs := rtcp.NackPairsFromSequenceNumbers(seqs)
		return d.retransmit(&rtcp.TransportLayerNack{MediaSSRC: 1234, Nacks: pairs})
	}

	require.Equal(t, 3, nack(uint16(last), uint16(last-1), uint16(last-nackHistory+1)))
	for i, h := range w.hdrs[forwarded:] {
		orig := w.hdrs[forwarded-1-(last-int(h.SequenceNumber))]
		require.Equal(t, orig.SequenceNumber, h.SequenceNumber)
		require.Equal(t, orig.Timestamp, h.Timestamp, "resend %d", i)
		require.Equal(t, orig.Marker, h.Marker)
		require.Equal(t, uint32(1234), h.SSRC)
		require.Equal(t, uint8(96), h.PayloadType)
		require.Equal(t, payloads[h.SequenceNumber], w.payloads[forwarded+i])
	}
	require.Zero(t, nack(uint16(last-nackHistory)), "older than the history")
	require.Zero(t, nack(uint16(last+1)), "never sent")
	require.Equal(t, 1, nack(uint16(last)), "a second resend")
	require.Zero(t, nack(uint16(last)), "no third: a subscriber cannot amplify the node's sending")
	require.Equal(t, meteredBefore, metered, "retransmissions are not metered as egress")

	require.NoError(t, d.Unbind(nil))
	require.Zero(t, nack(uint16(last-1)), "nothing after the subscriber unbound")
}

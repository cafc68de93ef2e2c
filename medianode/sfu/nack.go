package sfu

import (
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// The SFU answers its subscribers' generic NACKs (RFC 4585 §6.2.1) itself
// instead of with Pion's nack.ResponderInterceptor, which copies every
// packet into a per-subscriber buffer (two memmoves and a pooled buffer
// per packet per subscriber). Here each downTrack remembers, per sent
// sequence number, the packet's timestamp, marker and payload; the payload
// is the buffer TrackRemote.ReadRTP allocated for the publisher's packet,
// shared by every subscriber and never written after it was read. A
// subscriber's history costs nackHistory × 40 bytes (20 KiB), whatever the
// packet sizes.
//
// Retransmissions go out in the original stream (same SSRC and sequence
// number, no RTX), as Pion's responder does. They are not metered into the
// session's egress (receipts count each packet once, as before), only into
// chroom_medianode_retransmitted_packets_total.

const (
	// nackHistory is how many of its last packets a subscriber can ask
	// for again: 512, about half a second of 720p video at 1,000
	// packets/s, beyond which the packet is too late to play anyway.
	nackHistory = 512
	// maxResends bounds how often one packet is sent again: a subscriber
	// that NACKs everything repeatedly gets at most this many copies, so
	// its NACKs cannot amplify the node's sending beyond (1 + maxResends)×.
	maxResends = 2
)

// sentPacket is one entry of a downTrack's retransmission history.
type sentPacket struct {
	payload []byte // shared, read-only
	ts      uint32
	seq     uint16
	marker  bool
	ok      bool
	resends uint8
}

// remember records a packet about to be sent; d.mu is held.
func (d *downTrack) remember(hdr *rtp.Header, payload []byte) {
	if len(payload) == 0 { // padding only: nothing worth resending
		return
	}
	d.sent[hdr.SequenceNumber%nackHistory] = sentPacket{payload: payload, ts: hdr.Timestamp, seq: hdr.SequenceNumber, marker: hdr.Marker, ok: true}
}

// retransmit sends again the packets nack asks for that are still in the
// history and have not been resent maxResends times; it returns how many
// went out.
func (d *downTrack) retransmit(nack *rtcp.TransportLayerNack) int {
	type resend struct {
		hdr     rtp.Header
		payload []byte
	}
	var out []resend
	d.mu.Lock()
	if !d.bound {
		d.mu.Unlock()
		return 0
	}
	w := d.writer
	for _, pair := range nack.Nacks {
		pair.Range(func(seq uint16) bool {
			e := &d.sent[seq%nackHistory]
			if e.ok && e.seq == seq && e.resends < maxResends {
				e.resends++
				out = append(out, resend{
					hdr:     rtp.Header{Version: 2, Marker: e.marker, PayloadType: d.pt, SequenceNumber: seq, Timestamp: e.ts, SSRC: d.ssrc},
					payload: e.payload,
				})
			}
			return true
		})
	}
	d.mu.Unlock()
	sent := 0
	for i := range out {
		if n, err := send(w, &out[i].hdr, out[i].payload); err == nil && n > 0 {
			sent++
		}
	}
	return sent
}

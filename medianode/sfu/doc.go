// Package sfu is Chroom's selective forwarding unit, built on Pion WebRTC:
// rooms of participants, each with one PeerConnection that publishes audio,
// video and screen-share tracks and subscribes to everyone else's, plus a
// data channel relayed to the room.
//
// Forwarding follows the usual SFU design (LiveKit's pkg/sfu is the model):
// a publishedTrack reads each simulcast layer of an upstream track in its
// own goroutine and fans packets out to downTracks, one per subscriber,
// which rewrite SSRC, payload type, sequence numbers and timestamps so a
// subscriber can switch layers at a keyframe without a gap. Every goroutine
// has an owner and stops when its track, participant or room closes.
//
// The node takes the DTLS server role so browsers negotiate AES-GCM SRTP
// (STACK.md), asks publishers for a keyframe (PLI, RFC 4585 §6.3.1) when a
// subscriber joins, relays subscribers' PLI/FIR, answers NACKs from each
// downTrack's history of shared payloads (nack.go) and sends TWCC feedback.
package sfu

package sfu

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// downTrack is one subscriber's copy of a published track: a
// webrtc.TrackLocal that rewrites SSRC, payload type, sequence numbers and
// timestamps, so the subscriber sees one continuous stream even when it
// switches simulcast layers. A layer switch happens only at a keyframe of
// the target layer.
type downTrack struct {
	id, streamID string
	kind         webrtc.RTPCodecType
	codec        webrtc.RTPCodecCapability
	onBytes      func(n int)
	// wantKeyframe asks the publisher for a keyframe (rate-limited by the
	// caller); called while this subscriber waits for one.
	wantKeyframe func()
	log          *slog.Logger // nil: no debug records

	mu        sync.Mutex
	bound     bool
	ssrc      uint32
	pt        uint8
	writer    webrtc.TrackLocalWriter
	current   int // layer being forwarded, -1 before the first keyframe
	target    int // layer the subscriber should get
	want      int // layer the subscriber asked for (before loss caps)
	needKey   bool
	lastSeq   uint16
	lastTS    uint32
	seqOffset uint16
	tsOffset  uint32
	started   bool
	// resyncAt is set when the downTrack gets a new source (a WHEP slot,
	// resync): the switch advances timestamps by the time since.
	resyncAt time.Time
	muted    atomic.Bool
	// ready is the subscriber's "transport connected" flag (shared by all
	// its downTracks, so none can miss it being set); before
	// that Pion drops SRTP writes without an error, so a keyframe sent
	// then would be lost while the downTrack believed it delivered.
	ready *atomic.Bool

	// fixed is set for a relay leg's per-layer downTrack (cascade.go): it
	// forwards one simulcast layer (its target) or nothing (LayerOff), as
	// setRelayPaused says; the allocator and layer retargets leave it.
	fixed bool
	// levelFrom, if set, is the publisher's RFC 6464 audio-level
	// extension ID, which this downTrack (a relay leg's) carries on as
	// levelTo, the ID negotiated with its subscriber (at Bind): the other
	// node hears who speaks. Zero: no extension is sent (the default).
	levelFrom, levelTo uint8

	packets atomic.Uint64
	// shard is the fan-out worker that writes this downTrack's packets
	// (fanout.go), fixed for its life so its packets stay in order; -1
	// until the track assigns one.
	shard int
	// sent is the retransmission history (nack.go), under mu.
	sent [nackHistory]sentPacket
	// asked is the highest layer the subscriber asked for (its tile;
	// the allocator sets it), LayerHigh until it does: dynacast keeps
	// layers up to it on at the publisher even while the bandwidth
	// estimate holds this subscriber lower, so a raise finds them.
	asked atomic.Int32
}

var errCodecNotNegotiated = errors.New("the subscriber did not negotiate the track's codec")

func newDownTrack(id, streamID string, kind webrtc.RTPCodecType, codec webrtc.RTPCodecCapability, layer int, onBytes func(int)) *downTrack {
	d := &downTrack{id: id, streamID: streamID, kind: kind, codec: codec, current: -1, target: layer, want: LayerHigh, needKey: true, onBytes: onBytes, ready: new(atomic.Bool), shard: -1}
	d.asked.Store(LayerHigh)
	return d
}

// Bind implements webrtc.TrackLocal: it picks the negotiated payload type
// of the track's codec.
func (d *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, d.codec.MimeType) {
			d.mu.Lock()
			d.bound, d.ssrc, d.pt, d.writer = true, uint32(ctx.SSRC()), uint8(c.PayloadType), ctx.WriteStream()
			if d.levelFrom != 0 {
				for _, e := range ctx.HeaderExtensions() {
					if e.URI == AudioLevelURI {
						d.levelTo = uint8(e.ID)
					}
				}
			}
			levelFrom, levelTo := d.levelFrom, d.levelTo
			d.mu.Unlock()
			d.debug("downtrack bound", "ssrc", uint32(ctx.SSRC()), "payload_type", c.PayloadType, "mime", c.MimeType, "audio_level_ext", [2]uint8{levelFrom, levelTo})
			return c, nil
		}
	}
	d.debug("downtrack not bound: codec not negotiated", "mime", d.codec.MimeType)
	return webrtc.RTPCodecParameters{}, errCodecNotNegotiated
}

// Unbind implements webrtc.TrackLocal.
func (d *downTrack) Unbind(webrtc.TrackLocalContext) error {
	d.mu.Lock()
	d.bound, d.writer = false, nil
	d.mu.Unlock()
	d.debug("downtrack unbound")
	return nil
}

func (d *downTrack) debug(msg string, args ...any) {
	if d.log != nil {
		d.log.Debug(msg, args...)
	}
}

// isBound reports whether the subscriber's connection negotiated the track.
func (d *downTrack) isBound() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.bound
}

// ID implements webrtc.TrackLocal.
func (d *downTrack) ID() string { return d.id }

// RID implements webrtc.TrackLocal; downtracks carry one layer at a time.
func (d *downTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal.
func (d *downTrack) StreamID() string { return d.streamID }

// Kind implements webrtc.TrackLocal.
func (d *downTrack) Kind() webrtc.RTPCodecType { return d.kind }

// SetTargetLayer asks for another simulcast layer; the switch waits for
// its next keyframe. LayerOff pauses the downTrack at once (nothing is
// forwarded; resuming starts at a keyframe, with sequence numbers and
// timestamps continuing). It reports whether a keyframe is needed.
func (d *downTrack) SetTargetLayer(layer int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fixed {
		return false // a relay leg's layer: setRelayPaused only
	}
	return d.setTargetLocked(layer)
}

func (d *downTrack) setTargetLocked(layer int) bool {
	if layer == d.target {
		return false
	}
	d.target = layer
	if layer == LayerOff {
		d.current, d.needKey = -1, false
		return false
	}
	d.needKey = layer != d.current
	return d.needKey
}

// SetWant records the layer the subscriber wants (capped by loss).
func (d *downTrack) SetWant(layer int) {
	d.mu.Lock()
	d.want = layer
	d.mu.Unlock()
}

// Want returns the layer the subscriber wants.
func (d *downTrack) Want() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.want
}

// TargetLayer returns the requested layer.
func (d *downTrack) TargetLayer() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.target
}

// writeRTP forwards pkt from layer to the subscriber, or drops it if the
// subscriber wants another layer or is waiting for a keyframe. It returns
// the bytes written (0 when dropped).
func (d *downTrack) writeRTP(layer int, pkt *rtp.Packet) int {
	if d.muted.Load() || !d.ready.Load() {
		return 0
	}
	d.mu.Lock()
	if !d.bound {
		d.mu.Unlock()
		return 0
	}
	// Keep forwarding the current layer until the target layer's keyframe
	// arrives, so a switch never freezes the picture.
	keepCurrent := layer == d.current && layer != d.target
	if layer != d.target && !keepCurrent {
		d.mu.Unlock()
		return 0
	}
	if layer != d.current {
		// Audio switches at once; video waits for a keyframe of the
		// target layer (asking the publisher for one meanwhile).
		if d.kind == webrtc.RTPCodecTypeVideo && !isKeyframe(d.codec.MimeType, pkt.Payload) {
			want := d.wantKeyframe
			d.mu.Unlock()
			if want != nil {
				want() // e.g. a subscriber that joined mid-stream (rate-limited)
			}
			return 0
		}
		prev := switchState{d.current, d.started, d.seqOffset, d.tsOffset, d.lastSeq, d.lastTS}
		if d.started {
			// Continue right after the last packet sent.
			d.seqOffset = pkt.SequenceNumber - d.lastSeq - 1
			d.tsOffset = pkt.Timestamp - d.lastTS - 1
			if !d.resyncAt.IsZero() {
				// Another source: its timestamps continue by the time the
				// stream was away, so the player's clock stays right.
				gap := uint32(time.Since(d.resyncAt).Seconds()*float64(d.codec.ClockRate)) + 1
				d.tsOffset = pkt.Timestamp - d.lastTS - gap
			}
		} else {
			d.seqOffset, d.tsOffset, d.started = 0, 0, true
		}
		d.current, d.needKey = layer, false
		resyncAt := d.resyncAt
		d.resyncAt = time.Time{}
		// The switch's first packet is written under the lock (once per
		// switch), so that a write Pion drops can be undone.
		hdr := d.rewriteLocked(pkt)
		n := d.write(d.writer, &hdr, pkt.Payload)
		if n == 0 {
			// Not delivered (the transport is not writing yet): undo the
			// switch so the next keyframe starts the layer instead.
			d.current, d.started, d.seqOffset, d.tsOffset, d.lastSeq, d.lastTS = prev.current, prev.started, prev.seqOffset, prev.tsOffset, prev.lastSeq, prev.lastTS
			d.needKey, d.resyncAt = true, resyncAt
		}
		d.mu.Unlock()
		if n > 0 {
			d.debug("keyframe forwarded", "layer", layer, "seq", pkt.SequenceNumber, "from_layer", prev.current)
		} else {
			d.debug("keyframe not delivered; waiting for the next", "layer", layer)
		}
		return n
	}
	// Steady state: rewrite under the lock, write outside it.
	hdr := d.rewriteLocked(pkt)
	w := d.writer
	d.mu.Unlock()
	return d.write(w, &hdr, pkt.Payload)
}

// switchState is what a layer switch changes, kept to undo it.
type switchState struct {
	current   int
	started   bool
	seqOffset uint16
	tsOffset  uint32
	lastSeq   uint16
	lastTS    uint32
}

// rewriteLocked returns pkt's header as the subscriber sees it (SSRC,
// payload type, continuous sequence numbers and timestamps, no
// extensions), records it as the last sent and keeps it for
// retransmission; d.mu is held.
func (d *downTrack) rewriteLocked(pkt *rtp.Packet) rtp.Header {
	hdr := pkt.Header
	// The publisher's header extension IDs mean nothing to this
	// subscriber; interceptors add the extensions it negotiated.
	hdr.Extension, hdr.Extensions, hdr.ExtensionProfile = false, nil, 0
	if d.levelTo != 0 {
		if v := pkt.GetExtension(d.levelFrom); len(v) > 0 {
			_ = hdr.SetExtension(d.levelTo, v) // one-byte form (RFC 8285 §4.2)
		}
	}
	hdr.SSRC = d.ssrc
	hdr.PayloadType = d.pt
	hdr.SequenceNumber = pkt.SequenceNumber - d.seqOffset
	hdr.Timestamp = pkt.Timestamp - d.tsOffset
	d.lastSeq, d.lastTS = hdr.SequenceNumber, hdr.Timestamp
	d.remember(&hdr, pkt.Payload)
	return hdr
}

// headerPool recycles the headers handed to Pion's writer: nothing below
// the downTrack keeps one after WriteRTP returns (the SFU registers no
// interceptor that does; see registerInterceptors), so a forwarded packet
// costs no allocation for its header.
var headerPool = sync.Pool{New: func() any { return new(rtp.Header) }}

// write sends one rewritten packet and counts it; it returns the bytes
// written, 0 if nothing went out.
func (d *downTrack) write(w webrtc.TrackLocalWriter, hdr *rtp.Header, payload []byte) int {
	n, err := send(w, hdr, payload)
	if err != nil || n == 0 {
		return 0
	}
	d.packets.Add(1)
	if d.onBytes != nil {
		d.onBytes(n)
	}
	return n
}

// send hands a copy of hdr (from headerPool) and payload to Pion.
func send(w webrtc.TrackLocalWriter, hdr *rtp.Header, payload []byte) (int, error) {
	h := headerPool.Get().(*rtp.Header)
	ext := h.Extensions[:0] // keep the capacity for the extensions interceptors add
	*h = *hdr
	h.Extensions = append(ext, hdr.Extensions...) // none but a relay leg's audio level
	n, err := w.WriteRTP(h, payload)
	h.CSRC, h.Extensions = nil, h.Extensions[:0] // keep what an interceptor grew it to
	headerPool.Put(h)
	return n, err
}

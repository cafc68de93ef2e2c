package sfu

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// WHEP viewers are bound to server-side tracks that switch source, as
// Pion's whip-whep example binds them to one track created up front: a
// WHEP session cannot renegotiate (its client offers once), so it gets one
// audio and one video slot when it joins, whether or not anything is
// published yet. A slot carries one published track of its kind at a time:
// the first one in the room that is not the viewer's own and has the
// slot's codec; when that track goes (its publisher leaves, reconnects or
// unpublishes), the slot takes the next one, and a publisher that comes
// back feeds the same slot again. The viewer's player sees one continuous
// stream: the downTrack keeps sequence numbers continuous and advances
// timestamps by the wall-clock gap, and switches only at a keyframe it
// asks the new source for.

// whepSlot is one of a WHEP viewer's server-side tracks.
type whepSlot struct {
	kind   string // "audio" or "video"
	down   *downTrack
	sender *webrtc.RTPSender

	mu     sync.Mutex
	source *publishedTrack // nil: nothing of this kind to play yet
}

func (s *whepSlot) current() *publishedTrack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.source
}

// slotCodec is the codec of a viewer's slot of kind: the room's track of
// that kind if there is one, else Opus or VP8 (what browsers and WHIP
// tools publish by default).
func (p *Participant) slotCodec(kind string) webrtc.RTPCodecCapability {
	for _, info := range p.room.Tracks() {
		if t, ok := p.room.track(info.ID); ok && info.Kind == kind && t.publisher != p {
			return t.codec
		}
	}
	if kind == "audio" {
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	}
	return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
}

// addWHEPSlots adds the viewer's audio and video slots to its connection
// (before its offer is answered) and binds them to the room's tracks.
func (p *Participant) addWHEPSlots() error {
	for _, kind := range []string{"audio", "video"} {
		rtpKind := webrtc.RTPCodecTypeVideo
		if kind == "audio" {
			rtpKind = webrtc.RTPCodecTypeAudio
		}
		d := newDownTrack("whep-"+kind, "whep", rtpKind, p.slotCodec(kind), LayerHigh, p.meterOut)
		d.log = p.log.With("slot", kind)
		d.ready = &p.connected
		slot := &whepSlot{kind: kind, down: d}
		d.wantKeyframe = func() {
			if src := slot.current(); src != nil {
				src.requestKeyframe("WHEP viewer " + p.identity + " waits for a keyframe")
			}
		}
		p.sdpMu.Lock()
		sender, err := p.pc.AddTrack(d)
		p.sdpMu.Unlock()
		if err != nil {
			return err
		}
		slot.sender = sender
		p.mu.Lock()
		p.slots = append(p.slots, slot)
		p.mu.Unlock()
		p.wg.Add(1)
		go p.readSlotRTCP(slot)
	}
	for _, info := range p.room.Tracks() {
		if t, ok := p.room.track(info.ID); ok {
			p.feedSlot(t)
		}
	}
	return nil
}

// feedSlot binds t to the viewer's slot of its kind if that slot has no
// source and t has its codec (a WHEP viewer's subscribeTo).
func (p *Participant) feedSlot(t *publishedTrack) {
	if t.publisher == p {
		return
	}
	p.mu.Lock()
	closed, slots := p.closed, p.slots
	p.mu.Unlock()
	if closed {
		return
	}
	for _, s := range slots {
		if s.kind != t.info.Kind || !strings.EqualFold(s.down.codec.MimeType, t.codec.MimeType) {
			continue
		}
		s.mu.Lock()
		if s.source != nil {
			s.mu.Unlock()
			return
		}
		if !t.attach(p.identity, s.down) {
			s.mu.Unlock()
			return // t was closed meanwhile
		}
		s.source = t
		s.mu.Unlock()
		s.down.resync(t.bestLayer(LayerHigh))
		p.log.Debug("WHEP slot fed", "slot", s.kind, "track", t.info.ID, "publisher", t.info.Publisher)
		return
	}
}

// starveSlot unbinds the slot fed by trackID and feeds it the next track
// of its kind, if any (a WHEP viewer's unsubscribeFrom).
func (p *Participant) starveSlot(trackID string) {
	p.mu.Lock()
	slots := p.slots
	p.mu.Unlock()
	for _, s := range slots {
		s.mu.Lock()
		src := s.source
		if src == nil || src.info.ID != trackID {
			s.mu.Unlock()
			continue
		}
		s.source = nil
		s.mu.Unlock()
		src.detach(p.identity, s.down)
		p.log.Debug("WHEP slot lost its source", "slot", s.kind, "track", trackID)
		for _, info := range p.room.Tracks() {
			if t, ok := p.room.track(info.ID); ok && info.ID != trackID && info.Kind == s.kind {
				p.feedSlot(t)
				if s.current() != nil {
					break
				}
			}
		}
	}
}

// readSlotRTCP relays a viewer's picture-loss requests to the slot's
// current source and answers its NACKs from the slot's downTrack (nack.go).
func (p *Participant) readSlotRTCP(s *whepSlot) {
	defer p.wg.Done()
	m := p.room.sfu.metrics
	reason := "picture loss reported by " + p.identity
	for {
		pkts, _, err := s.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pk := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if src := s.current(); src != nil {
					src.requestKeyframe(reason)
				}
			case *rtcp.TransportLayerNack:
				m.nacks.Inc()
				m.retransmitted.Add(float64(s.down.retransmit(pk)))
			}
		}
	}
}

// releaseSlots detaches every slot from its source (Close).
func (p *Participant) releaseSlots() {
	p.mu.Lock()
	slots := p.slots
	p.mu.Unlock()
	for _, s := range slots {
		s.mu.Lock()
		src := s.source
		s.source = nil
		s.mu.Unlock()
		if src != nil {
			src.detach(p.identity, s.down)
		}
	}
}

// resync makes the next keyframe of layer (from a new source) start the
// stream again: sequence numbers continue from the last packet sent and
// timestamps advance by the wall-clock time since now.
func (d *downTrack) resync(layer int) {
	d.mu.Lock()
	d.current, d.target, d.needKey = -1, layer, true
	d.resyncAt = time.Now()
	d.mu.Unlock()
}

// ErrNoSession: there is no negotiated session to restart.
var ErrNoSession = errors.New("no negotiated session yet")

// RestartICE restarts ICE for a WHIP or WHEP session (RFC 9725 §4.3.2,
// RFC 8839 §4.4.1.1.1): the client's new ufrag and pwd replace the old
// ones in its last offer, which is applied again (Pion restarts its ICE
// agent when the remote credentials change) and answered. It returns the
// new local description (new local ufrag, pwd and gathered candidates);
// the client's candidates follow with AddCandidate. Errors: ErrNoSession,
// or what Pion refuses.
func (p *Participant) RestartICE(ufrag, pwd string) (webrtc.SessionDescription, error) {
	p.sdpMu.Lock()
	remote := p.pc.RemoteDescription()
	p.sdpMu.Unlock()
	if remote == nil || p.pc.LocalDescription() == nil {
		return webrtc.SessionDescription{}, ErrNoSession
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.ReplaceAll(remote.SDP, "\r\n", "\n"), "\n") {
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			line = "a=ice-ufrag:" + ufrag
		case strings.HasPrefix(line, "a=ice-pwd:"):
			line = "a=ice-pwd:" + pwd
		case strings.HasPrefix(line, "a=candidate:"), line == "a=end-of-candidates":
			continue // the old agent's candidates
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	answer, err := p.HandleOffer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: b.String()})
	if err != nil {
		return webrtc.SessionDescription{}, err
	}
	p.log.Debug("ICE restarted")
	return answer, nil
}

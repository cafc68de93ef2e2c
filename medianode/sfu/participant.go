package sfu

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Kind is how a participant connected.
type Kind int

// Participant kinds.
const (
	// KindFull is a WebSocket participant: publishes, subscribes and
	// renegotiates.
	KindFull Kind = iota
	// KindWHIP is a WHIP (RFC 9725) ingest session: publish only.
	KindWHIP
	// KindWHEP is a WHEP playback session: subscribes to the tracks
	// published when it starts.
	KindWHEP
)

// Permissions are what a participant's grant allows.
type Permissions struct {
	CanPublish       bool
	CanPublishScreen bool
	CanSubscribe     bool
	CanPublishData   bool
	CanAdmin         bool
}

// Signal carries SFU-initiated signaling to a client. WHIP and WHEP
// sessions have none.
type Signal interface {
	SendOffer(webrtc.SessionDescription) error
	SendCandidate(webrtc.ICECandidateInit) error
	SendEvent(Event) error
	Close(reason string)
}

// Measurements receives a session's figures as they happen; the node
// turns them into a usage receipt.
type Measurements interface {
	AddIn(bytes int)
	AddOut(bytes int)
	ObserveLoss(newlyLost uint64)
	ObserveRTT(rtt time.Duration)
	ObserveJitter(jitter time.Duration)
}

// JoinParams describe a new session.
type JoinParams struct {
	Room        string
	Identity    string
	Name        string
	Role        string
	Permissions Permissions
	Kind        Kind
	// Signal is required for KindFull.
	Signal Signal
	// Data is opaque to the SFU (the node keeps grant and receipt data).
	Data any
}

// Participant is one session in a room, with one PeerConnection.
type Participant struct {
	room     *Room
	identity string
	name     string
	kind     Kind
	joinedAt time.Time
	pc       *webrtc.PeerConnection
	signal   Signal
	meter    Measurements
	data     any

	mu            sync.Mutex
	role          string
	perms         Permissions
	published     map[string]*publishedTrack
	subscriptions map[string]*subscription
	sources       map[string]TrackSource // announced sources by track ID
	dc            *webrtc.DataChannel
	negotiating   bool // an SFU offer awaits the answer
	pendingOffer  bool // renegotiate once the current exchange finishes
	closed        bool

	bytesIn, bytesOut atomic.Uint64
	done              chan struct{}
	wg                sync.WaitGroup
}

type subscription struct {
	track  *publishedTrack
	down   *downTrack
	sender *webrtc.RTPSender
	// maxLayer is the loss-based cap on the subscriber's layer.
	maxLayer  int
	requested int
	lastLost  uint32
	goodSince time.Time
}

// Join creates a participant and its PeerConnection and subscribes it to
// the room's published tracks (KindFull and KindWHEP). Errors:
// ErrTooManyRooms, ErrRoomFull, ErrClosed, or a WebRTC error.
func (s *SFU) Join(jp JoinParams) (*Participant, error) {
	if jp.Kind == KindFull && jp.Signal == nil {
		return nil, errors.New("sfu: a full participant needs a signal channel")
	}
	room, err := s.room(jp.Room, true)
	if err != nil {
		return nil, err
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("create peer connection: %w", err)
	}
	p := &Participant{
		room: room, identity: jp.Identity, name: jp.Name, kind: jp.Kind, joinedAt: time.Now(), pc: pc,
		signal: jp.Signal, data: jp.Data, role: jp.Role, perms: jp.Permissions,
		published: map[string]*publishedTrack{}, subscriptions: map[string]*subscription{}, sources: map[string]TrackSource{},
		done: make(chan struct{}),
	}
	if s.newMtr != nil {
		p.meter = s.newMtr(p)
	}
	p.installHandlers()
	if err := room.add(p); err != nil {
		_ = pc.Close()
		return nil, err
	}
	if jp.Kind != KindWHIP && p.perms.CanSubscribe {
		for _, info := range room.Tracks() {
			if t, ok := room.track(info.ID); ok && t.publisher != p {
				p.subscribeTo(t)
			}
		}
	}
	if jp.Kind == KindFull {
		room.broadcast(Event{Type: EventParticipantJoined, Participant: p.infoPtr()}, p.identity)
	}
	return p, nil
}

// Identity returns the participant's identity.
func (p *Participant) Identity() string { return p.identity }

// Room returns the participant's room.
func (p *Participant) Room() *Room { return p.room }

// Data returns the opaque value given at Join.
func (p *Participant) Data() any { return p.data }

// JoinedAt is when the session started.
func (p *Participant) JoinedAt() time.Time { return p.joinedAt }

// Done is closed when the participant has left.
func (p *Participant) Done() <-chan struct{} { return p.done }

// BytesIn and BytesOut are the session's RTP bytes from and to the client.
func (p *Participant) BytesIn() uint64 { return p.bytesIn.Load() }

// BytesOut returns the RTP bytes sent to the client.
func (p *Participant) BytesOut() uint64 { return p.bytesOut.Load() }

// Info describes the participant.
func (p *Participant) Info() ParticipantInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	info := ParticipantInfo{Identity: p.identity, Name: p.name, Role: p.role, JoinedAtUnixMs: p.joinedAt.UnixMilli(), Tracks: []TrackInfo{}}
	for _, t := range p.published {
		t.mu.RLock()
		info.Tracks = append(info.Tracks, t.info)
		t.mu.RUnlock()
	}
	return info
}

func (p *Participant) infoPtr() *ParticipantInfo { i := p.Info(); return &i }

// Permissions returns the participant's current permissions.
func (p *Participant) Permissions() (string, Permissions) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.role, p.perms
}

// SetPermissions changes role and permissions (host and admin actions).
// Losing publish permission unpublishes the participant's tracks.
func (p *Participant) SetPermissions(role string, perms Permissions) {
	p.mu.Lock()
	p.role, p.perms = role, perms
	var drop []*publishedTrack
	for _, t := range p.published {
		screen := t.info.Source == SourceScreen || t.info.Source == SourceScreenAudio
		if !perms.CanPublish || (screen && !perms.CanPublishScreen) {
			drop = append(drop, t)
		}
	}
	p.mu.Unlock()
	for _, t := range drop {
		p.room.unpublish(t)
	}
	p.room.broadcast(Event{Type: EventParticipantUpdated, Participant: p.infoPtr()}, "")
}

func (p *Participant) meterIn(n int) {
	p.bytesIn.Add(uint64(n))
	if p.meter != nil {
		p.meter.AddIn(n)
	}
}

func (p *Participant) meterOut(n int) {
	p.bytesOut.Add(uint64(n))
	if p.meter != nil {
		p.meter.AddOut(n)
	}
}

func (p *Participant) sendEvent(ev Event) {
	if p.signal != nil {
		_ = p.signal.SendEvent(ev)
	}
}

func (p *Participant) sendData(msg []byte) {
	p.mu.Lock()
	dc := p.dc
	p.mu.Unlock()
	if dc != nil && dc.ReadyState() == webrtc.DataChannelStateOpen {
		_ = dc.SendText(string(msg)) // the envelope is JSON text
	}
}

// audioLevelExtID returns the negotiated ID of the audio-level header
// extension on the participant's connection, 0 if none.
func (p *Participant) audioLevelExtID() uint8 {
	for _, tr := range p.pc.GetTransceivers() {
		if tr.Receiver() == nil {
			continue
		}
		for _, ext := range tr.Receiver().GetParameters().HeaderExtensions {
			if ext.URI == AudioLevelURI {
				return uint8(ext.ID)
			}
		}
	}
	return 0
}

func (p *Participant) installHandlers() {
	p.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil && p.signal != nil {
			_ = p.signal.SendCandidate(c.ToJSON())
		}
	})
	p.pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			go p.Close("connection " + st.String())
		}
	})
	p.pc.OnTrack(p.onTrack)
	p.pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		p.mu.Lock()
		p.dc = dc
		p.mu.Unlock()
		dc.OnMessage(func(m webrtc.DataChannelMessage) {
			p.mu.Lock()
			allowed := p.perms.CanPublishData
			p.mu.Unlock()
			if !allowed || len(m.Data) > p.room.sfu.limits.MaxDataMessageBytes {
				p.sendEvent(Event{Type: EventError, Message: fmt.Sprintf("data message refused: not permitted or larger than %d bytes", p.room.sfu.limits.MaxDataMessageBytes)})
				return
			}
			p.room.relayData(p.identity, m.Data)
		})
	})
}

// AnnounceTrack records the source (camera, microphone, screen) of a track
// the client is about to publish.
func (p *Participant) AnnounceTrack(trackID string, source TrackSource) {
	p.mu.Lock()
	p.sources[trackID] = source
	p.mu.Unlock()
}

func (p *Participant) onTrack(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	id := remote.ID()
	p.mu.Lock()
	if t, ok := p.published[id]; ok { // another simulcast layer
		p.mu.Unlock()
		t.addLayer(remote)
		return
	}
	source, announced := p.sources[id]
	if !announced {
		source = SourceCamera
		if remote.Kind() == webrtc.RTPCodecTypeAudio {
			source = SourceMicrophone
		}
	}
	refuse := ""
	switch {
	case p.closed:
		refuse = "closed"
	case !p.perms.CanPublish:
		refuse = "the grant does not allow publishing"
	case (source == SourceScreen || source == SourceScreenAudio) && !p.perms.CanPublishScreen:
		refuse = "the grant does not allow screen sharing"
	case len(p.published) >= p.room.sfu.limits.MaxTracksPerParticipant:
		refuse = fmt.Sprintf("at most %d tracks per participant", p.room.sfu.limits.MaxTracksPerParticipant)
	}
	if refuse != "" {
		p.mu.Unlock()
		p.sendEvent(Event{Type: EventError, Message: "track " + id + " refused: " + refuse})
		// Drain so the receiver does not block, without forwarding.
		go func() {
			for {
				if _, _, err := remote.ReadRTP(); err != nil {
					return
				}
			}
		}()
		return
	}
	kind := "video"
	if remote.Kind() == webrtc.RTPCodecTypeAudio {
		kind = "audio"
	}
	info := TrackInfo{ID: id, Publisher: p.identity, Kind: kind, Source: source, MimeType: remote.Codec().MimeType}
	t := newPublishedTrack(p, info, remote.Codec().RTPCodecCapability)
	p.published[id] = t
	p.mu.Unlock()
	t.addLayer(remote)
	p.room.publish(t)
}

// subscribeTo adds a downTrack of t to p's connection and renegotiates.
func (p *Participant) subscribeTo(t *publishedTrack) {
	p.mu.Lock()
	if p.closed || !p.perms.CanSubscribe || p.kind == KindWHIP {
		p.mu.Unlock()
		return
	}
	if _, ok := p.subscriptions[t.info.ID]; ok {
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	down := t.subscribe(p, LayerHigh)
	sender, err := p.pc.AddTrack(down)
	if err != nil {
		t.unsubscribe(p.identity)
		p.room.sfu.log.Warn("subscribe failed", "participant", p.identity, "track", t.info.ID, "err", err)
		return
	}
	sub := &subscription{track: t, down: down, sender: sender, maxLayer: LayerHigh, requested: LayerHigh}
	p.mu.Lock()
	p.subscriptions[t.info.ID] = sub
	p.mu.Unlock()
	p.wg.Add(1)
	go p.readSenderRTCP(sub)
	if p.kind == KindFull {
		p.negotiate()
	}
}

// unsubscribeFrom removes the subscription to a track and renegotiates.
func (p *Participant) unsubscribeFrom(trackID string) {
	p.mu.Lock()
	sub, ok := p.subscriptions[trackID]
	delete(p.subscriptions, trackID)
	closed := p.closed
	p.mu.Unlock()
	if !ok {
		return
	}
	sub.track.unsubscribe(p.identity)
	if !closed {
		_ = p.pc.RemoveTrack(sub.sender)
		if p.kind == KindFull {
			p.negotiate()
		}
	}
}

// SetLayer sets the simulcast layer the subscriber wants for a track.
func (p *Participant) SetLayer(trackID string, layer int) error {
	if layer < LayerLow || layer > LayerHigh {
		return fmt.Errorf("layer must be %d, %d or %d", LayerLow, LayerMedium, LayerHigh)
	}
	p.mu.Lock()
	sub, ok := p.subscriptions[trackID]
	if ok {
		sub.requested = layer
	}
	p.mu.Unlock()
	if !ok {
		return ErrTrackNotFound
	}
	p.applyLayer(sub)
	return nil
}

// applyLayer moves the downTrack to min(requested, loss cap), falling back
// to the layers the publisher actually sends.
func (p *Participant) applyLayer(sub *subscription) {
	p.mu.Lock()
	want := sub.requested
	if sub.maxLayer < want {
		want = sub.maxLayer
	}
	p.mu.Unlock()
	sub.down.SetWant(want)
	if sub.down.SetTargetLayer(sub.track.bestLayer(want)) {
		sub.track.requestKeyframe()
	}
}

// readSenderRTCP drains RTCP from one subscribed track: it relays picture
// loss (PLI, FIR) to the publisher, counts NACKs (answered by the NACK
// responder interceptor), and turns receiver reports (RFC 3550 §6.4.2)
// into loss, jitter and round-trip figures and the loss-based layer cap.
func (p *Participant) readSenderRTCP(sub *subscription) {
	defer p.wg.Done()
	m := p.room.sfu.metrics
	for {
		pkts, _, err := sub.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pk := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				sub.track.requestKeyframe()
			case *rtcp.TransportLayerNack:
				m.nacks.Inc()
			case *rtcp.ReceiverReport:
				for _, rr := range pk.Reports {
					p.onReceiverReport(sub, rr)
				}
			}
		}
	}
}

func (p *Participant) onReceiverReport(sub *subscription, rr rtcp.ReceptionReport) {
	clock := float64(sub.down.codec.ClockRate)
	if clock == 0 {
		clock = 90000
	}
	p.mu.Lock()
	newly := uint32(0)
	if rr.TotalLost > sub.lastLost {
		newly = rr.TotalLost - sub.lastLost
	}
	sub.lastLost = rr.TotalLost
	// Loss-based layer control: above 10% loss step down a layer; after
	// 10 s under 2% step back up.
	loss := float64(rr.FractionLost) / 256
	changed := false
	switch {
	case loss > 0.10 && sub.maxLayer > LayerLow:
		sub.maxLayer--
		sub.goodSince = time.Time{}
		changed = true
	case loss < 0.02:
		if sub.goodSince.IsZero() {
			sub.goodSince = time.Now()
		} else if time.Since(sub.goodSince) > 10*time.Second && sub.maxLayer < LayerHigh {
			sub.maxLayer++
			sub.goodSince = time.Now()
			changed = true
		}
	default:
		sub.goodSince = time.Time{}
	}
	p.mu.Unlock()
	if changed {
		p.applyLayer(sub)
	}
	if p.meter == nil {
		return
	}
	if newly > 0 {
		p.meter.ObserveLoss(uint64(newly))
	}
	p.meter.ObserveJitter(time.Duration(float64(rr.Jitter) / clock * float64(time.Second)))
	if rr.LastSenderReport != 0 {
		now := ntpMiddle32(time.Now())
		if units := now - rr.LastSenderReport - rr.Delay; units < 1<<31 {
			p.meter.ObserveRTT(time.Duration(uint64(units) * uint64(time.Second) / 65536))
		}
	}
}

// ntpMiddle32 is the middle 32 bits of the NTP timestamp of t (RFC 3550
// §4), the unit of LSR and DLSR.
func ntpMiddle32(t time.Time) uint32 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return uint32((secs<<32 | frac) >> 16)
}

// negotiate sends an SFU offer when the connection is stable, or marks
// one as pending.
func (p *Participant) negotiate() {
	p.mu.Lock()
	if p.closed || p.signal == nil {
		p.mu.Unlock()
		return
	}
	if p.negotiating || p.pc.SignalingState() != webrtc.SignalingStateStable {
		p.pendingOffer = true
		p.mu.Unlock()
		return
	}
	p.negotiating, p.pendingOffer = true, false
	p.mu.Unlock()
	offer, err := p.pc.CreateOffer(nil)
	if err == nil {
		err = p.pc.SetLocalDescription(offer)
	}
	if err != nil {
		p.mu.Lock()
		p.negotiating = false
		p.mu.Unlock()
		p.room.sfu.log.Warn("renegotiation failed", "participant", p.identity, "err", err)
		return
	}
	_ = p.signal.SendOffer(*p.pc.LocalDescription())
}

// HandleOffer applies a client offer and returns the answer. If an SFU
// offer is outstanding, the SFU (the polite peer) rolls it back and
// offers again afterwards. For WHIP and WHEP, the answer holds every ICE
// candidate (no trickle needed).
func (p *Participant) HandleOffer(offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	if offer.Type != webrtc.SDPTypeOffer {
		return webrtc.SessionDescription{}, fmt.Errorf("expected an offer, got %s", offer.Type)
	}
	p.mu.Lock()
	rolledBack := false
	if p.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
		// Pion parses the SDP even of a rollback: give it the pending offer.
		rb := webrtc.SessionDescription{Type: webrtc.SDPTypeRollback}
		if pending := p.pc.PendingLocalDescription(); pending != nil {
			rb.SDP = pending.SDP
		}
		if err := p.pc.SetLocalDescription(rb); err != nil {
			p.mu.Unlock()
			return webrtc.SessionDescription{}, fmt.Errorf("roll back the SFU offer: %w", err)
		}
		p.negotiating, rolledBack = false, true
	}
	p.mu.Unlock()
	if err := p.pc.SetRemoteDescription(offer); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("invalid offer: %w", err)
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("create answer: %w", err)
	}
	var gathered <-chan struct{}
	if p.kind != KindFull {
		gathered = webrtc.GatheringCompletePromise(p.pc)
	}
	if err := p.pc.SetLocalDescription(answer); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("set answer: %w", err)
	}
	if gathered != nil {
		select {
		case <-gathered:
		case <-time.After(5 * time.Second):
		}
	}
	p.mu.Lock()
	again := rolledBack || p.pendingOffer
	p.mu.Unlock()
	if again {
		go p.negotiate()
	}
	return *p.pc.LocalDescription(), nil
}

// HandleAnswer applies the client's answer to an SFU offer.
func (p *Participant) HandleAnswer(answer webrtc.SessionDescription) error {
	if answer.Type != webrtc.SDPTypeAnswer {
		return fmt.Errorf("expected an answer, got %s", answer.Type)
	}
	if p.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return errors.New("no offer is waiting for an answer")
	}
	if err := p.pc.SetRemoteDescription(answer); err != nil {
		return fmt.Errorf("invalid answer: %w", err)
	}
	p.mu.Lock()
	p.negotiating = false
	again := p.pendingOffer
	p.mu.Unlock()
	if again {
		p.negotiate()
	}
	return nil
}

// AddCandidate adds a trickled remote ICE candidate.
func (p *Participant) AddCandidate(c webrtc.ICECandidateInit) error {
	if err := p.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("invalid ICE candidate: %w", err)
	}
	return nil
}

// SetTrackMuted mutes or unmutes one of p's published tracks for every
// subscriber (no packets are forwarded while muted).
func (p *Participant) SetTrackMuted(trackID string, muted bool) error {
	p.mu.Lock()
	t, ok := p.published[trackID]
	p.mu.Unlock()
	if !ok {
		return ErrTrackNotFound
	}
	t.mu.Lock()
	t.info.Muted = muted
	for _, d := range t.down {
		d.muted.Store(muted)
	}
	info := t.info
	t.mu.Unlock()
	if !muted {
		t.requestKeyframe()
	}
	p.room.broadcast(Event{Type: EventTrackMuted, Track: &info}, "")
	return nil
}

// Close ends the session: it closes the connection (which ends every
// forwarding and RTCP goroutine), unpublishes its tracks, leaves the room
// and reports the session. Safe to call more than once.
func (p *Participant) Close(reason string) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	pubs := make([]*publishedTrack, 0, len(p.published))
	for _, t := range p.published {
		pubs = append(pubs, t)
	}
	subs := make([]*subscription, 0, len(p.subscriptions))
	for _, s := range p.subscriptions {
		subs = append(subs, s)
	}
	p.subscriptions = map[string]*subscription{}
	p.mu.Unlock()

	for _, s := range subs {
		s.track.unsubscribe(p.identity)
	}
	for _, t := range pubs {
		p.room.unpublish(t)
	}
	_ = p.pc.Close()
	for _, t := range pubs {
		t.wg.Wait()
	}
	p.wg.Wait()
	p.room.remove(p)
	if p.kind == KindFull {
		p.room.broadcast(Event{Type: EventParticipantLeft, Participant: &ParticipantInfo{Identity: p.identity, Name: p.name, Role: p.role}, Reason: reason}, p.identity)
	}
	if p.signal != nil {
		p.signal.Close(reason)
	}
	close(p.done)
	if p.room.sfu.onEnd != nil {
		p.room.sfu.onEnd(p)
	}
}

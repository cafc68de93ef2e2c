package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/chroom/chroom/noderpc"
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
	// KindRemote is a participant of another media node in a cascaded
	// room (cascade.go): it has no connection of its own; its tracks
	// arrive over a relay leg's PeerConnection. It is not a session of
	// this node (no grant, no receipt, no session events).
	KindRemote
)

// Permissions are what a participant's grant allows.
type Permissions struct {
	CanPublish       bool
	CanPublishScreen bool
	CanSubscribe     bool
	CanPublishData   bool
	CanAdmin         bool
	// CanPublishSources, if not empty, are the only sources the
	// participant may publish (the flags above still apply).
	CanPublishSources []TrackSource
	// Hidden: the others are not told of the participant (no participant
	// events, not in their rosters); it may watch and listen but not
	// publish media or data, which would reveal it.
	Hidden bool
}

// allowsSource reports whether perms allow publishing a track of source.
func (perms Permissions) allowsSource(source TrackSource) bool {
	if !perms.CanPublish || perms.Hidden {
		return false
	}
	if (source == SourceScreen || source == SourceScreenAudio) && !perms.CanPublishScreen {
		return false
	}
	return len(perms.CanPublishSources) == 0 || slices.Contains(perms.CanPublishSources, source)
}

// Signal carries SFU-initiated signaling to a client. WHIP and WHEP
// sessions have none.
type Signal interface {
	SendOffer(webrtc.SessionDescription) error
	// SendAnswer carries the answer to a client offer. The SFU calls it
	// before any offer of its own that follows, so the client always sees
	// the answer to its offer first.
	SendAnswer(webrtc.SessionDescription) error
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
	Room     string
	Identity string
	// GrantID is the join grant's jti: one live session per grant.
	GrantID string
	// GrantExpiry is when the grant expires (how long a revocation lasts).
	GrantExpiry time.Time
	// Issuer is the node ID of the orchestrator that signed the grant:
	// only the room's issuers may administer it (Room.IssuedBy).
	Issuer      string
	Name        string
	Role        string
	Permissions Permissions
	Kind        Kind
	// Signal is required for KindFull.
	Signal Signal
	// Data is opaque to the SFU (the node keeps grant and receipt data).
	Data any
	// AudioOnly: the session receives no video (an audio-only listener);
	// SetVideoReceive changes it later.
	AudioOnly bool
	// AudioSpace: the session is in an audio space (the grant's
	// audio_only): it may publish audio only and never receives video
	// (SetVideoReceive cannot turn video on).
	AudioSpace bool
	// Relay makes a KindFull session a cascade relay leg (cascade.go):
	// another media node receiving this room's local tracks, data and
	// events. The room must be open here (ErrRoomNotFound otherwise).
	Relay bool
}

// Participant is one session in a room, with one PeerConnection.
type Participant struct {
	room     *Room
	identity string
	name     string
	kind     Kind
	joinedAt time.Time
	// relay is set for a cascade relay leg (JoinParams.Relay).
	relay  bool
	pc     *webrtc.PeerConnection
	signal Signal
	// sw is signal for a full participant: the swappable connection
	// (resume.go); detach its state while the connection is lost.
	sw     *switchSignal
	detach detachState
	meter  Measurements
	data   any
	log    *slog.Logger // room and participant attached; debug records the negotiation

	grantID     string
	grantExpiry time.Time
	issuer      string

	// sdpMu serializes every change to the PeerConnection's descriptions
	// and transceivers (AddTrack, CreateOffer, rollback, answers), so an
	// SFU offer never interleaves with a client offer being answered.
	sdpMu  sync.Mutex
	midSeq int // the next SFU-assigned mid is "sfu<midSeq>"
	// connected is set once ICE and DTLS are up: SRTP writes before that
	// are dropped by Pion without an error.
	connected atomic.Bool

	mu            sync.Mutex
	role          string
	perms         Permissions
	published     map[string]*publishedTrack
	subscriptions map[string]*subscription
	subscribing   map[string]bool // track IDs whose subscription is being set up (subscribeTo)
	// onLayers, for a remote participant, carries its tracks' dynacast
	// (which simulcast layers this node needs) to its relay leg.
	onLayers     func(trackID string, layers []bool)
	sources      map[string]TrackSource // announced sources by track ID
	metadata     string                 // the app's (UpdateInfo)
	attributes   map[string]string      // the app's (UpdateInfo)
	unsubscribed map[string]bool        // track IDs the app unsubscribed it from (SetSubscribed)
	slots        []*whepSlot            // a WHEP viewer's server-side tracks (whep.go)
	noVideo      bool                   // receives no video (JoinParams.AudioOnly, SetVideoReceive)
	audioSpace   bool                   // JoinParams.AudioSpace: audio in and out only
	hostMuted    map[TrackSource]bool   // sources the host muted (HostMuteTrack)
	dc           *webrtc.DataChannel
	negotiating  bool // an SFU offer awaits the answer
	pendingOffer bool // renegotiate once the current exchange finishes
	// clientOffered is set once a client offer has been answered. Until
	// then the SFU does not offer (see negotiate).
	clientOffered bool
	iceRestart    bool // the next SFU offer restarts ICE
	closed        bool

	// bwe estimates the downlink towards this participant (engine.go);
	// nil without one. realloc kicks the allocation loop (streamalloc.go).
	bwe     cc.BandwidthEstimator
	realloc chan struct{}
	// stop is closed when Close starts, ending the allocation loop.
	stop chan struct{}

	bytesIn, bytesOut atomic.Uint64
	done              chan struct{}
	wg                sync.WaitGroup
}

type subscription struct {
	track  *publishedTrack
	down   *downTrack
	sender *webrtc.RTPSender
	// key is the downTrack's key in track.down: the subscriber's identity,
	// or for a relay leg's layer "<identity>~<rid>" (cascade.go).
	key string
	// requested is the layer the client asked for (SetLayer: its tile
	// size), LayerOff for none; the allocator gives at most that.
	requested int
	lastLost  uint32
}

// Join creates a participant and its PeerConnection and subscribes it to
// the room's published tracks (KindFull and KindWHEP). A session with the
// grant and identity of a live KindFull session in the room replaces it
// (a reconnect). Errors: ErrGrantRevoked, ErrGrantInUse,
// ErrIdentityInUse, ErrTooManyRooms, ErrRoomFull, ErrClosed, or a WebRTC
// error.
func (s *SFU) Join(jp JoinParams) (*Participant, error) {
	if jp.Kind == KindFull && jp.Signal == nil {
		return nil, errors.New("sfu: a full participant needs a signal channel")
	}
	if jp.Relay && jp.Kind != KindFull {
		return nil, errors.New("sfu: a relay leg is a full (WebSocket) session")
	}
	if err := s.checkGrant(jp.GrantID, jp.Room, jp.Identity, jp.Kind); err != nil {
		return nil, err
	}
	// A relay leg serves this node's participants of an open room; it
	// never opens one (a room ends when its last local participant goes).
	room, err := s.room(jp.Room, !jp.Relay)
	if err != nil {
		return nil, err
	}
	api := s.api
	if jp.Kind != KindFull {
		api = s.viewer
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("create peer connection: %w", err)
	}
	p := &Participant{
		room: room, identity: jp.Identity, name: jp.Name, kind: jp.Kind, relay: jp.Relay, joinedAt: time.Now(), pc: pc,
		signal: jp.Signal, data: jp.Data, role: jp.Role, perms: jp.Permissions,
		log:     s.log.With("room", jp.Room, "participant", jp.Identity),
		grantID: jp.GrantID, grantExpiry: jp.GrantExpiry, issuer: jp.Issuer,
		published: map[string]*publishedTrack{}, subscriptions: map[string]*subscription{}, sources: map[string]TrackSource{},
		hostMuted: map[TrackSource]bool{}, noVideo: jp.AudioOnly || jp.AudioSpace, audioSpace: jp.AudioSpace,
		bwe: takeEstimator(pc), realloc: make(chan struct{}, 1), stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	if jp.Kind == KindFull {
		p.sw = &switchSignal{}
		p.sw.set(jp.Signal)
		p.signal = p.sw
	}
	if s.newMtr != nil {
		p.meter = s.newMtr(p)
	}
	if jp.Kind == KindFull && !jp.Relay {
		// A relay leg takes every track at its best layer: the other
		// node's subscribers choose from what it forwards.
		p.wg.Add(1)
		go p.allocationLoop(p.bwe)
	}
	p.installHandlers()
	if err := room.add(p); err != nil {
		_ = pc.Close()
		return nil, err
	}
	s.trackGrant(p)
	p.sessionEvent(noderpc.SessionJoined, nil, "")
	if jp.Kind == KindWHEP && p.perms.CanSubscribe {
		if err := p.addWHEPSlots(); err != nil {
			p.Close("WHEP setup failed: " + err.Error())
			return nil, fmt.Errorf("add WHEP tracks: %w", err)
		}
	}
	if jp.Kind == KindFull && p.perms.CanSubscribe {
		for _, info := range room.Tracks() {
			if t, ok := room.track(info.ID); ok && t.publisher != p && p.mayReceiveFrom(t.publisher) {
				p.subscribeTo(t)
			}
		}
	}
	if jp.Kind == KindFull && !jp.Relay && !jp.Permissions.Hidden { // relay legs and hidden sessions are not shown to participants
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
	info := ParticipantInfo{Identity: p.identity, Name: p.name, Role: p.role, JoinedAtUnixMs: p.joinedAt.UnixMilli(), Tracks: []TrackInfo{},
		Metadata: p.metadata, Attributes: maps.Clone(p.attributes)}
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
	wasHidden := p.perms.Hidden
	p.role, p.perms = role, perms
	var drop []*publishedTrack
	for _, t := range p.published {
		if !perms.allowsSource(t.info.Source) {
			drop = append(drop, t)
		}
	}
	p.mu.Unlock()
	for _, t := range drop {
		p.room.unpublish(t)
	}
	info := p.infoPtr()
	switch {
	case perms.Hidden && !wasHidden: // gone from the others' view
		p.room.broadcast(Event{Type: EventParticipantLeft, Participant: &ParticipantInfo{Identity: p.identity, Name: info.Name, Role: role}, Reason: "hidden"}, p.identity)
		p.sendEvent(Event{Type: EventParticipantUpdated, Participant: info})
	case !perms.Hidden && wasHidden: // shown: the others see it join
		p.room.broadcast(Event{Type: EventParticipantJoined, Participant: info}, p.identity)
		p.sendEvent(Event{Type: EventParticipantUpdated, Participant: info})
	case perms.Hidden:
		p.sendEvent(Event{Type: EventParticipantUpdated, Participant: info})
	default:
		p.room.broadcast(Event{Type: EventParticipantUpdated, Participant: info, remote: p.kind == KindRemote}, "")
	}
}

// hidden reports whether the participant is hidden from the others.
func (p *Participant) hidden() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.perms.Hidden
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
	if p.kind == KindRemote {
		p.mu.Lock()
		fn := p.onLayers
		p.mu.Unlock()
		if fn != nil && ev.Type == EventPublisherLayers {
			fn(ev.TrackID, ev.Layers) // the serving node pauses the layers nobody here needs
		}
		return
	}
	if p.relay && (ev.remote || ev.Type == EventSpeakers) {
		// A relay leg carries only this node's own participants (the
		// other node hears the speakers itself): nothing loops back.
		return
	}
	if p.signal != nil {
		_ = p.signal.SendEvent(ev)
	}
}

func (p *Participant) sendData(msg []byte) bool {
	p.mu.Lock()
	dc := p.dc
	p.mu.Unlock()
	if dc != nil && dc.ReadyState() == webrtc.DataChannelStateOpen {
		return dc.SendText(string(msg)) == nil // the envelope is JSON text
	}
	return false
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
	if sctp := p.pc.SCTP(); sctp != nil && sctp.Transport() != nil && sctp.Transport().ICETransport() != nil {
		sctp.Transport().ICETransport().OnSelectedCandidatePairChange(func(pair *webrtc.ICECandidatePair) {
			if pair != nil && pair.Local != nil && pair.Remote != nil {
				p.log.Debug("ice path selected", "local", pair.Local.String(), "remote", pair.Remote.String())
			}
		})
	}
	p.pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		p.log.Debug("ice state", "state", st.String())
		if st == webrtc.ICEConnectionStateDisconnected && p.kind == KindFull {
			// The path went quiet. If it stays so, restart ICE from this
			// side: a browser that moved to a lower-priority path (ICE-TCP,
			// a relay, a new interface) nominates it, but a full ICE agent
			// (Pion) keeps its higher-priority selected pair (RFC 8445
			// §7.3.1.5 leaves renomination out), so only a restart moves
			// the node's side. The client restarts too when it sees the
			// failure; the two offers resolve as any glare does.
			time.AfterFunc(ICERestartAfter, func() {
				if p.pc.ICEConnectionState() == webrtc.ICEConnectionStateDisconnected {
					p.restartICE()
				}
			})
		}
	})
	if sctp := p.pc.SCTP(); sctp != nil && sctp.Transport() != nil {
		sctp.Transport().OnStateChange(func(st webrtc.DTLSTransportState) {
			p.log.Debug("dtls state", "state", st.String())
		})
	}
	p.pc.OnSignalingStateChange(func(st webrtc.SignalingState) {
		p.log.Debug("signaling state", "state", st.String())
	})
	p.pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		p.log.Debug("connection state", "state", st.String())
		switch st {
		case webrtc.PeerConnectionStateConnected:
			go p.onConnected()
		case webrtc.PeerConnectionStateFailed:
			go p.Close("connection failed")
		case webrtc.PeerConnectionStateClosed:
			// The client closed its connection (DTLS close_notify), as a
			// leaving client does — possibly before its "leave" arrives
			// on the WebSocket: a leave, not an abort.
			go p.Close("left")
		}
	})
	p.pc.OnTrack(p.onTrack)
	p.pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		p.mu.Lock()
		p.dc = dc
		p.mu.Unlock()
		dc.OnMessage(func(m webrtc.DataChannelMessage) {
			p.mu.Lock()
			allowed := p.perms.CanPublishData && !p.perms.Hidden
			p.mu.Unlock()
			if !allowed || len(m.Data) > p.room.sfu.limits.MaxDataMessageBytes {
				p.sendEvent(Event{Type: EventError, Code: "data_refused", Message: fmt.Sprintf("data message refused: not permitted or larger than %d bytes", p.room.sfu.limits.MaxDataMessageBytes)})
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
	case !p.perms.allowsSource(source):
		refuse = "the grant does not allow publishing the " + string(source)
	case p.audioSpace && remote.Kind() != webrtc.RTPCodecTypeAudio:
		refuse = "the room is an audio space: audio only"
	case p.hostMuted[source]:
		refuse = "the host muted your " + string(source)
	case len(p.published) >= p.room.sfu.limits.MaxTracksPerParticipant:
		refuse = fmt.Sprintf("at most %d tracks per participant", p.room.sfu.limits.MaxTracksPerParticipant)
	}
	if refuse != "" {
		p.mu.Unlock()
		p.sendEvent(Event{Type: EventError, Code: "track_refused", TrackID: id, Message: "track " + id + " refused: " + refuse})
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
	if p.kind == KindWHEP {
		p.feedSlot(t)
		return
	}
	p.mu.Lock()
	if p.closed || !p.perms.CanSubscribe || p.kind == KindWHIP || p.kind == KindRemote {
		p.mu.Unlock()
		return
	}
	subKey := t.info.ID
	layered := p.relay && t.info.Kind == "video"
	if layered {
		subKey = RelayLayerTrackID(t.info.ID, LayerHigh)
	}
	if _, ok := p.subscriptions[subKey]; ok || p.subscribing[t.info.ID] || (p.noVideo && t.info.Kind == "video") || p.unsubscribed[t.info.ID] {
		p.mu.Unlock()
		return
	}
	// Reserve the track: a join's subscription to the room's tracks and
	// the room's publish of a new one may both get here for the same
	// track; a second transceiver for it would repeat its a=msid, which
	// browsers refuse ("Duplicate a=msid lines detected").
	if p.subscribing == nil {
		p.subscribing = map[string]bool{}
	}
	p.subscribing[t.info.ID] = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.subscribing, t.info.ID)
		p.mu.Unlock()
	}()
	if layered {
		p.subscribeRelayLayers(t)
		return
	}
	down := t.subscribe(p, LayerHigh)
	p.sdpMu.Lock()
	sender, err := p.pc.AddTrack(down)
	mid := ""
	if err == nil && p.kind == KindFull {
		mid, err = p.claimMid(sender)
	}
	p.sdpMu.Unlock()
	if err != nil {
		t.unsubscribe(p.identity)
		p.log.Warn("subscribe failed", "track", t.info.ID, "err", err)
		return
	}
	p.log.Debug("subscribed", "track", t.info.ID, "publisher", t.info.Publisher, "kind", t.info.Kind, "mid", mid)
	sub := &subscription{track: t, down: down, sender: sender, requested: LayerHigh, key: p.identity}
	p.mu.Lock()
	p.subscriptions[t.info.ID] = sub
	p.mu.Unlock()
	p.wg.Add(1)
	go p.readSenderRTCP(sub)
	p.kick()
	if p.kind == KindFull {
		p.negotiate()
	}
}

// unsubscribeFrom removes the subscription to a track and renegotiates.
func (p *Participant) unsubscribeFrom(trackID string) {
	if p.kind == KindWHEP {
		p.starveSlot(trackID)
		return
	}
	p.mu.Lock()
	var subs []*subscription // one, or a relay leg's one per layer
	for key, s := range p.subscriptions {
		if s.track.info.ID == trackID {
			subs = append(subs, s)
			delete(p.subscriptions, key)
		}
	}
	closed := p.closed
	p.mu.Unlock()
	if len(subs) == 0 {
		return
	}
	for _, sub := range subs {
		sub.track.unsubscribe(sub.key)
	}
	p.log.Debug("unsubscribed", "track", trackID)
	if !closed {
		p.sdpMu.Lock()
		for _, sub := range subs {
			_ = p.pc.RemoveTrack(sub.sender)
		}
		p.sdpMu.Unlock()
		if p.kind == KindFull {
			p.negotiate()
		}
	}
}

// SetVideoReceive turns the session's video reception on or off: off
// unsubscribes every video track (an audio-only listener downloads no
// video at all, not just a paused one); on subscribes to the room's video
// tracks again. Both renegotiate.
func (p *Participant) SetVideoReceive(on bool) {
	p.mu.Lock()
	if p.audioSpace {
		on = false // an audio space's sessions receive no video
	}
	changed := p.noVideo == on
	p.noVideo = !on
	var drop []string
	if !on {
		for id, s := range p.subscriptions {
			if s.track.info.Kind == "video" {
				drop = append(drop, id)
			}
		}
	}
	p.mu.Unlock()
	if !changed {
		return
	}
	for _, id := range drop {
		p.unsubscribeFrom(id)
	}
	if on {
		for _, info := range p.room.Tracks() {
			if t, ok := p.room.track(info.ID); ok && info.Kind == "video" && t.publisher != p {
				p.subscribeTo(t)
			}
		}
	}
}

// Limits of UpdateInfo.
const (
	MaxMetadataBytes  = 4096
	MaxAttributes     = 32
	MaxAttributeBytes = 256 // a key or a value
)

// UpdateInfo changes the participant's display name (name non-nil),
// metadata (metadata non-nil) and attributes (merged; an empty value
// deletes the key), tells the room (participant_updated) and returns the
// participant as it is now. Errors: a field past its limit (the name
// 128 bytes, metadata 4096, 32 attributes of 256-byte keys and values).
func (p *Participant) UpdateInfo(name, metadata *string, attrs map[string]string) (ParticipantInfo, error) {
	if name != nil && len(*name) > 128 {
		return ParticipantInfo{}, fmt.Errorf("name: at most 128 bytes")
	}
	if metadata != nil && len(*metadata) > MaxMetadataBytes {
		return ParticipantInfo{}, fmt.Errorf("metadata: at most %d bytes", MaxMetadataBytes)
	}
	for k, v := range attrs {
		if k == "" || len(k) > MaxAttributeBytes || len(v) > MaxAttributeBytes {
			return ParticipantInfo{}, fmt.Errorf("attribute %q: keys of 1-%d bytes, values of at most %d", k, MaxAttributeBytes, MaxAttributeBytes)
		}
	}
	p.mu.Lock()
	if name != nil {
		p.name = *name
	}
	if metadata != nil {
		p.metadata = *metadata
	}
	next := maps.Clone(p.attributes)
	if next == nil {
		next = map[string]string{}
	}
	for k, v := range attrs {
		if v == "" {
			delete(next, k)
		} else {
			next[k] = v
		}
	}
	if len(next) > MaxAttributes {
		p.mu.Unlock()
		return ParticipantInfo{}, fmt.Errorf("attributes: at most %d", MaxAttributes)
	}
	p.attributes = next
	p.mu.Unlock()
	info := p.Info()
	if p.hidden() {
		p.sendEvent(Event{Type: EventParticipantUpdated, Participant: &info})
	} else {
		p.room.broadcast(Event{Type: EventParticipantUpdated, Participant: &info, remote: p.kind == KindRemote}, "")
	}
	return info, nil
}

// SetSubscribed subscribes the participant to the tracks trackIDs (on)
// or unsubscribes it from them (off). An unsubscribed track stays so —
// also when it is published again — until subscribed again; subscribing
// to a track that is not published only lifts that. Both renegotiate.
func (p *Participant) SetSubscribed(trackIDs []string, on bool) {
	p.mu.Lock()
	if p.unsubscribed == nil {
		p.unsubscribed = map[string]bool{}
	}
	var drop []string
	for _, id := range trackIDs {
		if on {
			delete(p.unsubscribed, id)
			continue
		}
		p.unsubscribed[id] = true
		for key, s := range p.subscriptions {
			if s.track.info.ID == id {
				drop = append(drop, key)
			}
		}
	}
	p.mu.Unlock()
	for _, key := range drop {
		p.unsubscribeFrom(key)
	}
	if on {
		for _, id := range trackIDs {
			if t, ok := p.room.track(id); ok && t.publisher != p && p.mayReceiveFrom(t.publisher) {
				p.subscribeTo(t)
			}
		}
	}
}

// SetLayer sets the highest simulcast layer the subscriber wants for a
// track (LayerLow … LayerHigh; LayerOff for none, an invisible tile);
// the allocator gives at most that, within the subscriber's estimated
// bandwidth. Errors: a layer out of range, ErrTrackNotFound.
func (p *Participant) SetLayer(trackID string, layer int) error {
	if layer < LayerOff || layer > LayerHigh {
		return fmt.Errorf("layer must be %d (off), %d, %d or %d", LayerOff, LayerLow, LayerMedium, LayerHigh)
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
	p.kick()
	return nil
}

// readSenderRTCP drains RTCP from one subscribed track: it relays picture
// loss (PLI, FIR) to the publisher, answers NACKs from the downTrack's
// history (nack.go), and turns receiver reports (RFC 3550 §6.4.2)
// into loss, jitter and round-trip figures. Layers follow the bandwidth
// estimate (streamalloc.go), which accounts for loss too.
func (p *Participant) readSenderRTCP(sub *subscription) {
	defer p.wg.Done()
	m := p.room.sfu.metrics
	pliReason := "picture loss reported by " + p.identity
	for {
		pkts, _, err := sub.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pk := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				sub.track.requestKeyframe(pliReason)
			case *rtcp.TransportLayerNack:
				m.nacks.Inc()
				m.retransmitted.Add(float64(sub.down.retransmit(pk)))
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
	p.mu.Unlock()
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

// claimMid gives the transceiver of an SFU-added sender a mid of its own
// ("sfu0", "sfu1", …) before any offer names it; the caller holds sdpMu.
// Pion, like browsers, numbers mids "0", "1", …; a client whose mids are
// not reset when its offer is refused or rolled back (Pion-based clients
// keep every mid CreateOffer assigned) would otherwise bind the SFU's
// m-section to its own send-only transceiver by mid (RFC 8843 §9.2) and
// never receive that track. A namespace no client uses cannot collide.
// WHEP sessions are left alone: their client offers first and Pion
// matches its m-sections to transceivers that have no mid yet.
func (p *Participant) claimMid(sender *webrtc.RTPSender) (string, error) {
	for _, tr := range p.pc.GetTransceivers() {
		if tr.Sender() != sender {
			continue
		}
		if mid := tr.Mid(); mid != "" {
			return mid, nil // a reused transceiver keeps its negotiated mid
		}
		mid := fmt.Sprintf("sfu%d", p.midSeq)
		p.midSeq++
		return mid, tr.SetMid(mid)
	}
	return "", errors.New("the new track's transceiver is missing")
}

// onConnected runs once ICE and DTLS are up: downTracks may now write
// (earlier SRTP writes are dropped silently), so every bound video
// subscription asks its publisher for a keyframe to start from.
func (p *Participant) onConnected() {
	if p.connected.Swap(true) {
		return
	}
	p.mu.Lock()
	subs := make([]*subscription, 0, len(p.subscriptions))
	for _, s := range p.subscriptions {
		subs = append(subs, s)
	}
	p.mu.Unlock()
	for _, s := range subs {
		// A downTrack not bound yet asks on its first packet once bound;
		// asking now would spend the publisher's keyframe (and its
		// browser's ~300 ms keyframe spacing) on nobody.
		if s.track.info.Kind == "video" && s.down.isBound() {
			s.track.requestKeyframe("subscriber connected")
		}
	}
}

// negotiate sends an SFU offer when the connection is stable, or marks
// one as pending.
func (p *Participant) negotiate() {
	p.sdpMu.Lock()
	defer p.sdpMu.Unlock()
	p.mu.Lock()
	if p.closed || p.signal == nil {
		p.mu.Unlock()
		return
	}
	if !p.clientOffered {
		// The client's first offer sets the session's RTP header
		// extension IDs (and codecs' payload types). An SFU offer first
		// would impose Pion's IDs, which differ from Chromium's; Chromium
		// then fails its own next offer ("A BUNDLE group contains a codec
		// collision for header extension id=5", or "RTP extension ID
		// reassignment not supported" after a rollback) and never
		// publishes: the other person never sees the video. Every web
		// client offers at once on joining (it opens its data channel).
		p.pendingOffer = true
		p.mu.Unlock()
		p.log.Debug("offer deferred until the client's first offer")
		return
	}
	if p.negotiating || p.pc.SignalingState() != webrtc.SignalingStateStable {
		p.pendingOffer = true
		p.mu.Unlock()
		p.log.Debug("offer deferred", "signaling", p.pc.SignalingState().String())
		return
	}
	p.negotiating, p.pendingOffer = true, false
	restart := p.iceRestart
	p.iceRestart = false
	p.mu.Unlock()
	var opts *webrtc.OfferOptions
	if restart {
		opts = &webrtc.OfferOptions{ICERestart: true}
		p.log.Debug("ice restart offered")
	}
	offer, err := p.pc.CreateOffer(opts)
	if err == nil {
		err = p.pc.SetLocalDescription(offer)
	}
	if err != nil {
		p.mu.Lock()
		p.negotiating = false
		p.mu.Unlock()
		p.log.Warn("renegotiation failed", "err", err)
		return
	}
	local := *p.pc.LocalDescription()
	p.log.Debug("offer sent", "sections", sections(local.SDP))
	_ = p.signal.SendOffer(local)
}

// ICERestartAfter is how long a full participant's ICE may stay
// disconnected before the node offers an ICE restart (RFC 8445 §9).
const ICERestartAfter = 2 * time.Second

// restartICE sends (or queues) an SFU offer that restarts ICE.
func (p *Participant) restartICE() {
	p.mu.Lock()
	p.iceRestart = true
	p.mu.Unlock()
	p.negotiate()
}

// ErrGlare refuses a client offer that crossed an SFU offer (both sides
// offered at once). The SFU is the impolite peer of W3C WebRTC's "perfect
// negotiation" (webrtc-pc §10.7): it keeps its own offer; the client,
// polite, rolls its offer back when the SFU's arrives, answers it, and
// offers again. Pion cannot roll back a local offer, so the roles are not
// the other way round.
var ErrGlare = errors.New("glare: the node's offer is pending; answer it, then offer again")

// HandleOffer applies a client offer and returns the answer; for a
// KindFull participant it also sends the answer over its Signal, ahead of
// any SFU offer that follows (the SFU offers right after answering when a
// subscription changed meanwhile). Errors: ErrGlare while an SFU offer
// awaits its answer, a wrong type, an offer Pion rejects.
func (p *Participant) HandleOffer(offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	if offer.Type != webrtc.SDPTypeOffer {
		return webrtc.SessionDescription{}, fmt.Errorf("expected an offer, got %s", offer.Type)
	}
	answer, again, err := p.answerOffer(offer)
	if err != nil {
		p.log.Debug("client offer refused", "err", err)
		return webrtc.SessionDescription{}, err
	}
	if again {
		p.negotiate()
	}
	return answer, nil
}

func (p *Participant) answerOffer(offer webrtc.SessionDescription) (webrtc.SessionDescription, bool, error) {
	p.sdpMu.Lock()
	defer p.sdpMu.Unlock()
	p.log.Debug("client offer received", "signaling", p.pc.SignalingState().String(), "sections", sections(offer.SDP))
	if p.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
		return webrtc.SessionDescription{}, false, ErrGlare
	}
	offer.SDP = withoutSimulcastPauses(offer.SDP)
	if err := p.pc.SetRemoteDescription(offer); err != nil {
		return webrtc.SessionDescription{}, false, fmt.Errorf("invalid offer: %w", err)
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return webrtc.SessionDescription{}, false, fmt.Errorf("create answer: %w", err)
	}
	var gathered <-chan struct{}
	if p.kind != KindFull {
		gathered = webrtc.GatheringCompletePromise(p.pc)
	}
	if err := p.pc.SetLocalDescription(answer); err != nil {
		return webrtc.SessionDescription{}, false, fmt.Errorf("set answer: %w", err)
	}
	if gathered != nil {
		select {
		case <-gathered:
		case <-time.After(5 * time.Second):
		}
	}
	local := *p.pc.LocalDescription()
	p.log.Debug("answer sent", "sections", sections(local.SDP))
	if p.kind == KindFull && p.signal != nil {
		if err := p.signal.SendAnswer(local); err != nil {
			return webrtc.SessionDescription{}, false, fmt.Errorf("send answer: %w", err)
		}
	}
	p.mu.Lock()
	p.clientOffered = true
	again := p.pendingOffer
	p.mu.Unlock()
	return local, again, nil
}

// HandleAnswer applies the client's answer to an SFU offer.
func (p *Participant) HandleAnswer(answer webrtc.SessionDescription) error {
	if answer.Type != webrtc.SDPTypeAnswer {
		return fmt.Errorf("expected an answer, got %s", answer.Type)
	}
	p.sdpMu.Lock()
	if p.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		p.sdpMu.Unlock()
		p.log.Debug("answer without an offer", "signaling", p.pc.SignalingState().String())
		return errors.New("no offer is waiting for an answer")
	}
	answer.SDP = withoutSimulcastPauses(answer.SDP)
	if err := p.pc.SetRemoteDescription(answer); err != nil {
		p.sdpMu.Unlock()
		return fmt.Errorf("invalid answer: %w", err)
	}
	p.log.Debug("answer received", "sections", sections(answer.SDP))
	p.mu.Lock()
	p.negotiating = false
	again := p.pendingOffer
	p.mu.Unlock()
	p.sdpMu.Unlock()
	if again {
		p.negotiate()
	}
	return nil
}

// withoutSimulcastPauses returns sdp with the pause marks ("~") of its
// a=simulcast lines removed (RFC 8853 §5.1: "send ~q;h" sends h, q is
// paused). Chromium marks the encodings dynacast turned off as paused in
// every description it writes; Pion keeps that state from the remote
// description and repeats it in every offer it makes afterwards
// ("a=simulcast:recv ~q;~h;~f" — SettingEngine.SetIgnoreRidPauseForRecv
// covers answers only: pion/webrtc v4.2.20–v4.2.26 CreateOffer passes
// false), and Chromium applies a remote pause to its encodings. So each
// renegotiation after a layer had been paused turned the publisher's
// layers off again, overriding dynacast's later publisher_layers, and a
// camera stayed off for everyone (the cascade e2e test's "bob decodes
// alice again", 1 run in 3). Which layers a publisher sends is
// dynacast's business alone, so the node never learns a pause from SDP.
// Lines other than a=simulcast are returned unchanged.
func withoutSimulcastPauses(sdp string) string {
	if !strings.Contains(sdp, "a=simulcast:") || !strings.Contains(sdp, "~") {
		return sdp
	}
	lines := strings.SplitAfter(sdp, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "a=simulcast:") {
			lines[i] = strings.ReplaceAll(l, "~", "")
		}
	}
	return strings.Join(lines, "")
}

// sections is an SDP as its debug-log summary: the m-sections as
// "mid:kind:direction[:track]" joined by spaces, a port-0 m-section as
// "rejected". It is a slog.LogValuer, so the SDP is parsed (pion/sdp)
// only when a debug record is actually written.
type sections string

// LogValue implements slog.LogValuer.
func (s sections) LogValue() slog.Value {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(string(s)); err != nil {
		return slog.StringValue("unparsable SDP: " + err.Error())
	}
	out := make([]string, 0, len(d.MediaDescriptions))
	for _, m := range d.MediaDescriptions {
		mid, _ := m.Attribute("mid")
		dir := "sendrecv"
		for _, a := range []string{"sendrecv", "sendonly", "recvonly", "inactive"} {
			if _, ok := m.Attribute(a); ok {
				dir = a
			}
		}
		if m.MediaName.Port.Value == 0 {
			dir = "rejected"
		}
		desc := mid + ":" + m.MediaName.Media + ":" + dir
		if msid, ok := m.Attribute("msid"); ok {
			if f := strings.Fields(msid); len(f) == 2 {
				desc += ":" + f[1]
			}
		}
		out = append(out, desc)
	}
	return slog.StringValue(strings.Join(out, " "))
}

// AddCandidate adds a trickled remote ICE candidate.
func (p *Participant) AddCandidate(c webrtc.ICECandidateInit) error {
	if err := p.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("invalid ICE candidate: %w", err)
	}
	return nil
}

// ErrMutedByHost refuses a participant's own unmute (or a new track of
// the same source) after the host muted that source.
var ErrMutedByHost = errors.New("muted by the host: only the host can unmute this source")

// SetTrackMuted is the participant's own mute or unmute of one of its
// published tracks, for every subscriber (no packets are forwarded while
// muted). Errors: ErrTrackNotFound; ErrMutedByHost to unmute a source the
// host muted.
func (p *Participant) SetTrackMuted(trackID string, muted bool) error {
	p.mu.Lock()
	t, ok := p.published[trackID]
	locked := ok && p.hostMuted[t.info.Source]
	p.mu.Unlock()
	if !ok {
		return ErrTrackNotFound
	}
	if locked && !muted {
		return ErrMutedByHost
	}
	p.setTrackMuted(t, muted)
	return nil
}

// HostMuteTrack is a host's (an orchestrator's) mute or unmute of one of
// p's tracks. A host mute holds for the track's source (camera,
// microphone, screen): the participant can neither unmute it nor publish
// a new track of that source until the host unmutes. Errors:
// ErrTrackNotFound.
func (p *Participant) HostMuteTrack(trackID string, muted bool) error {
	p.mu.Lock()
	t, ok := p.published[trackID]
	if ok {
		if muted {
			p.hostMuted[t.info.Source] = true
		} else {
			delete(p.hostMuted, t.info.Source)
		}
	}
	p.mu.Unlock()
	if !ok {
		return ErrTrackNotFound
	}
	p.log.Info("host mute", "track", trackID, "source", t.info.Source, "muted", muted)
	p.setTrackMuted(t, muted)
	return nil
}

func (p *Participant) setTrackMuted(t *publishedTrack, muted bool) {
	t.mu.Lock()
	t.info.Muted = muted
	for _, d := range t.down {
		d.muted.Store(muted)
	}
	info := t.info
	t.mu.Unlock()
	if !muted {
		t.requestKeyframe("unmuted")
	}
	p.room.broadcast(Event{Type: EventTrackMuted, Track: &info, remote: p.kind == KindRemote}, "")
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
	close(p.stop)
	p.detach.mu.Lock()
	if p.detach.timer != nil {
		p.detach.timer.Stop()
		p.detach.timer = nil
	}
	p.detach.mu.Unlock()
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
		s.track.unsubscribe(s.key)
	}
	p.releaseSlots()
	for _, t := range pubs {
		p.room.unpublish(t)
	}
	if p.kind != KindRemote {
		_ = p.pc.Close()
		for _, t := range pubs {
			t.wg.Wait()
		}
	} // a proxy's connection is its relay leg's: its readers end with it
	p.wg.Wait()
	p.room.remove(p)
	p.room.sfu.untrackGrant(p)
	typ := noderpc.SessionLeft
	if strings.HasPrefix(reason, "connection ") {
		typ = noderpc.SessionConnectionAborted
	}
	p.sessionEvent(typ, nil, reason)
	p.mu.Lock()
	name, role, hidden := p.name, p.role, p.perms.Hidden
	p.mu.Unlock()
	if ((p.kind == KindFull && !p.relay) || p.kind == KindRemote) && !hidden {
		p.room.broadcast(Event{Type: EventParticipantLeft, Participant: &ParticipantInfo{Identity: p.identity, Name: name, Role: role}, Reason: reason,
			remote: p.kind == KindRemote}, p.identity)
	}
	if p.signal != nil {
		p.signal.Close(reason)
	}
	close(p.done)
	if p.room.sfu.onEnd != nil && p.kind != KindRemote { // a proxy is no session here: no receipt
		p.room.sfu.onEnd(p)
	}
}

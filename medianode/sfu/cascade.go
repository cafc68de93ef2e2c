package sfu

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// Cascading (DESIGN.md §4): a room may span media nodes. Each node pulls
// the others' local tracks over one relay leg per node pair and
// direction:
//
//   - On the serving node the leg is a relay session (JoinParams.Relay): a
//     KindFull participant with a relay grant that subscribes to the
//     tracks of this node's own participants only, receives their data
//     messages and events (never the speakers, never anything about other
//     nodes' participants, so nothing loops back), is not shown to
//     participants, and takes every track at its best layer. It is a
//     session like any other: metered, receipted, reported.
//   - On the pulling node (medianode/cascade) each participant of the
//     serving node is a proxy, KindRemote: AddRemote, PublishRemote. Local
//     subscribers subscribe to the proxy's tracks as to anyone's; their
//     keyframe requests go to the serving node over the leg's
//     PeerConnection, whose relay session passes them to the publisher.
//
// A track thus crosses each leg once, whatever the number of subscribers
// behind it. A room ends on a node when its last local participant leaves
// (Room.remove), which closes its relay sessions and proxies there.

// local reports whether p is one of this node's own participants: not a
// relay leg, not another node's participant.
func (p *Participant) local() bool { return p.kind != KindRemote && !p.relay }

// Relay reports whether p is a cascade relay leg (JoinParams.Relay).
func (p *Participant) Relay() bool { return p.relay }

// Remote reports whether p is another media node's participant (a
// cascade proxy, AddRemote).
func (p *Participant) Remote() bool { return p.kind == KindRemote }

// mayReceiveFrom reports whether p may receive sender's tracks and data:
// a relay leg takes only this node's own participants'.
func (p *Participant) mayReceiveFrom(sender *Participant) bool {
	return !p.relay || sender.local()
}

// NewLinkPeerConnection returns a PeerConnection for the pulling end of a
// relay leg (medianode/cascade), made by Config.LinkAPI (no bandwidth
// estimator: the leg takes every track at its best layer; its own UDP
// port, see APIs.Link).
func (s *SFU) NewLinkPeerConnection() (*webrtc.PeerConnection, error) {
	return s.link.NewPeerConnection(webrtc.Configuration{})
}

// MaxIdentityBytes bounds the identity of a remote participant.
const MaxIdentityBytes = 256

// AddRemote adds a participant of another media node to an open room,
// with link the PeerConnection of the relay leg its tracks arrive on (the
// caller owns it: closing the proxy leaves it open). Participants here
// get participant_joined. Errors: ErrRoomNotFound (no participant of this
// node is in the room), ErrIdentityInUse (the identity is connected here,
// or already relayed), or an invalid info.
func (s *SFU) AddRemote(room string, info ParticipantInfo, link *webrtc.PeerConnection) (*Participant, error) {
	if info.Identity == "" || len(info.Identity) > MaxIdentityBytes {
		return nil, fmt.Errorf("sfu: a remote participant's identity must be 1 to %d bytes", MaxIdentityBytes)
	}
	if link == nil {
		return nil, errors.New("sfu: a remote participant needs its relay leg's connection")
	}
	r, err := s.room(room, false)
	if err != nil {
		return nil, err
	}
	joined := time.Now()
	if info.JoinedAtUnixMs > 0 {
		joined = time.UnixMilli(info.JoinedAtUnixMs)
	}
	p := &Participant{
		room: r, identity: info.Identity, name: info.Name, kind: KindRemote, joinedAt: joined, pc: link, role: info.Role,
		metadata: info.Metadata, attributes: maps.Clone(info.Attributes),
		perms:     Permissions{CanPublish: true, CanPublishScreen: true, CanPublishData: true},
		log:       s.log.With("room", room, "participant", info.Identity, "remote", true),
		published: map[string]*publishedTrack{}, subscriptions: map[string]*subscription{}, sources: map[string]TrackSource{},
		hostMuted: map[TrackSource]bool{}, realloc: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	if err := r.add(p); err != nil {
		return nil, err
	}
	r.broadcast(Event{Type: EventParticipantJoined, Participant: p.infoPtr(), remote: true}, p.identity)
	return p, nil
}

// PublishRemote publishes, for a remote participant, a track arriving on
// its relay leg. info gives the source and mute state the serving node
// announced; ID, kind and codec come from remote itself. Errors: p is not
// remote or has left, or the track is published already.
func (p *Participant) PublishRemote(remote *webrtc.TrackRemote, info TrackInfo) error {
	if p.kind != KindRemote {
		return errors.New("sfu: PublishRemote is for remote participants")
	}
	kind := "video"
	if remote.Kind() == webrtc.RTPCodecTypeAudio {
		kind = "audio"
	}
	switch info.Source {
	case SourceCamera, SourceMicrophone, SourceScreen, SourceScreenAudio:
	default:
		info.Source = SourceCamera
		if kind == "audio" {
			info.Source = SourceMicrophone
		}
	}
	ti := TrackInfo{ID: remote.ID(), Publisher: p.identity, Kind: kind, Source: info.Source, MimeType: remote.Codec().MimeType, Muted: info.Muted}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	if _, ok := p.published[ti.ID]; ok {
		p.mu.Unlock()
		return fmt.Errorf("sfu: track %s is published already", ti.ID)
	}
	t := newPublishedTrack(p, ti, remote.Codec().RTPCodecCapability)
	p.published[ti.ID] = t
	p.mu.Unlock()
	t.addLayer(remote)
	p.room.publish(t)
	return nil
}

// UnpublishRemote removes a remote participant's track (the serving node
// unpublished it); unknown tracks are ignored.
func (p *Participant) UnpublishRemote(trackID string) {
	p.mu.Lock()
	t, ok := p.published[trackID]
	p.mu.Unlock()
	if ok {
		p.room.unpublish(t)
	}
}

// SetRemoteTrackMuted mirrors a mute on the serving node; unknown tracks
// are ignored.
func (p *Participant) SetRemoteTrackMuted(trackID string, muted bool) {
	p.mu.Lock()
	t, ok := p.published[trackID]
	p.mu.Unlock()
	if ok {
		p.setTrackMuted(t, muted)
	}
}

// UpdateRemote mirrors a change of role, name, metadata or attributes on
// the serving node.
func (p *Participant) UpdateRemote(info ParticipantInfo) {
	if p.kind != KindRemote {
		return
	}
	p.mu.Lock()
	p.role, p.name = info.Role, info.Name
	p.metadata, p.attributes = info.Metadata, maps.Clone(info.Attributes)
	p.mu.Unlock()
	p.room.broadcast(Event{Type: EventParticipantUpdated, Participant: p.infoPtr(), remote: true}, "")
}

// SendRemoteData relays a data message a remote participant sent on its
// node to the participants here that may receive it.
func (p *Participant) SendRemoteData(payload []byte) {
	if p.kind == KindRemote {
		p.room.relayData(p.identity, payload)
	}
}

// Roster is what a participant of the room sees of it: the other
// participants (without relay legs; a relay leg sees this node's own
// participants only) and their tracks, sorted as Participants and Tracks.
func (r *Room) Roster(viewer *Participant) ([]ParticipantInfo, []TrackInfo) {
	var ps []ParticipantInfo
	shown := map[string]bool{}
	for _, o := range r.Participants() {
		if o == viewer || o.relay || o.hidden() || (viewer != nil && !viewer.mayReceiveFrom(o)) {
			continue
		}
		ps = append(ps, o.Info())
		shown[o.identity] = true
	}
	var ts []TrackInfo
	for _, t := range r.Tracks() {
		if shown[t.Publisher] || (viewer != nil && t.Publisher == viewer.identity) {
			ts = append(ts, t)
		}
	}
	return ps, ts
}

// A relay leg carries each simulcast video track as one track per layer,
// "<track ID>~q", "~h" and "~f" (the layers' RIDs), each on its own
// transceiver, so the pulling node has every layer its subscribers may
// choose from. The pulling node's dynacast (which layers any of its
// subscribers needs) comes back as SetRelayLayers: a layer nobody there
// needs does not cross the leg, and once nobody anywhere needs it, the
// publisher stops sending it. Audio and non-simulcast video need no
// suffix; a non-simulcast video's "~q" and "~h" carry nothing.
var relayLayerSuffix = [3]string{"~q", "~h", "~f"}

// RelayLayerTrackID is the ID of the relay leg's track that carries one
// layer of trackID.
func RelayLayerTrackID(trackID string, layer int) string {
	return trackID + relayLayerSuffix[min(max(layer, LayerLow), LayerHigh)]
}

// ParseRelayLayerTrackID splits a relay leg's track ID into the
// published track's ID and the layer; ok is false for an ID without a
// layer suffix.
func ParseRelayLayerTrackID(id string) (trackID string, layer int, ok bool) {
	for l, suffix := range relayLayerSuffix {
		if base, found := strings.CutSuffix(id, suffix); found && base != "" {
			return base, l, true
		}
	}
	return id, LayerHigh, false
}

// subscribeRelayLayers subscribes relay leg p to video track t, one
// fixed-layer downTrack per simulcast layer, and renegotiates.
func (p *Participant) subscribeRelayLayers(t *publishedTrack) {
	added := false
	for layer := LayerLow; layer <= LayerHigh; layer++ {
		id := RelayLayerTrackID(t.info.ID, layer)
		key := p.identity + relayLayerSuffix[layer]
		d := newDownTrack(id, t.info.Publisher, webrtc.RTPCodecTypeVideo, t.codec, layer, p.meterOut)
		d.fixed = true
		d.log = p.log.With("track", id)
		d.ready = &p.connected
		reason := "relay leg " + p.identity + " waits for a keyframe"
		d.wantKeyframe = func() { t.requestKeyframe(reason) }
		if !t.attach(key, d) {
			return // unpublished meanwhile
		}
		p.sdpMu.Lock()
		sender, err := p.pc.AddTrack(d)
		mid := ""
		if err == nil {
			mid, err = p.claimMid(sender)
		}
		p.sdpMu.Unlock()
		if err != nil {
			t.detach(key, d)
			p.log.Warn("relay layer not subscribed", "track", id, "err", err)
			continue
		}
		p.log.Debug("subscribed", "track", id, "publisher", t.info.Publisher, "layer", layer, "mid", mid)
		sub := &subscription{track: t, down: d, sender: sender, requested: layer, key: key}
		p.mu.Lock()
		p.subscriptions[id] = sub
		p.mu.Unlock()
		p.wg.Add(1)
		go p.readSenderRTCP(sub)
		added = true
	}
	if added {
		p.negotiate()
	}
}

// SetRelayLayers says which simulcast layers of trackID the relay leg p
// forwards (the pulling node's need: [q, h, f]); the others pause, and
// the publisher stops sending a layer nobody needs. Errors: p is not a
// relay leg, or it has no such layered track.
func (p *Participant) SetRelayLayers(trackID string, on []bool) error {
	if !p.relay {
		return errors.New("only a relay leg forwards layers on demand")
	}
	if len(on) != 3 {
		return errors.New("layers must be three booleans: q, h, f")
	}
	var t *publishedTrack
	for layer := LayerLow; layer <= LayerHigh; layer++ {
		p.mu.Lock()
		sub, ok := p.subscriptions[RelayLayerTrackID(trackID, layer)]
		p.mu.Unlock()
		if !ok {
			return ErrTrackNotFound
		}
		target := LayerOff
		if on[layer] {
			target = layer
		}
		sub.down.mu.Lock()
		sub.down.setTargetLocked(target)
		sub.down.mu.Unlock()
		t = sub.track
	}
	p.log.Debug("relay layers", "track", trackID, "layers", on)
	t.updateDynacast()
	return nil
}

// OnPublisherLayers sets where a remote participant's dynacast goes
// (which layers of its tracks this node needs): its relay leg, which
// tells the serving node (SetRelayLayers there).
func (p *Participant) OnPublisherLayers(fn func(trackID string, layers []bool)) {
	p.mu.Lock()
	p.onLayers = fn
	p.mu.Unlock()
}

// PublishRemoteLayer is PublishRemote for one layer of a simulcast track
// the relay leg carries per layer (ParseRelayLayerTrackID): the first
// layer to arrive publishes the track, the others add to it.
func (p *Participant) PublishRemoteLayer(remote *webrtc.TrackRemote, trackID string, layer int, info TrackInfo) error {
	if p.kind != KindRemote {
		return errors.New("sfu: PublishRemoteLayer is for remote participants")
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	if t, ok := p.published[trackID]; ok {
		p.mu.Unlock()
		t.addLayerAt(layer, remote)
		return nil
	}
	source := info.Source
	switch source {
	case SourceCamera, SourceScreen:
	default:
		source = SourceCamera
	}
	ti := TrackInfo{ID: trackID, Publisher: p.identity, Kind: "video", Source: source, MimeType: remote.Codec().MimeType, Muted: info.Muted}
	t := newPublishedTrack(p, ti, remote.Codec().RTPCodecCapability)
	p.published[trackID] = t
	p.mu.Unlock()
	t.addLayerAt(layer, remote)
	p.room.publish(t)
	return nil
}

package sfu

import (
	"errors"
	"fmt"
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

// UpdateRemote mirrors a role or name change on the serving node.
func (p *Participant) UpdateRemote(info ParticipantInfo) {
	if p.kind != KindRemote {
		return
	}
	p.mu.Lock()
	p.role, p.name = info.Role, info.Name
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
		if o == viewer || o.relay || (viewer != nil && !viewer.mayReceiveFrom(o)) {
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

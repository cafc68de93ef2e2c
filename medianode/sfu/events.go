package sfu

import "time"

// Event types the SFU sends to signaling clients. medianode/README.md
// documents each.
const (
	EventParticipantJoined  = "participant_joined"
	EventParticipantLeft    = "participant_left"
	EventParticipantUpdated = "participant_updated"
	EventTrackPublished     = "track_published"
	EventTrackUnpublished   = "track_unpublished"
	EventTrackMuted         = "track_muted"
	EventSpeakers           = "speakers"
	EventRoomEnded          = "room_ended"
	EventRemoved            = "removed"
	EventError              = "error"
	// EventPublisherLayers tells a publisher which simulcast layers of
	// one of its tracks anyone receives (dynacast.go): TrackID, Layers.
	EventPublisherLayers = "publisher_layers"
)

// ParticipantInfo describes a participant to others.
type ParticipantInfo struct {
	Identity string `json:"identity"`
	Name     string `json:"name,omitempty"`
	Role     string `json:"role"`
	// JoinedAtUnixMs is when the session started, in Unix milliseconds.
	JoinedAtUnixMs int64       `json:"joined_at_unix_ms"`
	Tracks         []TrackInfo `json:"tracks"`
	// Metadata and Attributes are the app's (UpdateInfo).
	Metadata   string            `json:"metadata,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Event is one server-to-client notification.
type Event struct {
	Type        string           `json:"type"`
	Participant *ParticipantInfo `json:"participant,omitempty"`
	Track       *TrackInfo       `json:"track,omitempty"`
	Speakers    []string         `json:"speakers,omitempty"`
	Reason      string           `json:"reason,omitempty"`
	Message     string           `json:"message,omitempty"`
	// Code and TrackID qualify an error event (signal package codes:
	// "track_refused" with the track, "data_refused").
	Code    string `json:"code,omitempty"`
	TrackID string `json:"track_id,omitempty"`
	// Layers qualifies publisher_layers: whether layer 0 (rid q), 1 (h)
	// and 2 (f) should be sent.
	Layers []bool `json:"layers,omitempty"`
	// remote marks an event about a participant of another media node
	// (a cascade proxy, KindRemote): relay legs do not carry it back.
	remote bool
}

// SessionEvent is something that happened to a session, for the node
// layer (Config.OnSessionEvent): joins, leaves, lost connections, tracks.
type SessionEvent struct {
	// Type is one of the noderpc.Session* types.
	Type     string
	Room     string
	Identity string
	// GrantID and Issuer are the session grant's jti and iss.
	GrantID, Issuer string
	At              time.Time
	// Track is set for track events.
	Track *TrackInfo
	// Reason is why a session ended.
	Reason string
}

// sessionEvent reports ev about p to the node layer, if it listens.
func (p *Participant) sessionEvent(typ string, track *TrackInfo, reason string) {
	if p.kind == KindRemote {
		return // not a session of this node: its own node reports it
	}
	if fn := p.room.sfu.onEvent; fn != nil {
		fn(SessionEvent{Type: typ, Room: p.room.name, Identity: p.identity, GrantID: p.grantID, Issuer: p.issuer,
			At: time.Now(), Track: track, Reason: reason})
	}
}

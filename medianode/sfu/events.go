package sfu

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
)

// ParticipantInfo describes a participant to others.
type ParticipantInfo struct {
	Identity string `json:"identity"`
	Name     string `json:"name,omitempty"`
	Role     string `json:"role"`
	// JoinedAtUnixMs is when the session started, in Unix milliseconds.
	JoinedAtUnixMs int64       `json:"joined_at_unix_ms"`
	Tracks         []TrackInfo `json:"tracks"`
}

// Event is one server-to-client notification.
type Event struct {
	Type        string           `json:"type"`
	Participant *ParticipantInfo `json:"participant,omitempty"`
	Track       *TrackInfo       `json:"track,omitempty"`
	Speakers    []string         `json:"speakers,omitempty"`
	Reason      string           `json:"reason,omitempty"`
	Message     string           `json:"message,omitempty"`
}

package api

import (
	"time"

	"github.com/chroom/chroom/noderpc"
)

// SessionEvent is what a media node reports about a session of a grant
// this orchestrator issued.
type SessionEvent struct {
	// Type is one of the noderpc.Session* types.
	Type, Room, Identity, GrantID string
	// At is when it happened on the node.
	At                              time.Time
	TrackID, TrackKind, TrackSource string
	Reason                          string
}

// SessionEvent records what media node from reports about a session and
// sends the matching webhook. It returns false only for an event it
// could not store (to be sent again); an event about a grant this
// orchestrator did not issue, or that another node reports, is dropped
// (true) and logged: a media node cannot report for sessions it does not
// serve.
func (s *Server) SessionEvent(from string, e SessionEvent) bool {
	s.rooms.mu.Lock()
	sess, ok := s.rooms.sessions[e.GrantID]
	if !ok || sess.NodeID != from || sess.Room != e.Room || sess.Identity != e.Identity {
		s.rooms.mu.Unlock()
		s.log.Warn("session event refused: not a grant of this orchestrator for that node", "node", from, "type", e.Type,
			"room", e.Room, "identity", e.Identity, "grant", e.GrantID)
		return true
	}
	changed := false
	switch e.Type {
	case noderpc.SessionJoined:
		if sess.ConnectedAt.IsZero() {
			sess.ConnectedAt, changed = e.At, true
		}
	case noderpc.SessionLeft, noderpc.SessionConnectionAborted:
		if sess.DisconnectedAt.IsZero() || e.At.After(sess.DisconnectedAt) {
			sess.DisconnectedAt, changed = e.At, true
		}
	}
	saved := *sess
	s.rooms.mu.Unlock()
	if changed && s.cfg.SaveSession != nil {
		if err := s.cfg.SaveSession(saved); err != nil {
			s.log.Warn("session event not stored", "err", err)
			return false
		}
	}
	ev := WebhookEvent{Room: e.Room, NodeID: from, Participant: &Participant{Identity: e.Identity, Role: string(saved.Role)}}
	switch e.Type {
	case noderpc.SessionJoined:
		ev.Event = EventParticipantJoined
		ev.Participant.JoinedAtUnixMs = e.At.UnixMilli()
	case noderpc.SessionLeft:
		ev.Event = EventParticipantLeft
	case noderpc.SessionConnectionAborted:
		ev.Event = EventParticipantConnectionAborted
	case noderpc.SessionTrackPublished:
		ev.Event = EventTrackPublished
		ev.Track = &Track{ID: e.TrackID, Kind: e.TrackKind, Source: e.TrackSource}
	case noderpc.SessionTrackUnpublished:
		ev.Event = EventTrackUnpublished
		ev.Track = &Track{ID: e.TrackID, Kind: e.TrackKind, Source: e.TrackSource}
	default:
		return true // a newer node's event type: nothing to do here
	}
	s.cfg.Webhooks.Send(ev)
	return true
}

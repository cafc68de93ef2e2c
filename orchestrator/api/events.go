package api

import (
	"errors"

	"github.com/chroom/chroom/noderpc"
	"github.com/chroom/chroom/orchestrator/session"
)

// SessionEvent is what a media node reports about a session of a grant
// this orchestrator issued.
type SessionEvent = session.Event

// SessionEvent records what media node from reports about a session
// (session.Book.Apply) and sends the matching webhook. It returns false
// only for an event it could not store (to be sent again); an event about
// a grant this orchestrator did not issue, or that another node reports,
// is dropped (true) and logged: a media node cannot report for sessions
// it does not serve.
func (s *Server) SessionEvent(from string, e SessionEvent) bool {
	rec, err := s.book.Apply(from, e)
	if errors.Is(err, session.ErrForeignEvent) {
		s.log.Warn("session event refused", "err", err)
		return true
	}
	if err != nil {
		s.log.Warn("session event not stored", "err", err)
		return false
	}
	ev := WebhookEvent{Room: e.Room, NodeID: from, Participant: &Participant{Identity: e.Identity, Role: string(rec.Role)}}
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

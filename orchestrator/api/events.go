package api

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/chroom/chroom/grant"
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
	if rec.Role == grant.RoleRelay {
		return true // a cascade relay leg: no participant of the app's
	}
	if e.Type == noderpc.SessionJoined {
		s.linkRoom(e.Room, from, rec.BillApp)
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

// linkRoom cascades room when it has live participants on several media
// nodes: node (where one just joined) and each other such node pull from
// each other, each over a relay leg with a relay grant of this
// orchestrator's (session.Book.AdmitRelay) that Media Node RPC LinkRoom
// hands to the pulling node. A leg that is connected or was asked for
// less than RelayPendingFor ago is not asked for again. It runs in the
// background; failures are logged (the next join retries).
func (s *Server) linkRoom(room, node, billApp string) {
	l, ok := s.admin.(Linker)
	if !ok {
		return
	}
	serving := s.book.ServingNodes(room)
	if !slices.Contains(serving, node) {
		return // a node that stopped reporting (or is marked down) is not linked
	}
	for _, peer := range s.book.LiveNodes(room) {
		if peer == node || !slices.Contains(serving, peer) {
			continue
		}
		for _, leg := range [][2]string{{node, peer}, {peer, node}} {
			puller, server := leg[0], leg[1]
			if s.book.RelayLive(room, server, puller) {
				continue
			}
			info, ok := s.dir.Node(server)
			if !ok {
				continue
			}
			rec, err := s.book.AdmitRelay(room, server, puller, billApp)
			if err != nil {
				s.log.Warn("relay leg not granted", "room", room, "server", server, "puller", puller, "err", err)
				continue
			}
			token, err := grant.Issue(s.cfg.Key, s.claimsFor(rec, ""))
			if err != nil {
				s.log.Warn("relay grant not issued", "room", room, "err", err)
				continue
			}
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := l.LinkRoom(ctx, puller, room, server, mediaRef(info).WSURL, token); err != nil {
					s.log.Warn("cascade link refused", "room", room, "puller", puller, "server", server, "err", err)
					return
				}
				s.log.Info("cascade link asked", "room", room, "puller", puller, "server", server)
			}()
		}
	}
}

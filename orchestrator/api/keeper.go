package api

import (
	"context"
	"time"

	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/orchestrator/session"
)

// RunRoomKeeper keeps the rooms this orchestrator serves in order until
// ctx ends: every interval it lists each room's participants on its media
// node and, when a room has participants but no host (the host left), it
// promotes the successor session.Successor picks (DESIGN.md §3 roles). It
// also prunes records whose grants expired (session.Book.Prune).
func (s *Server) RunRoomKeeper(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, name := range s.book.Names() {
			s.keepRoom(ctx, name)
		}
		s.book.Prune()
	}
}

func (s *Server) keepRoom(ctx context.Context, name string) {
	node, ok := s.book.Node(name)
	if !ok || s.admin == nil {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	// A cascaded room: every node lists its own participants, and only a
	// complete list may say the room has no host.
	var ps []Participant
	for _, n := range s.roomNodes(name, node) {
		got, err := s.admin.ListParticipants(cctx, n, name)
		if err != nil {
			return
		}
		ps = append(ps, got...)
	}
	// Legs that ended (a node restarted, a dial failed) are asked for
	// again: the room heals without waiting for another join.
	if live := s.book.LiveNodes(name); len(live) > 1 {
		app := s.book.BillApp(name)
		for _, n := range live { // every pair, once each (RelayLive)
			s.linkRoom(name, n, app)
		}
	}
	present := make([]session.Present, 0, len(ps))
	for _, p := range ps {
		if s.book.Hidden(name, p.Identity) {
			continue // a hidden session (a recorder) never hosts
		}
		present = append(present, session.Present{Identity: p.Identity, Role: grant.Role(p.Role), JoinedAt: time.UnixMilli(p.JoinedAtUnixMs)})
	}
	next, ok := session.Successor(present)
	if !ok {
		return
	}
	if err := s.admin.SetRole(cctx, s.book.NodeOf(name, next, node), name, next, grant.RoleHost, s.permissionsFor(name, grant.RoleHost)); err != nil {
		return
	}
	if err := s.book.SetRole(name, next, grant.RoleHost); err != nil {
		s.log.Warn("host promotion not recorded", "room", name, "identity", next, "err", err)
	}
	s.log.Info("promoted to host", "room", name, "identity", next)
}

package api

import (
	"context"
	"sort"
	"time"

	"github.com/chroom/chroom/grant"
)

// RunRoomKeeper keeps the rooms this orchestrator serves in order until
// ctx ends: every interval it lists each room's participants on its media
// node and, when a room has participants but no host (the host left), it
// promotes the longest-present participant to host (DESIGN.md §3 roles).
// It also forgets sessions whose grants expired an hour ago.
func (s *Server) RunRoomKeeper(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, name := range s.rooms.names() {
			s.keepRoom(ctx, name)
		}
		s.rooms.prune(s.now(), time.Hour)
	}
}

func (s *Server) keepRoom(ctx context.Context, name string) {
	s.rooms.mu.Lock()
	r, ok := s.rooms.byName[name]
	var node string
	if ok {
		node = r.nodeID
	}
	s.rooms.mu.Unlock()
	if !ok || s.admin == nil {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	ps, err := s.admin.ListParticipants(cctx, node, name)
	if err != nil {
		return
	}
	// Participant webhooks come from the node's session events
	// (Server.SessionEvent); this poll serves host succession only.
	if len(ps) == 0 {
		return
	}
	for _, p := range ps {
		if p.Role == string(grant.RoleHost) {
			return
		}
	}
	// Longest present first; WHEP viewers (identity#whep-…) and anonymous
	// participants never host.
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].JoinedAtUnixMs != ps[j].JoinedAtUnixMs {
			return ps[i].JoinedAtUnixMs < ps[j].JoinedAtUnixMs
		}
		return ps[i].Identity < ps[j].Identity
	})
	for _, p := range ps {
		if containsHash(p.Identity) || isAnonymous(p.Identity) {
			continue // WHEP sessions and anonymous joins never host
		}
		if err := s.admin.SetRole(cctx, node, name, p.Identity, grant.RoleHost, grant.DefaultPermissions(grant.RoleHost)); err == nil {
			s.recordRole(name, p.Identity, grant.RoleHost)
			s.log.Info("promoted to host", "room", name, "identity", p.Identity)
		}
		return
	}
}

func containsHash(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' {
			return true
		}
	}
	return false
}

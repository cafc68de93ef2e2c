package api

import (
	"fmt"
	"net/http"
	"strings"
)

// Scopes an API key may carry.
const (
	ScopeJoin  = "join"  // ask for join grants
	ScopeAdmin = "admin" // change rooms: roles, mutes, removals, ending
	ScopeStats = "stats" // read rooms: list participants
)

// KeyPolicy bounds what one app's API key may do. The zero value allows
// everything.
type KeyPolicy struct {
	// RoomPrefixes: the key may use rooms whose names start with one of
	// these; empty allows every room.
	RoomPrefixes []string
	// Scopes: ScopeJoin, ScopeAdmin, ScopeStats; empty allows all three.
	Scopes []string
	// MaxRooms bounds the rooms in which the key's grants are live at
	// once; MaxSessions the live grants (0: unbounded).
	MaxRooms, MaxSessions int
	// BillApp is the on-chain app (x/incentives) whose escrow pays for the
	// key's sessions: grants carry it (claim "app") and so do their
	// receipts. Empty: the orchestrator's operator pays.
	BillApp string
	// EmbedOrigins may frame the app's calls (/embed): CSP
	// frame-ancestors. Empty: nobody.
	EmbedOrigins []string
}

func (p KeyPolicy) allows(scope string) bool {
	if len(p.Scopes) == 0 {
		return true
	}
	for _, s := range p.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

func (p KeyPolicy) allowsRoom(room string) bool {
	if len(p.RoomPrefixes) == 0 {
		return true
	}
	for _, pre := range p.RoomPrefixes {
		if strings.HasPrefix(room, pre) {
			return true
		}
	}
	return false
}

// authorizeKey checks app's policy for scope in room, writing 403 and
// returning false when it does not allow it.
func (s *Server) authorizeKey(w http.ResponseWriter, app, scope, room string) bool {
	p := s.cfg.KeyPolicies[app]
	if !p.allows(scope) {
		writeError(w, http.StatusForbidden, "scope_denied", fmt.Sprintf("the API key of %s does not have the %q scope", app, scope))
		return false
	}
	if !p.allowsRoom(room) {
		writeError(w, http.StatusForbidden, "room_not_allowed", fmt.Sprintf("the API key of %s may use rooms starting with %s only", app, strings.Join(p.RoomPrefixes, ", ")))
		return false
	}
	return true
}

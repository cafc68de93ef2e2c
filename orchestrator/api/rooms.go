package api

import (
	"sort"
	"sync"
	"time"
)

// rooms is the orchestrator's state of the rooms it owns: which media
// node each is on (a room stays on its node) and its grants.
type rooms struct {
	mu       sync.Mutex
	byName   map[string]*roomState
	sessions map[string]*Session // by grant jti
	// bans: room → "id:<identity>" or "ip:<address>" → until when joins
	// are refused (a removal with ban, for the grant's remaining life).
	bans map[string]map[string]time.Time
}

type roomState struct {
	name      string
	nodeID    string
	createdAt time.Time
	// identities that got grants, in order, with their roles.
	members []*Session
}

func newRooms() *rooms {
	return &rooms{byName: map[string]*roomState{}, sessions: map[string]*Session{}, bans: map[string]map[string]time.Time{}}
}

// session returns the record of a grant.
func (rs *rooms) session(jti string) (*Session, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	s, ok := rs.sessions[jti]
	return s, ok
}

// SessionsFor returns copies of the sessions in a room on a node.
func (rs *rooms) sessionsFor(roomName, nodeID string) []Session {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r, ok := rs.byName[roomName]
	if !ok {
		return nil
	}
	var out []Session
	for _, s := range r.members {
		if s.NodeID == nodeID {
			out = append(out, *s)
		}
	}
	return out
}

// ban refuses joins to room matching key until until.
func (rs *rooms) ban(room, key string, until time.Time) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	m := rs.bans[room]
	if m == nil {
		m = map[string]time.Time{}
		rs.bans[room] = m
	}
	if until.After(m[key]) {
		m[key] = until
	}
}

// bannedUntil returns the latest ban on any of keys in room still in force.
func (rs *rooms) bannedUntil(room string, now time.Time, keys ...string) (time.Time, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var latest time.Time
	for _, k := range keys {
		if until, ok := rs.bans[room][k]; ok && until.After(now) && until.After(latest) {
			latest = until
		}
	}
	return latest, !latest.IsZero()
}

// names returns the rooms' names, sorted.
func (rs *rooms) names() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := make([]string, 0, len(rs.byName))
	for n := range rs.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// prune forgets sessions whose grants expired more than keep ago and
// rooms left without sessions.
func (rs *rooms) prune(now time.Time, keep time.Duration) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for jti, s := range rs.sessions {
		if now.Sub(s.ExpiresAt) > keep {
			delete(rs.sessions, jti)
		}
	}
	for room, m := range rs.bans {
		for k, until := range m {
			if now.After(until) {
				delete(m, k)
			}
		}
		if len(m) == 0 {
			delete(rs.bans, room)
		}
	}
	for name, r := range rs.byName {
		live := r.members[:0]
		for _, s := range r.members {
			if _, ok := rs.sessions[s.JTI]; ok {
				live = append(live, s)
			}
		}
		r.members = live
		if len(live) == 0 {
			delete(rs.byName, name)
		}
	}
}

// Restore reloads session records saved before a restart (expired ones
// are skipped): rooms return to their nodes and receipts for those
// sessions can still be checked.
func (s *Server) Restore(sessions []Session) {
	now := s.now()
	s.rooms.mu.Lock()
	defer s.rooms.mu.Unlock()
	for i := range sessions {
		sess := sessions[i]
		if now.Sub(sess.ExpiresAt) > time.Hour {
			continue
		}
		r, ok := s.rooms.byName[sess.Room]
		if !ok {
			r = &roomState{name: sess.Room, nodeID: sess.NodeID, createdAt: sess.IssuedAt}
			s.rooms.byName[sess.Room] = r
		}
		if sess.IssuedAt.After(r.createdAt) {
			r.nodeID, r.createdAt = sess.NodeID, sess.IssuedAt // the latest grant's node
		}
		p := &sess
		r.members = append(r.members, p)
		s.rooms.sessions[sess.JTI] = p
	}
}

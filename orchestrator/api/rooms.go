package api

import (
	"net/http"
	"time"

	"github.com/chroom/chroom/grant"

	"github.com/chroom/chroom/orchestrator/session"
)

// createRoomRequest is the body of POST /v1/rooms.
type createRoomRequest struct {
	Name string `json:"name"`
	// Mode is "call" (default) or "audio_space".
	Mode string `json:"mode"`
	// MaxParticipants bounds the people in the room at once; 0: no limit.
	MaxParticipants int `json:"max_participants"`
	// EmptyTimeoutS: the room's options are forgotten after this many
	// seconds with nobody in it; 0: 300.
	EmptyTimeoutS int64 `json:"empty_timeout_s"`
	// Metadata is the app's (≤ 4096 bytes), given to every client.
	Metadata string `json:"metadata"`
	// RealtimeText turns live text on in the clients.
	RealtimeText bool `json:"realtime_text"`
}

// RoomInfo is a room as the rooms API returns it.
type RoomInfo struct {
	Name            string   `json:"name"`
	Mode            string   `json:"mode"`
	MaxParticipants int      `json:"max_participants"`
	EmptyTimeoutS   int64    `json:"empty_timeout_s"`
	Metadata        string   `json:"metadata"`
	RealtimeText    bool     `json:"realtime_text"`
	Participants    int      `json:"num_participants"`
	MediaNodes      []string `json:"media_nodes"`
	CreatedAtUnix   int64    `json:"created_at_unix"`
	// Created is true when an app created the room (POST /v1/rooms); a
	// room that exists only because someone joined it has the defaults.
	Created bool `json:"created"`
}

// RoomOptionsRef is what a client learns of its room with its grant.
type RoomOptionsRef struct {
	Mode            string `json:"mode"`
	MaxParticipants int    `json:"max_participants,omitempty"`
	Metadata        string `json:"metadata,omitempty"`
	RealtimeText    bool   `json:"realtime_text,omitempty"`
}

func roomInfo(s session.RoomSummary) RoomInfo {
	out := RoomInfo{Name: s.Name, Mode: session.ModeCall, Participants: s.Participants, MediaNodes: s.Nodes, CreatedAtUnix: s.CreatedAt.Unix(),
		EmptyTimeoutS: int64(session.DefaultEmptyTimeout / time.Second)}
	if out.MediaNodes == nil {
		out.MediaNodes = []string{}
	}
	if o := s.Options; o != nil {
		out.Created = true
		out.Mode, out.MaxParticipants, out.Metadata, out.RealtimeText = o.Mode, o.MaxParticipants, o.Metadata, o.RealtimeText
		if o.EmptyTimeout > 0 {
			out.EmptyTimeoutS = int64(o.EmptyTimeout / time.Second)
		}
	}
	return out
}

// requireKey answers 401 unless the request carries a known API key with
// scope for room ("" for any room) and returns its app.
func (s *Server) requireKey(w http.ResponseWriter, r *http.Request, scope, room string) (string, bool) {
	if ok, wait := s.adminPerIP.allow(clientIP(r), s.book.Now()); !ok {
		tooMany(w, wait, "too many room-admin calls from "+clientIP(r))
		return "", false
	}
	app, given := s.apiKey(r)
	switch {
	case !given:
		writeError(w, http.StatusUnauthorized, "api_key_required", "this call needs an API key (Authorization: Bearer <key> or X-API-Key)")
		return "", false
	case app == "":
		writeError(w, http.StatusUnauthorized, "unknown_api_key", "the API key is not known to this orchestrator")
		return "", false
	}
	if room == "" {
		if !s.cfg.KeyPolicies[app].allows(scope) {
			writeError(w, http.StatusForbidden, "scope_denied", "the API key of "+app+" does not have the \""+scope+"\" scope")
			return "", false
		}
		return app, true
	}
	return app, s.authorizeKey(w, app, scope, room)
}

// createRoom answers POST /v1/rooms: creates a room with options, or
// replaces the options of one that exists (201 Created, 200 OK), with an
// API key of admin scope for the room. Redirects (307) to the room's
// owner, as joins do, so the options live where the room is served.
func (s *Server) createRoom(w http.ResponseWriter, r *http.Request) {
	var req createRoomRequest
	if !readJSON(w, r, &req) {
		return
	}
	if err := ValidateRoomName(req.Name); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_room", err.Error())
		return
	}
	app, ok := s.requireKey(w, r, ScopeAdmin, req.Name)
	if !ok {
		return
	}
	if req.EmptyTimeoutS < 0 || req.EmptyTimeoutS > int64(session.MaxEmptyTimeout/time.Second) {
		writeError(w, http.StatusBadRequest, "invalid_room_options", "empty_timeout_s: 0 (300 s) to 604800 (7 days)")
		return
	}
	if !s.owner(w, r, req.Name) {
		return
	}
	opts := session.RoomOptions{Name: req.Name, Mode: req.Mode, MaxParticipants: req.MaxParticipants,
		EmptyTimeout: time.Duration(req.EmptyTimeoutS) * time.Second, Metadata: req.Metadata, RealtimeText: req.RealtimeText, App: app}
	if err := opts.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_room_options", err.Error())
		return
	}
	old, existed := s.book.Options(req.Name)
	if existed && old.App != "" && old.App != app {
		writeError(w, http.StatusConflict, "room_taken", "room "+req.Name+" was created by another app")
		return
	}
	o, err := s.book.SetOptions(opts)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	sum := session.RoomSummary{Name: o.Name, Options: &o, CreatedAt: o.CreatedAt}
	for _, x := range s.book.Rooms("") {
		if x.Name == o.Name {
			sum = x
		}
	}
	s.log.Info("room created", "room", o.Name, "app", app, "mode", o.Mode, "max_participants", o.MaxParticipants, "realtime_text", o.RealtimeText)
	writeJSON(w, status, roomInfo(sum))
}

// listRooms answers GET /v1/rooms: the rooms this orchestrator serves
// that the API key's app created or holds grants in, by name.
func (s *Server) listRooms(w http.ResponseWriter, r *http.Request) {
	app, ok := s.requireKey(w, r, ScopeStats, "")
	if !ok {
		return
	}
	out := []RoomInfo{}
	pol := s.cfg.KeyPolicies[app]
	for _, x := range s.book.Rooms(app) {
		if pol.allowsRoom(x.Name) {
			out = append(out, roomInfo(x))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rooms": out})
}

// getRoom answers GET /v1/rooms/{room} (API key, stats scope): 404 if
// this orchestrator knows no such room.
func (s *Server) getRoom(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	if err := ValidateRoomName(room); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_room", err.Error())
		return
	}
	if _, ok := s.requireKey(w, r, ScopeStats, room); !ok {
		return
	}
	if !s.owner(w, r, room) {
		return
	}
	for _, x := range s.book.Rooms("") {
		if x.Name == room {
			writeJSON(w, http.StatusOK, roomInfo(x))
			return
		}
	}
	writeError(w, http.StatusNotFound, "room_not_found", "no such room")
}

// roomOptionsRef is the join answer's room_options.
func (s *Server) roomOptionsRef(room string) RoomOptionsRef {
	o, ok := s.book.Options(room)
	if !ok {
		return RoomOptionsRef{Mode: session.ModeCall}
	}
	return RoomOptionsRef{Mode: o.Mode, MaxParticipants: o.MaxParticipants, Metadata: o.Metadata, RealtimeText: o.RealtimeText}
}

// audioSpace reports whether room is an audio space (its options' mode).
func (s *Server) audioSpace(room string) bool {
	o, ok := s.book.Options(room)
	return ok && o.Mode == session.ModeAudioSpace
}

// permissionsFor is what role may do in room: grant.DefaultPermissions,
// except in an audio space, where nobody shares a screen (sessions send
// audio only: the grant's audio_only) and listeners (viewers) may send
// data — raise a hand, chat, live text — though not speak.
func (s *Server) permissionsFor(room string, role grant.Role) grant.Permissions {
	p := grant.DefaultPermissions(role)
	if s.audioSpace(room) && role != grant.RoleRelay {
		p.CanPublishScreen = false
		if role == grant.RoleViewer {
			p.CanPublishData = true
		}
	}
	return p
}

package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/chroom/chroom/grant"
)

// participantAdmin returns the Admin's ParticipantAdmin, answering 501
// when it has none.
func (s *Server) participantAdmin(w http.ResponseWriter) (ParticipantAdmin, bool) {
	pa, ok := s.admin.(ParticipantAdmin)
	if !ok {
		writeError(w, http.StatusNotImplemented, "not_implemented", "this orchestrator's media node client cannot do this")
	}
	return pa, ok
}

// findParticipant looks identity up on the room's nodes (ok false: not
// connected, or every node failed: err says which).
func (s *Server) findParticipant(r *http.Request, room, node, identity string) (Participant, bool, error) {
	ctx, cancel := s.adminCtx(r)
	defer cancel()
	var failed error
	for _, n := range s.roomNodes(room, node) {
		ps, err := s.admin.ListParticipants(ctx, n, room)
		if err != nil {
			failed = err
			continue
		}
		for _, p := range ps {
			if p.Identity == identity {
				return p, true, nil
			}
		}
	}
	return Participant{}, false, failed
}

// getParticipant answers GET /v1/rooms/{room}/participants/{identity}
// (API key or host grant): the participant as its media node knows it, or
// 404 participant_not_found.
func (s *Server) getParticipant(w http.ResponseWriter, r *http.Request) {
	room, node, ok := s.authorizeAdmin(w, r)
	if !ok {
		return
	}
	p, found, err := s.findParticipant(r, room, node, r.PathValue("identity"))
	switch {
	case found:
		writeJSON(w, http.StatusOK, p)
	case err != nil:
		writeError(w, http.StatusBadGateway, "media_node_error", err.Error())
	default:
		writeError(w, http.StatusNotFound, "participant_not_found", "no such participant is connected")
	}
}

// permissionsRequest is a participant's permissions in PATCH.
type permissionsRequest struct {
	CanPublish        bool     `json:"can_publish"`
	CanSubscribe      bool     `json:"can_subscribe"`
	CanPublishData    bool     `json:"can_publish_data"`
	CanPublishScreen  bool     `json:"can_publish_screen"`
	CanPublishSources []string `json:"can_publish_sources"`
	// Hidden hides the participant from the others (it then may not
	// publish); false shows it again.
	Hidden bool `json:"hidden"`
}

// updateParticipantRequest is the body of PATCH …/participants/{identity}:
// absent fields stay as they are.
type updateParticipantRequest struct {
	Name       *string             `json:"name"`
	Metadata   *string             `json:"metadata"`
	Attributes map[string]string   `json:"attributes"`
	Permission *permissionsRequest `json:"permission"`
}

// updateParticipant answers PATCH /v1/rooms/{room}/participants/{identity}
// (API key with admin scope, or host grant): name, metadata and
// attributes (merged; "" deletes a key) go to the participant's media
// node, which tells the room (participant_updated); permission replaces
// the participant's permissions for its current role, can_publish_sources
// limiting what it may publish (its tracks of other sources are
// unpublished). Answers the participant as it is then.
func (s *Server) updateParticipant(w http.ResponseWriter, r *http.Request) {
	room, node, ok := s.authorizeAdmin(w, r)
	if !ok {
		return
	}
	var req updateParticipantRequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.Name == nil && req.Metadata == nil && req.Attributes == nil && req.Permission == nil {
		writeError(w, http.StatusBadRequest, "empty_update", "give at least one of name, metadata, attributes, permission")
		return
	}
	if req.Name != nil {
		if err := validateText("name", *req.Name, 0, 128); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_name", err.Error())
			return
		}
	}
	// Metadata and attributes are the app's, and hiding is the app's
	// decision: a host's grant may rename and set permissions, not these.
	if _, key := s.apiKey(r); !key && (req.Metadata != nil || req.Attributes != nil || (req.Permission != nil && req.Permission.Hidden != s.book.Hidden(room, r.PathValue("identity")))) {
		writeError(w, http.StatusForbidden, "api_key_required", "metadata, attributes and hidden are set with the app's API key, not a host's grant")
		return
	}
	if req.Permission != nil {
		for _, src := range req.Permission.CanPublishSources {
			if !slices.Contains([]string{"camera", "microphone", "screen", "screen_audio"}, src) {
				writeError(w, http.StatusBadRequest, "invalid_permission", fmt.Sprintf("can_publish_sources: %q is not camera, microphone, screen or screen_audio", src))
				return
			}
		}
	}
	pa, ok := s.participantAdmin(w)
	if !ok {
		return
	}
	identity := r.PathValue("identity")
	target := s.book.NodeOf(room, identity, node)
	ctx, cancel := s.adminCtx(r)
	defer cancel()
	if req.Permission != nil {
		current, found, err := s.findParticipant(r, room, node, identity)
		if !found {
			if err != nil {
				writeError(w, http.StatusBadGateway, "media_node_error", err.Error())
			} else {
				writeError(w, http.StatusNotFound, "participant_not_found", "no such participant is connected")
			}
			return
		}
		role, err := grant.ParseRole(current.Role)
		if err != nil {
			writeError(w, http.StatusConflict, "invalid_role", "the participant's role "+current.Role+" cannot be given permissions")
			return
		}
		pr := req.Permission
		perms := grant.Permissions{CanPublish: pr.CanPublish, CanSubscribe: pr.CanSubscribe, CanPublishData: pr.CanPublishData,
			CanPublishScreen: pr.CanPublishScreen && !s.audioSpace(room), CanAdmin: role == grant.RoleHost, CanPublishSources: pr.CanPublishSources, Hidden: pr.Hidden}
		if perms.Hidden {
			perms.CanPublish, perms.CanPublishScreen, perms.CanPublishData = false, false, false
		}
		if err := s.admin.SetRole(ctx, target, room, identity, role, perms); err != nil {
			writeError(w, http.StatusBadGateway, "media_node_error", err.Error())
			return
		}
		if err := s.book.SetHidden(room, identity, perms.Hidden); err != nil {
			writeError(w, http.StatusInternalServerError, "internal", "the media node changed the permissions but recording hidden failed: "+err.Error())
			return
		}
	}
	if req.Name != nil || req.Metadata != nil || req.Attributes != nil {
		p, err := pa.UpdateParticipant(ctx, target, room, identity, ParticipantUpdate{Name: req.Name, Metadata: req.Metadata, Attributes: req.Attributes})
		if err != nil {
			writeError(w, http.StatusBadGateway, "media_node_error", err.Error())
			return
		}
		s.cfg.Webhooks.Send(WebhookEvent{Event: EventParticipantUpdated, Room: room, NodeID: target, Participant: &p})
		writeJSON(w, http.StatusOK, p)
		return
	}
	p, _, _ := s.findParticipant(r, room, node, identity)
	s.cfg.Webhooks.Send(WebhookEvent{Event: EventParticipantUpdated, Room: room, NodeID: target, Participant: &p})
	writeJSON(w, http.StatusOK, p)
}

// subscriptionsRequest is the body of POST …/subscriptions.
type subscriptionsRequest struct {
	TrackIDs  []string `json:"track_ids"`
	Subscribe bool     `json:"subscribe"`
}

// updateSubscriptions answers POST
// /v1/rooms/{room}/participants/{identity}/subscriptions (API key with
// admin scope, or host grant): subscribe true subscribes the participant
// to the tracks, false unsubscribes it (it stays unsubscribed from them
// until subscribed again). 204.
func (s *Server) updateSubscriptions(w http.ResponseWriter, r *http.Request) {
	room, node, ok := s.authorizeAdmin(w, r)
	if !ok {
		return
	}
	var req subscriptionsRequest
	if !readJSON(w, r, &req) {
		return
	}
	if len(req.TrackIDs) == 0 || len(req.TrackIDs) > 100 {
		writeError(w, http.StatusBadRequest, "invalid_tracks", "track_ids: 1 to 100 track IDs")
		return
	}
	pa, ok := s.participantAdmin(w)
	if !ok {
		return
	}
	identity := r.PathValue("identity")
	ctx, cancel := s.adminCtx(r)
	defer cancel()
	if err := pa.UpdateSubscriptions(ctx, s.book.NodeOf(room, identity, node), room, identity, req.TrackIDs, req.Subscribe); err != nil {
		writeError(w, http.StatusBadGateway, "media_node_error", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// dataRequest is the body of POST /v1/rooms/{room}/data.
type dataRequest struct {
	// Payload is any JSON value; clients get it as a data message with
	// server true (the SDK's "data" event, from "").
	Payload               json.RawMessage `json:"payload"`
	DestinationIdentities []string        `json:"destination_identities"`
}

// MaxServerDataBytes bounds POST …/data's payload.
const MaxServerDataBytes = 60 * 1024

// sendData answers POST /v1/rooms/{room}/data (API key with admin
// scope; clients show it as the app's, so a host's grant may not): the
// payload goes to every participant (or the destination identities) on
// every node of the room. 200 {"delivered": n}, the participants whose
// data channel it was written to.
func (s *Server) sendData(w http.ResponseWriter, r *http.Request) {
	if _, key := s.apiKey(r); !key {
		writeError(w, http.StatusUnauthorized, "api_key_required", "the app's data messages are sent with its API key")
		return
	}
	room, node, ok := s.authorizeAdmin(w, r)
	if !ok {
		return
	}
	var req dataRequest
	if !readJSON(w, r, &req) {
		return
	}
	if len(req.Payload) == 0 || len(req.Payload) > MaxServerDataBytes {
		writeError(w, http.StatusBadRequest, "invalid_payload", fmt.Sprintf("payload: one JSON value of at most %d bytes", MaxServerDataBytes))
		return
	}
	pa, ok := s.participantAdmin(w)
	if !ok {
		return
	}
	ctx, cancel := s.adminCtx(r)
	defer cancel()
	delivered := 0
	var failed error
	for _, n := range s.roomNodes(room, node) {
		got, err := pa.SendData(ctx, n, room, req.Payload, req.DestinationIdentities)
		if err != nil {
			failed = err
			continue
		}
		delivered += got
	}
	if delivered == 0 && failed != nil {
		writeError(w, http.StatusBadGateway, "media_node_error", failed.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"delivered": delivered})
}

package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/orchestrator/api"
)

// TestParticipantAPI: an app (or the host) reads one participant, changes
// its name, metadata, attributes and permissions (publish sources), sends
// the room data, and subscribes or unsubscribes a participant; bad bodies
// are refused with a reason, others may not.
func TestParticipantAPI(t *testing.T) {
	e := newEnv(t, true)
	host, _ := e.join("room-a", "alice", app)
	guest, _ := e.join("room-a", "bob", app)
	e.admin.parts = []api.Participant{{Identity: "app:bob", Name: "Bob", Role: "participant", Tracks: []api.Track{}}}

	r := e.do("GET", "/v1/rooms/room-a/participants/app:bob", host, "")
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	require.Equal(t, "Bob", r.body["name"])
	require.Equal(t, http.StatusNotFound, e.do("GET", "/v1/rooms/room-a/participants/app:nobody", app, "").status)

	r = e.do("PATCH", "/v1/rooms/room-a/participants/app:bob", app, `{"name":"Robert","metadata":"{\"seat\":4}","attributes":{"lang":"de","team":"blue"}}`)
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	require.Equal(t, "Robert", r.body["name"])
	require.Equal(t, `{"seat":4}`, r.body["metadata"])
	require.Equal(t, map[string]any{"lang": "de", "team": "blue"}, r.body["attributes"])
	r = e.do("PATCH", "/v1/rooms/room-a/participants/app:bob", host, `{"attributes":{"team":""}}`)
	require.Equal(t, http.StatusForbidden, r.status, "metadata and attributes are the app's, not the host's: %v", r.body)
	require.Equal(t, "api_key_required", r.body["error"].(map[string]any)["code"])
	r = e.do("PATCH", "/v1/rooms/room-a/participants/app:bob", host, `{"name":"Bob R."}`)
	require.Equal(t, http.StatusOK, r.status, "the host may rename: %v", r.body)
	require.Equal(t, http.StatusForbidden, e.do("PATCH", "/v1/rooms/room-a/participants/app:bob", host, `{"permission":{"hidden":true}}`).status, "nor hide")
	r = e.do("PATCH", "/v1/rooms/room-a/participants/app:bob", app, `{"attributes":{"team":""}}`)
	require.Equal(t, map[string]any{"lang": "de"}, r.body["attributes"], "an empty value deletes the key")
	require.Equal(t, http.StatusBadRequest, e.do("PATCH", "/v1/rooms/room-a/participants/app:bob", app, `{"name":"bad"}`).status, "names are text")

	r = e.do("PATCH", "/v1/rooms/room-a/participants/app:bob", app, `{"permission":{"can_publish":true,"can_subscribe":true,"can_publish_data":false,"can_publish_sources":["microphone"]}}`)
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	require.Equal(t, []string{"microphone"}, e.admin.lastPerms.CanPublishSources)
	require.False(t, e.admin.lastPerms.CanPublishData)
	require.Contains(t, e.admin.actions, "role room-a app:bob participant", "permissions go with the current role")

	for body, why := range map[string]string{
		`{}`: "at least one",
		`{"permission":{"can_publish_sources":["hologram"]}}`: "hologram",
		`{"colour":"red"}`: "colour",
	} {
		r := e.do("PATCH", "/v1/rooms/room-a/participants/app:bob", app, body)
		require.Equal(t, http.StatusBadRequest, r.status, "%s: %v", body, r.body)
		require.Contains(t, r.body["error"].(map[string]any)["message"], why)
	}
	require.Equal(t, http.StatusForbidden, e.do("PATCH", "/v1/rooms/room-a/participants/app:bob", guest, `{"name":"X"}`).status, "a participant may not")

	require.Equal(t, http.StatusUnauthorized, e.do("POST", "/v1/rooms/room-a/data", host, `{"payload":1}`).status, "clients show it as the app's: a host's grant may not send it")
	r = e.do("POST", "/v1/rooms/room-a/data", app, `{"payload":{"alert":"closing in 5 min"},"destination_identities":["app:bob"]}`)
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	require.EqualValues(t, 1, r.body["delivered"])
	require.Contains(t, e.admin.actions, `data room-a {"alert":"closing in 5 min"} to app:bob`)
	require.Equal(t, http.StatusBadRequest, e.do("POST", "/v1/rooms/room-a/data", app, `{}`).status, "no payload")

	require.Equal(t, http.StatusNoContent, e.do("POST", "/v1/rooms/room-a/participants/app:bob/subscriptions", host, `{"track_ids":["t1"],"subscribe":false}`).status)
	require.Contains(t, e.admin.actions, "subscriptions room-a app:bob [t1] false")
	require.Equal(t, http.StatusBadRequest, e.do("POST", "/v1/rooms/room-a/participants/app:bob/subscriptions", host, `{"track_ids":[]}`).status)
}

// TestHiddenJoin: an app may ask for a hidden session (a recorder, a
// moderator watching): its grant says hidden and allows no publishing;
// anonymous joins may not.
func TestHiddenJoin(t *testing.T) {
	e := newEnv(t, true)
	r := e.do("POST", "/v1/rooms/room-h/join", app, `{"identity":"recorder","name":"Rec","hidden":true}`)
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	c, err := grant.PeekClaims(r.body["token"].(string))
	require.NoError(t, err)
	require.True(t, c.Hidden)
	require.False(t, c.CanPublish || c.CanPublishData || c.CanPublishScreen, "hidden sessions do not publish")
	require.True(t, c.CanSubscribe)
	anon := e.do("POST", "/v1/rooms/room-h/join", "", `{"name":"X","hidden":true}`)
	require.Equal(t, http.StatusForbidden, anon.status, "%v", anon.body)
	require.Equal(t, "hidden_not_allowed", anon.body["error"].(map[string]any)["code"])
}

// TestHiddenStaysHidden: a role change keeps a hidden session hidden and
// silent, and it never becomes the room's host.
func TestHiddenStaysHidden(t *testing.T) {
	e := newEnv(t, true)
	r := e.do("POST", "/v1/rooms/room-r/join", app, `{"identity":"recorder","hidden":true}`)
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	require.Equal(t, "participant", r.body["role"], "a hidden session first in the room does not host")
	_, role := e.join("room-r", "alice", app)
	require.Equal(t, "host", role, "the first visible participant hosts")
	require.Equal(t, http.StatusNoContent, e.do("POST", "/v1/rooms/room-r/participants/app:recorder/role", app, `{"role":"presenter"}`).status)
	require.True(t, e.admin.lastPerms.Hidden, "still hidden after a role change")
	require.False(t, e.admin.lastPerms.CanPublish, "and still silent")
}

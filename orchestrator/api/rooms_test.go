package api_test

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/orchestrator/session"
	"github.com/chroom/chroom/orchestrator/store"
)

// TestCreateAndListRooms: an app creates a room with options (201, then
// 200 when it sends them again), lists and reads it; joins learn the
// room's options; a full room refuses the next person; bad options and
// calls without a key are refused with a reason.
func TestCreateAndListRooms(t *testing.T) {
	e := newEnv(t, true)
	r := e.do("POST", "/v1/rooms", app, `{"name":"space-1","mode":"audio_space","max_participants":2,"empty_timeout_s":60,"metadata":"{\"topic\":\"go\"}","realtime_text":true}`)
	require.Equal(t, http.StatusCreated, r.status, "%v", r.body)
	require.Equal(t, "space-1", r.body["name"])
	require.Equal(t, "audio_space", r.body["mode"])
	require.EqualValues(t, 2, r.body["max_participants"])
	require.EqualValues(t, 60, r.body["empty_timeout_s"])
	require.Equal(t, true, r.body["realtime_text"])
	require.Equal(t, true, r.body["created"])
	require.EqualValues(t, 0, r.body["num_participants"])

	r = e.do("POST", "/v1/rooms", app, `{"name":"space-1","mode":"audio_space","max_participants":2,"metadata":"{\"topic\":\"go\"}","realtime_text":true}`)
	require.Equal(t, http.StatusOK, r.status, "the same name again replaces the options: %v", r.body)
	require.EqualValues(t, 300, r.body["empty_timeout_s"], "0 is the default, 300 s")

	// Joins carry the room's options.
	j := e.do("POST", "/v1/rooms/space-1/join", app, `{"identity":"ann","name":"Ann"}`)
	require.Equal(t, http.StatusOK, j.status, "%v", j.body)
	opts := j.body["room_options"].(map[string]any)
	require.Equal(t, "audio_space", opts["mode"])
	require.Equal(t, true, opts["realtime_text"])
	require.Equal(t, `{"topic":"go"}`, opts["metadata"])
	e.join("space-1", "bo", app)
	full := e.do("POST", "/v1/rooms/space-1/join", "", `{"name":"Cy"}`)
	require.Equal(t, http.StatusConflict, full.status, "a third person in a room of 2: %v", full.body)
	require.Equal(t, "room_full", full.body["error"].(map[string]any)["code"])
	again := e.do("POST", "/v1/rooms/space-1/join", app, `{"identity":"ann","name":"Ann"}`)
	require.Equal(t, http.StatusOK, again.status, "someone already in may join again (a second tab, a rejoin): %v", again.body)

	// A room someone joined without creating it has the defaults.
	e.join("plain", "dee", app)
	j = e.do("POST", "/v1/rooms/plain/join", app, `{"identity":"eve","name":"Eve"}`)
	require.Equal(t, "call", j.body["room_options"].(map[string]any)["mode"])

	list := e.do("GET", "/v1/rooms", app, "")
	require.Equal(t, http.StatusOK, list.status, "%v", list.body)
	rooms := list.body["rooms"].([]any)
	require.Len(t, rooms, 2)
	first := rooms[0].(map[string]any)
	require.Equal(t, "plain", first["name"])
	require.Equal(t, false, first["created"])
	require.EqualValues(t, 2, first["num_participants"])
	require.Equal(t, []any{e.media.ID}, first["media_nodes"])
	second := rooms[1].(map[string]any)
	require.Equal(t, "space-1", second["name"])
	require.EqualValues(t, 2, second["num_participants"])

	one := e.do("GET", "/v1/rooms/space-1", app, "")
	require.Equal(t, http.StatusOK, one.status)
	require.Equal(t, "audio_space", one.body["mode"])
	require.Equal(t, http.StatusNotFound, e.do("GET", "/v1/rooms/nowhere", app, "").status)

	for _, c := range []struct {
		body, why string
	}{
		{`{"name":"x","mode":"party"}`, "mode"},
		{`{"name":"x","max_participants":-1}`, "max_participants"},
		{`{"name":"x","empty_timeout_s":99999999}`, "empty_timeout_s"},
		{`{"name":"bad name!"}`, "room"},
		{`{"name":"x","colour":"red"}`, "colour"},
	} {
		r := e.do("POST", "/v1/rooms", app, c.body)
		require.Equal(t, http.StatusBadRequest, r.status, "%s: %v", c.body, r.body)
		require.Contains(t, r.body["error"].(map[string]any)["message"], c.why)
	}
	require.Equal(t, http.StatusUnauthorized, e.do("POST", "/v1/rooms", "", `{"name":"x"}`).status, "creating rooms needs an API key")
	require.Equal(t, http.StatusUnauthorized, e.do("GET", "/v1/rooms", "", "").status)
	require.Equal(t, http.StatusUnauthorized, e.do("GET", "/v1/rooms", "key:wrong", "").status)
}

// TestRoomOptionsSurviveRestartAndExpire: options are in the store; a
// room nobody joined is forgotten after its empty timeout.
func TestRoomOptionsSurviveRestartAndExpire(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orchestrator.db")
	st, err := store.Open(path)
	require.NoError(t, err)
	now := time.Now()
	clock := func() time.Time { return now }
	b := session.New(session.Params{Store: st, Clock: clock})
	_, err = b.SetOptions(session.RoomOptions{Name: "kept", Mode: session.ModeAudioSpace, MaxParticipants: 5, EmptyTimeout: time.Minute})
	require.NoError(t, err)
	_, err = b.SetOptions(session.RoomOptions{Name: "bad", Mode: "party"})
	require.ErrorContains(t, err, "mode")
	require.NoError(t, st.Close())

	st, err = store.Open(path)
	require.NoError(t, err)
	defer st.Close()
	rooms, dropped, err := st.LoadRooms()
	require.NoError(t, err)
	require.Zero(t, dropped)
	require.Len(t, rooms, 1)
	b = session.New(session.Params{Store: st, Clock: clock})
	b.RestoreOptions(rooms)
	o, ok := b.Options("kept")
	require.True(t, ok)
	require.Equal(t, 5, o.MaxParticipants)

	now = now.Add(59 * time.Second)
	b.Prune()
	_, ok = b.Options("kept")
	require.True(t, ok, "within its empty timeout")
	now = now.Add(2 * time.Second)
	b.Prune()
	_, ok = b.Options("kept")
	require.False(t, ok, "empty for longer than its timeout: forgotten")
	rooms, _, err = st.LoadRooms()
	require.NoError(t, err)
	require.Empty(t, rooms, "and deleted from the store")
}

// TestAudioSpaceRoles: in an audio space the app's first participant
// hosts; everyone else listens unless an app asks for a speaker; an
// anonymous join cannot take the stage; grants are audio-only, listeners
// may send data (hands, chat, live text) but not publish, nobody shares a
// screen; the host invites a listener to the stage with a role change.
func TestAudioSpaceRoles(t *testing.T) {
	e := newEnv(t, true)
	require.Equal(t, http.StatusCreated, e.do("POST", "/v1/rooms", app, `{"name":"space","mode":"audio_space"}`).status)
	claims := func(token string) *grant.Claims {
		c, err := grant.PeekClaims(token)
		require.NoError(t, err)
		return c
	}
	hostTok, role := e.join("space", "host", app)
	require.Equal(t, "host", role)
	h := claims(hostTok)
	require.True(t, h.AudioOnly, "audio space grants are audio-only")
	require.True(t, h.CanPublish && h.CanAdmin)
	require.False(t, h.CanPublishScreen, "no screens in an audio space")

	_, role = e.join("space", "late", app)
	require.Equal(t, "viewer", role, "asking no role, an app's later participants listen")
	r := e.do("POST", "/v1/rooms/space/join", app, `{"identity":"speaker","name":"S","role":"participant"}`)
	require.Equal(t, http.StatusOK, r.status, "an app may put a speaker on stage: %v", r.body)
	require.Equal(t, "participant", r.body["role"])

	anon := e.do("POST", "/v1/rooms/space/join", "", `{"name":"L"}`)
	require.Equal(t, http.StatusOK, anon.status)
	require.Equal(t, "viewer", anon.body["role"], "an anonymous join listens")
	l := claims(anon.body["token"].(string))
	require.True(t, l.AudioOnly)
	require.False(t, l.CanPublish, "listeners do not speak")
	require.True(t, l.CanPublishData, "listeners may raise a hand and write")
	bad := e.do("POST", "/v1/rooms/space/join", "", `{"name":"L","role":"participant"}`)
	require.Equal(t, http.StatusForbidden, bad.status, "an anonymous join cannot take the stage: %v", bad.body)
	require.Contains(t, bad.body["error"].(map[string]any)["message"], "audio space")

	// The host invites the listener to the stage.
	ident := anon.body["identity"].(string)
	require.Equal(t, http.StatusNoContent, e.do("POST", "/v1/rooms/space/participants/"+ident+"/role", hostTok, `{"role":"participant"}`).status)
	require.Contains(t, e.admin.actions, "role space "+ident+" participant")
	require.True(t, e.admin.lastPerms.CanPublish, "on stage: may speak")
	require.False(t, e.admin.lastPerms.CanPublishScreen, "still no screens")

	// A call room's grants are not audio-only.
	callTok, _ := e.join("call", "x", app)
	require.False(t, claims(callTok).AudioOnly)
	require.True(t, claims(callTok).CanPublishScreen, "a call's host may share a screen")
}

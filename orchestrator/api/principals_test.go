package api_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/noderpc"
	"github.com/chroom/chroom/orchestrator/api"
	"github.com/chroom/chroom/orchestrator/session"
)

// TestIdentitiesAreBoundToPrincipals: nobody can take a host's identity.
func TestIdentitiesAreBoundToPrincipals(t *testing.T) {
	e := newEnv(t, true)
	e.api = api.New(api.Config{Key: e.key, ChainID: testChainID, APIKeys: map[string]string{"secret-key": "app", "other-key": "other"}, AllowAnonymousJoin: true, Region: "DE", Directory: e.dir, Loads: loads{}, Admin: e.admin, Rewards: rewards{}, Peers: e.peers})
	e.srv.Config.Handler = e.api.Handler()
	host := e.do("POST", "/v1/rooms/r/join", app, `{"identity":"alice"}`)
	require.Equal(t, "app:alice", host.body["identity"])
	require.Equal(t, "host", host.body["role"])

	for _, tc := range []struct {
		name, auth, body string
		status           int
		code, identity   string
	}{
		{"anonymous, naming the host", "", `{"identity":"app:alice"}`, 400, "identity_not_allowed", ""},
		{"anonymous, naming a plain identity", "", `{"identity":"alice"}`, 400, "identity_not_allowed", ""},
		{"another app, same name", "key:other-key", `{"identity":"alice"}`, 200, "", "other:alice"},
		{"another app, the host's full identity", "key:other-key", `{"identity":"app:alice"}`, 200, "", "other:app:alice"},
	} {
		r := e.do("POST", "/v1/rooms/r/join", tc.auth, tc.body)
		require.Equal(t, tc.status, r.status, "%s: %v", tc.name, r.body)
		if tc.code != "" {
			require.Equal(t, tc.code, r.body["error"].(map[string]any)["code"], tc.name)
		} else {
			require.Equal(t, tc.identity, r.body["identity"], tc.name)
			require.Equal(t, "participant", r.body["role"], "%s: never the host", tc.name)
		}
	}
	// Anonymous participants cannot be made host or presenter.
	guest := e.do("POST", "/v1/rooms/r/join", "", `{}`)
	guestID := guest.body["identity"].(string)
	hostToken := host.body["token"].(string)
	for _, role := range []string{"host", "presenter"} {
		r := e.do("POST", "/v1/rooms/r/participants/"+guestID+"/role", hostToken, `{"role":"`+role+`"}`)
		require.Equal(t, http.StatusForbidden, r.status, role)
		require.Equal(t, "role_not_allowed", r.body["error"].(map[string]any)["code"])
	}
	require.Equal(t, http.StatusNoContent, e.do("POST", "/v1/rooms/r/participants/"+guestID+"/role", hostToken, `{"role":"viewer"}`).status)

	// A later grant for the host's identity (a participant's) does not
	// take the host grant's authority away.
	again := e.do("POST", "/v1/rooms/r/join", app, `{"identity":"alice"}`)
	require.Equal(t, "participant", again.body["role"])
	require.Equal(t, http.StatusNoContent, e.do("POST", "/v1/rooms/r/participants/"+guestID+"/role", hostToken, `{"role":"participant"}`).status)
	require.Equal(t, http.StatusForbidden, e.do("POST", "/v1/rooms/r/participants/"+guestID+"/role", again.body["token"].(string), `{"role":"viewer"}`).status)
}

// TestRemovalIsABan: a removed participant cannot rejoin the room while
// its grant would have lasted, unless the host says ban=false.
func TestRemovalIsABan(t *testing.T) {
	e := newEnv(t, true)
	hostToken, _ := e.join("r", "alice", app)
	e.join("r", "bob", app)
	require.Equal(t, http.StatusNoContent, e.do("DELETE", "/v1/rooms/r/participants/app:bob", hostToken, "").status)
	r := e.do("POST", "/v1/rooms/r/join", app, `{"identity":"bob"}`)
	require.Equal(t, http.StatusForbidden, r.status, "%v", r.body)
	require.Equal(t, "banned", r.body["error"].(map[string]any)["code"])
	_, _ = e.join("other-room", "bob", app) // the ban is for that room only

	// An anonymous guest is known by the address it joined from.
	guest := e.do("POST", "/v1/rooms/r/join", "", `{}`)
	require.Equal(t, http.StatusNoContent, e.do("DELETE", "/v1/rooms/r/participants/"+guest.body["identity"].(string), hostToken, "").status)
	r = e.do("POST", "/v1/rooms/r/join", "", `{}`)
	require.Equal(t, http.StatusForbidden, r.status, "a removed guest cannot come back with a fresh identity")

	// ban=false removes without banning; a bad value is refused.
	e.join("r", "carol", app)
	require.Equal(t, http.StatusBadRequest, e.do("DELETE", "/v1/rooms/r/participants/app:carol?ban=maybe", hostToken, "").status)
	require.Equal(t, http.StatusNoContent, e.do("DELETE", "/v1/rooms/r/participants/app:carol?ban=false", hostToken, "").status)
	e.join("r", "carol", app)
}

// TestJoinsAreRateLimited: a burst beyond the per-IP limit gets 429 with
// Retry-After.
func TestJoinsAreRateLimited(t *testing.T) {
	e := newEnv(t, true)
	e.api = api.New(api.Config{Key: e.key, ChainID: testChainID, AllowAnonymousJoin: true, Region: "DE",
		RateLimits: api.RateLimits{JoinPerIP: 0.5, JoinBurstPerIP: 3, AdminPerIP: 0.5, AdminBurstPerIP: 2}, Directory: e.dir, Loads: loads{}, Admin: e.admin, Rewards: rewards{}, Peers: e.peers})
	e.srv.Config.Handler = e.api.Handler()
	for i := 0; i < 3; i++ {
		require.Equal(t, http.StatusOK, e.do("POST", "/v1/rooms/r/join", "", `{}`).status, "join %d of the burst", i+1)
	}
	r := e.do("POST", "/v1/rooms/r/join", "", `{}`)
	require.Equal(t, http.StatusTooManyRequests, r.status)
	require.Equal(t, "rate_limited", r.body["error"].(map[string]any)["code"])
	wait, err := strconv.Atoi(r.header.Get("Retry-After"))
	require.NoError(t, err)
	require.True(t, wait >= 1 && wait <= 2, "Retry-After %d s", wait)

	// Admin calls have their own bucket.
	for i := 0; i < 2; i++ {
		require.NotEqual(t, http.StatusTooManyRequests, e.do("GET", "/v1/rooms/r/participants", "", "").status)
	}
	require.Equal(t, http.StatusTooManyRequests, e.do("GET", "/v1/rooms/r/participants", "", "").status)
}

// TestAPIKeyScopes: a key is confined to its room prefixes and scopes,
// and to its live rooms and grants.
func TestAPIKeyScopes(t *testing.T) {
	e := newEnv(t, false)
	e.api = api.New(api.Config{Key: e.key, ChainID: testChainID, Region: "DE",
		APIKeys: map[string]string{"secret-key": "app", "joiner-key-0001": "joiner", "reader-key-0001": "reader"},
		KeyPolicies: map[string]api.KeyPolicy{
			"app":    {RoomPrefixes: []string{"team-"}, MaxRooms: 2, MaxSessions: 3},
			"joiner": {Scopes: []string{api.ScopeJoin}},
			"reader": {Scopes: []string{api.ScopeStats}},
		}, Directory: e.dir, Loads: loads{}, Admin: e.admin, Rewards: rewards{}, Peers: e.peers})
	e.srv.Config.Handler = e.api.Handler()
	code := func(r response) string { return r.body["error"].(map[string]any)["code"].(string) }

	r := e.do("POST", "/v1/rooms/other/join", app, `{"identity":"a"}`)
	require.Equal(t, http.StatusForbidden, r.status)
	require.Equal(t, "room_not_allowed", code(r))
	require.Equal(t, http.StatusForbidden, e.do("DELETE", "/v1/rooms/other", app, "").status, "admin outside the prefix")

	// Bounded rooms and grants: 2 rooms, 3 grants.
	e.join("team-a", "a", app)
	e.join("team-a", "b", app)
	e.join("team-b", "c", app)
	r = e.do("POST", "/v1/rooms/team-c/join", app, `{"identity":"d"}`)
	require.Equal(t, http.StatusForbidden, r.status)
	require.Equal(t, "quota_exceeded", code(r))

	// Scopes.
	e.join("team-a", "j", "key:joiner-key-0001")
	r = e.do("DELETE", "/v1/rooms/team-a/participants/app:a", "key:joiner-key-0001", "")
	require.Equal(t, http.StatusForbidden, r.status)
	require.Equal(t, "scope_denied", code(r))
	require.Equal(t, http.StatusOK, e.do("GET", "/v1/rooms/team-a/participants", "key:reader-key-0001", "").status)
	require.Equal(t, "scope_denied", code(e.do("POST", "/v1/rooms/team-a/join", "key:reader-key-0001", `{"identity":"r"}`)))
	require.Equal(t, "scope_denied", code(e.do("DELETE", "/v1/rooms/team-a", "key:reader-key-0001", "")))
}

// TestSessionEvents: the media node serving a grant reports its session;
// the record gets connect and disconnect times, webhooks go out, and any
// other node's report about it is dropped.
func TestSessionEvents(t *testing.T) {
	saved := &recorder{}
	events := make(chan string, 16)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev api.WebhookEvent
		_ = json.NewDecoder(r.Body).Decode(&ev)
		events <- ev.Event
	}))
	defer recv.Close()
	hooks := api.NewWebhooks(recv.URL, []byte("a-webhook-secret-123"), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go hooks.Run(ctx)
	e := newEnv(t, true)
	e.api = api.New(api.Config{Key: e.key, ChainID: testChainID, APIKeys: map[string]string{"secret-key": "app"}, Region: "DE", Webhooks: hooks,
		Sessions: session.New(session.Params{Store: saved, Nodes: api.Candidates(e.dir, loads{})}), Directory: e.dir, Loads: loads{}, Admin: e.admin, Rewards: rewards{}, Peers: e.peers})
	e.srv.Config.Handler = e.api.Handler()
	token, _ := e.join("r", "alice", app)
	claims, err := grant.PeekClaims(token)
	require.NoError(t, err)
	at := time.UnixMilli(1_767_000_000_000)
	ev := func(typ string) api.SessionEvent {
		return api.SessionEvent{Type: typ, Room: "r", Identity: "app:alice", GrantID: claims.ID, At: at}
	}
	require.Len(t, saved.sessions, 1)

	// Another node (or a wrong identity) cannot report this session.
	require.True(t, e.api.SessionEvent(mustKey(t).ID, ev(noderpc.SessionJoined)), "dropped, not retried")
	wrong := ev(noderpc.SessionJoined)
	wrong.Identity = "app:mallory"
	require.True(t, e.api.SessionEvent(e.media.ID, wrong))
	require.Len(t, saved.sessions, 1, "nothing recorded")

	require.True(t, e.api.SessionEvent(e.media.ID, ev(noderpc.SessionJoined)))
	require.Equal(t, at, saved.sessions[len(saved.sessions)-1].ConnectedAt)
	aborted := ev(noderpc.SessionConnectionAborted)
	aborted.At = at.Add(time.Minute)
	require.True(t, e.api.SessionEvent(e.media.ID, aborted))
	require.Equal(t, at.Add(time.Minute), saved.sessions[len(saved.sessions)-1].DisconnectedAt)
	var got []string
	for len(got) < 3 {
		select {
		case ev := <-events:
			got = append(got, ev)
		case <-time.After(5 * time.Second):
			t.Fatalf("webhooks: got only %v", got)
		}
	}
	require.Equal(t, []string{api.EventRoomStarted, api.EventParticipantJoined, api.EventParticipantConnectionAborted}, got)
}

// recorder is a session.Store that keeps what it is given.
type recorder struct {
	sessions []session.Record
	bans     []session.Ban
}

func (r *recorder) PutSession(rec session.Record) error {
	r.sessions = append(r.sessions, rec)
	return nil
}
func (r *recorder) PutBan(b session.Ban) error { r.bans = append(r.bans, b); return nil }

// TestAttestedJoinAndStatements: a join with a client key gets a grant
// binding it (cnf) and the chain ID; that grant's usage reports must be
// statements signed with the key.
func TestAttestedJoinAndStatements(t *testing.T) {
	e := newEnv(t, true)
	pub, priv, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	key := base64.RawURLEncoding.EncodeToString(pub)

	bad := e.do("POST", "/v1/rooms/r/join", "", `{"name":"N","client_key":"not-a-key"}`)
	require.Equal(t, http.StatusBadRequest, bad.status)
	require.Equal(t, "invalid_client_key", bad.body["error"].(map[string]any)["code"])

	r := e.do("POST", "/v1/rooms/r/join", "", fmt.Sprintf(`{"name":"N","client_key":%q}`, key))
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	require.Equal(t, testChainID, r.body["chain_id"])
	token := r.body["token"].(string)
	claims, err := grant.PeekClaims(token)
	require.NoError(t, err)
	require.NotNil(t, claims.Cnf)
	got, err := claims.Cnf.JWK.Ed25519Key()
	require.NoError(t, err)
	require.Equal(t, []byte(pub), got, "the grant binds the client's key")

	statement := func(seq, elapsed uint64, k ed25519.PrivateKey) string {
		st := &format.UsageStatement{GrantId: claims.ID, Seq: seq, ElapsedMs: elapsed, BytesReceived: 5000, FramesDecoded: 10}
		msg, err := st.SignBytes(testChainID)
		require.NoError(t, err)
		return fmt.Sprintf(`{"bytes_received":5000,"frames_decoded":10,"seq":%d,"elapsed_ms":%d,"signature":%q}`,
			seq, elapsed, base64.RawURLEncoding.EncodeToString(ed25519.Sign(k, msg)))
	}
	_, other, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	for _, tc := range []struct {
		name, body string
		status     int
	}{
		{"unsigned", `{"bytes_received":5000,"frames_decoded":10}`, http.StatusBadRequest},
		{"signed by another key", statement(1, 100, other), http.StatusBadRequest},
		{"valid", statement(1, 100, priv), http.StatusNoContent},
		{"replayed", statement(1, 100, priv), http.StatusBadRequest},
		{"far ahead of the clock", statement(2, 3_600_000, priv), http.StatusBadRequest},
		{"next", statement(2, 200, priv), http.StatusNoContent},
	} {
		res := e.do("POST", "/v1/rooms/r/stats", token, tc.body)
		require.Equal(t, tc.status, res.status, "%s: %v", tc.name, res.body)
		if tc.status == http.StatusBadRequest && tc.name != "unsigned" {
			require.Equal(t, "invalid_statement", res.body["error"].(map[string]any)["code"], tc.name)
		}
	}
}

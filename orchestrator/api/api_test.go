package api_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/noderpc"
	"github.com/chroom/chroom/orchestrator/api"
	"github.com/chroom/chroom/orchestrator/selector"
	"github.com/chroom/chroom/orchestrator/session"
	"github.com/chroom/chroom/orchestrator/store"
)

// directory is a fixed registry.
type directory struct {
	mu    sync.Mutex
	nodes map[string]api.NodeInfo
}

func (d *directory) list(typ string) []api.NodeInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []api.NodeInfo
	for _, n := range d.nodes {
		if n.Type == typ && n.Status == "active" {
			out = append(out, n)
		}
	}
	return out
}
func (d *directory) ActiveMediaNodes() []api.NodeInfo    { return d.list("media") }
func (d *directory) ActiveOrchestrators() []api.NodeInfo { return d.list("orchestrator") }
func (d *directory) Node(id string) (api.NodeInfo, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, ok := d.nodes[id]
	return n, ok
}
func (d *directory) Ready() bool { return true }

// loads reports every media node as fresh and idle.
type loads struct{}

// Load reports a second ago: fresh, and older than a node marked down
// during the test (a real node's next report comes seconds later).
func (loads) Load(string) (*selector.Load, bool) {
	return &selector.Load{Participants: 1, ReportedAt: time.Now().Add(-time.Second)}, true
}

// admin records the actions carried out on media nodes.
type admin struct {
	mu      sync.Mutex
	actions []string
	// lastPerms are the permissions of the last SetRole.
	lastPerms grant.Permissions
	parts     []api.Participant
	// open: participants by node ID and room, for FindRoom; finds counts
	// FindRoom calls.
	open  map[string]map[string]int
	finds int
}

func (a *admin) FindRoom(_ context.Context, node, room string) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.finds++
	return a.open[node][room], nil
}

func (a *admin) record(s string) { a.mu.Lock(); a.actions = append(a.actions, s); a.mu.Unlock() }
func (a *admin) ListParticipants(_ context.Context, node, room string) ([]api.Participant, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]api.Participant(nil), a.parts...), nil
}
func (a *admin) UpdateParticipant(_ context.Context, node, room, id string, u api.ParticipantUpdate) (api.Participant, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range a.parts {
		p := &a.parts[i]
		if p.Identity != id {
			continue
		}
		if u.Name != nil {
			p.Name = *u.Name
		}
		if u.Metadata != nil {
			p.Metadata = *u.Metadata
		}
		for k, v := range u.Attributes {
			if p.Attributes == nil {
				p.Attributes = map[string]string{}
			}
			if v == "" {
				delete(p.Attributes, k)
			} else {
				p.Attributes[k] = v
			}
		}
		a.actions = append(a.actions, "update "+room+" "+id)
		return *p, nil
	}
	return api.Participant{}, errors.New("rpc error: code = NotFound")
}
func (a *admin) SendData(_ context.Context, node, room string, payload []byte, to []string) (int, error) {
	a.record("data " + room + " " + string(payload) + " to " + strings.Join(to, ","))
	return max(1, len(to)), nil
}
func (a *admin) UpdateSubscriptions(_ context.Context, node, room, id string, tracks []string, on bool) error {
	a.record(fmt.Sprintf("subscriptions %s %s %v %v", room, id, tracks, on))
	return nil
}
func (a *admin) MuteTrack(_ context.Context, node, room, id, track string, muted bool) error {
	a.record(fmt.Sprintf("mute %s %s %s %v", room, id, track, muted))
	return nil
}
func (a *admin) RemoveParticipant(_ context.Context, node, room, id string) error {
	a.record("remove " + room + " " + id)
	return nil
}
func (a *admin) SetRole(_ context.Context, node, room, id string, role grant.Role, p grant.Permissions) error {
	a.record("role " + room + " " + id + " " + string(role))
	a.mu.Lock()
	a.lastPerms = p
	a.mu.Unlock()
	return nil
}
func (a *admin) EndRoom(_ context.Context, node, room string) error {
	a.record("end " + room)
	return nil
}

// LinkRoom records the pulling node, the serving node and the relay grant.
func (a *admin) LinkRoom(_ context.Context, node, room, peer, url, token string) error {
	a.record("link " + room + " " + node + " from " + peer + " " + url + " " + token)
	return nil
}

type rewards struct{}

func (rewards) Claimable(context.Context, string) (string, string, error) { return "1234", "uchr", nil }

// peers: every orchestrator is healthy unless listed as down.
type peers struct {
	mu   sync.Mutex
	down map[string]bool
}

func (p *peers) Healthy(id string) bool { p.mu.Lock(); defer p.mu.Unlock(); return !p.down[id] }

type env struct {
	t     *testing.T
	key   *format.NodeKey
	media *format.NodeKey
	dir   *directory
	admin *admin
	peers *peers
	srv   *httptest.Server
	api   *api.Server
	// nodeDown makes the test probe of a media node fail; probed counts probes.
	nodeDown atomic.Bool
	probed   atomic.Int32
}

func newEnv(t *testing.T, anonymous bool) *env {
	e := &env{t: t, key: mustKey(t), media: mustKey(t), admin: &admin{}, peers: &peers{down: map[string]bool{}}}
	e.dir = &directory{nodes: map[string]api.NodeInfo{}}
	e.dir.nodes[e.media.ID] = api.NodeInfo{ID: e.media.ID, Type: "media", Status: "active", Operator: "chroom1op", Region: "DE",
		Endpoints: []string{"http://media.example:7880", "http://media.example:7881/rpc"}, MaxSessions: 100, MaxEgressKbps: 1_000_000, Quality: 1}
	e.api = api.New(api.Config{Key: e.key, ChainID: testChainID, APIKeys: map[string]string{"secret-key": "app"}, AllowAnonymousJoin: anonymous, Region: "DE", Directory: e.dir, Loads: loads{}, Admin: e.admin, Rewards: rewards{}, Peers: e.peers,
		Probe: func(_ context.Context, n api.NodeInfo) error {
			e.probed.Add(1)
			if e.nodeDown.Load() {
				return errors.New("connection refused")
			}
			return nil
		}})
	e.srv = httptest.NewServer(e.api.Handler())
	e.dir.nodes[e.key.ID] = api.NodeInfo{ID: e.key.ID, Type: "orchestrator", Status: "active", Endpoints: []string{e.srv.URL}}
	t.Cleanup(e.srv.Close)
	return e
}

func mustKey(t *testing.T) *format.NodeKey {
	k, err := format.GenerateNodeKey(nil)
	require.NoError(t, err)
	return k
}

type response struct {
	status int
	header http.Header
	body   map[string]any
}

func (e *env) do(method, path, auth, body string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	require.NoError(e.t, err)
	if strings.HasPrefix(auth, "key:") {
		req.Header.Set("X-API-Key", strings.TrimPrefix(auth, "key:"))
	} else if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header}
	if len(raw) > 0 {
		require.NoError(e.t, json.Unmarshal(raw, &out.body), string(raw))
	}
	return out
}

// app is the test API key (app "app").
const app = "key:secret-key"

// join joins room: with an API key (auth "key:…") as identity; anonymous
// (auth "") with the identity the orchestrator assigns.
func (e *env) join(room, identity, auth string) (token string, role string) {
	e.t.Helper()
	body := `{"name":"N"}`
	if auth != "" {
		body = fmt.Sprintf(`{"identity":%q,"name":"N"}`, identity)
	}
	r := e.do("POST", "/v1/rooms/"+room+"/join", auth, body)
	require.Equal(e.t, http.StatusOK, r.status, "%v", r.body)
	return r.body["token"].(string), r.body["role"].(string)
}

func TestJoinIssuesAGrantForTheChosenNode(t *testing.T) {
	e := newEnv(t, true)
	r := e.do("POST", "/v1/rooms/standup/join", app, `{"identity":"alice","name":"Alice"}`)
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	require.Equal(t, "host", r.body["role"], "an app's first participant hosts")
	require.Equal(t, "app:alice", r.body["identity"], "an app names identities in its own namespace")
	mn := r.body["media_node"].(map[string]any)
	require.Equal(t, e.media.ID, mn["id"])
	require.Equal(t, "ws://media.example:7880/rtc", mn["ws_url"])
	require.Equal(t, "http://media.example:7880/whip", mn["whip_url"])

	// The grant verifies at the media node: EdDSA, issuer, audience, room.
	v := &grant.Verifier{Audience: e.media.ID, ChainID: testChainID, Issuers: staticIssuer{e.key}}
	c, err := v.Verify(r.body["token"].(string))
	require.NoError(t, err)
	require.Equal(t, "standup", c.Room)
	require.Equal(t, "app:alice", c.Subject)
	require.True(t, c.CanAdmin)

	_, role := e.join("standup", "bob", app)
	require.Equal(t, "participant", role, "later participants do not host")

	// An anonymous join gets an identity from the orchestrator and never
	// hosts, even first in a room.
	r = e.do("POST", "/v1/rooms/open/join", "", `{"name":"Guest"}`)
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	require.Equal(t, "participant", r.body["role"])
	require.Regexp(t, `^guest-[0-9a-f]{12}$`, r.body["identity"])
}

type staticIssuer struct{ k *format.NodeKey }

func (s staticIssuer) OrchestratorKey(id string) (ed25519.PublicKey, error) {
	if id == s.k.ID {
		return s.k.PublicKey, nil
	}
	return nil, grant.ErrUnknownIssuer
}

func TestJoinRejectsBadInput(t *testing.T) {
	e := newEnv(t, false)
	tests := []struct {
		name, path, auth, body string
		status                 int
		code                   string
	}{
		{"no API key", "/v1/rooms/r/join", "", `{"identity":"a"}`, 401, "api_key_required"},
		{"unknown API key", "/v1/rooms/r/join", "key:nope", `{"identity":"a"}`, 401, "unknown_api_key"},
		{"room name with a slash", "/v1/rooms/a%2Fb/join", "key:secret-key", `{"identity":"a"}`, 400, "invalid_room"},
		{"room name too long", "/v1/rooms/" + strings.Repeat("r", 65) + "/join", "key:secret-key", `{"identity":"a"}`, 400, "invalid_room"},
		{"room name with a space", "/v1/rooms/a%20b/join", "key:secret-key", `{"identity":"a"}`, 400, "invalid_room"},
		{"empty identity", "/v1/rooms/r/join", "key:secret-key", `{"identity":""}`, 400, "invalid_identity"},
		{"identity with a control character", "/v1/rooms/r/join", "key:secret-key", `{"identity":"a\u0001"}`, 400, "invalid_identity"},
		{"unknown role", "/v1/rooms/r/join", "key:secret-key", `{"identity":"a","role":"king"}`, 400, "invalid_role"},
		{"unknown field", "/v1/rooms/r/join", "key:secret-key", `{"identity":"a","admin":true}`, 400, "malformed_body"},
		{"not JSON", "/v1/rooms/r/join", "key:secret-key", `identity=a`, 400, "malformed_body"},
		{"oversized body", "/v1/rooms/r/join", "key:secret-key", `{"identity":"` + strings.Repeat("a", api.MaxBodyBytes) + `"}`, 413, "body_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", tc.path, tc.auth, tc.body)
			require.Equal(t, tc.status, r.status, "%v", r.body)
			errObj := r.body["error"].(map[string]any)
			require.Equal(t, tc.code, errObj["code"])
			require.NotEmpty(t, errObj["message"])
		})
	}
	// Anonymous callers may not ask to host.
	anon := newEnv(t, true)
	r := anon.do("POST", "/v1/rooms/r/join", "", `{"role":"host"}`)
	require.Equal(t, http.StatusForbidden, r.status)
	r = anon.do("POST", "/v1/rooms/r/join", "", `{"role":"presenter"}`)
	require.Equal(t, http.StatusForbidden, r.status)
	// An app may choose roles.
	r = e.do("POST", "/v1/rooms/r/join", "key:secret-key", `{"identity":"v","role":"viewer"}`)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "viewer", r.body["role"])
}

func TestHostAdmin(t *testing.T) {
	e := newEnv(t, true)
	host, _ := e.join("room-a", "alice", app)
	guest, _ := e.join("room-a", "bob", app)
	otherRoom, _ := e.join("room-b", "carol", app)

	// Only the host (or an app) may administer.
	for _, tc := range []struct {
		name, auth string
		status     int
	}{
		{"host", host, 204}, {"app key", "key:secret-key", 204}, {"guest", guest, 403},
		{"host of another room", otherRoom, 401}, {"garbage", "a.b.c", 401}, {"none", "", 401},
	} {
		r := e.do("POST", "/v1/rooms/room-a/participants/app:bob/mute", tc.auth, `{"track_id":"t1","muted":true}`)
		require.Equal(t, tc.status, r.status, "%s: %v", tc.name, r.body)
	}
	require.Equal(t, 204, e.do("POST", "/v1/rooms/room-a/participants/app:bob/role", host, `{"role":"presenter"}`).status)
	require.Equal(t, 400, e.do("POST", "/v1/rooms/room-a/participants/app:bob/role", host, `{"role":"emperor"}`).status)
	require.Equal(t, 204, e.do("DELETE", "/v1/rooms/room-a/participants/app:bob", host, "").status)
	require.Equal(t, 200, e.do("GET", "/v1/rooms/room-a/participants", host, "").status)
	require.Equal(t, 204, e.do("DELETE", "/v1/rooms/room-a", host, "").status)
	require.Equal(t, []string{"mute room-a app:bob t1 true", "mute room-a app:bob t1 true", "role room-a app:bob presenter", "remove room-a app:bob", "end room-a"}, e.admin.actions)

	// Client stats need the participant's own grant.
	require.Equal(t, 204, e.do("POST", "/v1/rooms/room-b/stats", otherRoom, `{"bytes_received":100,"frames_decoded":5}`).status)
	require.Equal(t, 401, e.do("POST", "/v1/rooms/room-b/stats", "x.y.z", `{"bytes_received":100}`).status)
}

func TestHostSuccession(t *testing.T) {
	e := newEnv(t, true)
	e.join("room-a", "alice", app)
	e.join("room-a", "bob", app)
	e.join("room-a", "carol", app)
	e.join("room-a", "", "")
	// Alice left; an anonymous guest has been there longest, but anonymous
	// participants never host: bob, next longest, is promoted.
	e.admin.parts = []api.Participant{{Identity: "app:carol", Role: "participant", JoinedAtUnixMs: 300}, {Identity: "app:bob", Role: "participant", JoinedAtUnixMs: 200},
		{Identity: "guest-0123456789ab", Role: "participant", JoinedAtUnixMs: 100}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.api.RunRoomKeeper(ctx, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		e.admin.mu.Lock()
		defer e.admin.mu.Unlock()
		return len(e.admin.actions) > 0 && e.admin.actions[0] == "role room-a app:bob host"
	}, 2*time.Second, 10*time.Millisecond)
}

func TestNodeInfoAndOpenAPI(t *testing.T) {
	e := newEnv(t, true)
	r := e.do("GET", "/v1/nodes/"+e.media.ID, "", "")
	require.Equal(t, 200, r.status)
	require.Equal(t, map[string]any{"denom": "uchr", "amount": "1234"}, r.body["claimable_rewards"])
	require.Equal(t, 400, e.do("GET", "/v1/nodes/xyz", "", "").status)
	require.Equal(t, 404, e.do("GET", "/v1/nodes/"+strings.Repeat("a", 40), "", "").status)
	doc := e.do("GET", "/v1/openapi.json", "", "")
	require.Equal(t, 200, doc.status)
	paths := doc.body["paths"].(map[string]any)
	for path, method := range map[string]string{"/v1/rooms": "post", "/v1/rooms/{room}": "get", "/v1/rooms/{room}/join": "post",
		"/v1/rooms/{room}/placement": "get", "/v1/rooms/{room}/participants": "get", "/v1/rooms/{room}/participants/{identity}": "patch",
		"/v1/rooms/{room}/data": "post", "/v1/rooms/{room}/participants/{identity}/subscriptions": "post"} {
		require.Contains(t, paths, path)
		require.Contains(t, paths[path], method, path)
	}
	require.Contains(t, paths["/v1/rooms/{room}"], "delete", "one entry per path holds every method")
	require.Contains(t, paths["/v1/rooms/{room}/participants/{identity}"], "delete")
}

// TestTwoOrchestrators: each room belongs to one of them; the other
// answers 307 with the owner's URL; when the owner stops being healthy,
// the other takes the room.
func TestTwoOrchestrators(t *testing.T) {
	a := newEnv(t, true)
	b := newEnv(t, true)
	// One registry for both.
	b.dir = a.dir
	b.api = api.New(api.Config{Key: b.key, ChainID: testChainID, AllowAnonymousJoin: true, Region: "DE", Directory: a.dir, Loads: loads{}, Admin: b.admin, Rewards: rewards{}, Peers: b.peers})
	b.srv.Config.Handler = b.api.Handler()
	a.dir.nodes[b.key.ID] = api.NodeInfo{ID: b.key.ID, Type: "orchestrator", Status: "active", Endpoints: []string{b.srv.URL}}

	var roomOfB string
	for i := 0; ; i++ {
		room := fmt.Sprint("room-", i)
		if selector.Owner(room, []string{a.key.ID, b.key.ID}) == b.key.ID {
			roomOfB = room
			break
		}
	}
	r := a.do("POST", "/v1/rooms/"+roomOfB+"/join", "", `{}`)
	require.Equal(t, http.StatusTemporaryRedirect, r.status)
	require.Equal(t, b.srv.URL+"/v1/rooms/"+roomOfB+"/join", r.header.Get("Location"))
	r = b.do("POST", "/v1/rooms/"+roomOfB+"/join", "", `{}`)
	require.Equal(t, http.StatusOK, r.status)

	// B stops answering its health checks: A takes the room.
	a.peers.mu.Lock()
	a.peers.down[b.key.ID] = true
	a.peers.mu.Unlock()
	r = a.do("POST", "/v1/rooms/"+roomOfB+"/join", "", `{}`)
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
}

func TestNoMediaNode(t *testing.T) {
	e := newEnv(t, true)
	e.dir.mu.Lock()
	delete(e.dir.nodes, e.media.ID)
	e.dir.mu.Unlock()
	r := e.do("POST", "/v1/rooms/r/join", "", `{}`)
	require.Equal(t, http.StatusServiceUnavailable, r.status)
	require.Equal(t, "no_media_node", r.body["error"].(map[string]any)["code"])
}

// FuzzJoin: no body, path or header makes the API panic or answer 5xx
// other than 503 (no node).
func FuzzJoin(f *testing.F) {
	for _, s := range []string{`{"identity":"a"}`, `{"identity":"a","role":"viewer","name":"é"}`, `{`, `null`, `[]`, `{"identity":1}`} {
		f.Add("room", s)
	}
	e := newEnv(&testing.T{}, true)
	f.Fuzz(func(t *testing.T, room, body string) {
		req := httptest.NewRequest("POST", "/v1/rooms/x/join", strings.NewReader(body))
		req.SetPathValue("room", room)
		w := httptest.NewRecorder()
		e.api.Handler().ServeHTTP(w, httptest.NewRequest("POST", "/v1/rooms/"+urlSafe(room)+"/join", strings.NewReader(body)))
		if w.Code >= 500 && w.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d for room %q body %q: %s", w.Code, room, body, w.Body.String())
		}
		_ = req
	})
}

func urlSafe(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// TestSessionsSurviveRestart: grants issued before a restart still match
// receipts afterwards (records and bans come back from the store), and
// their room stays on its node.
func TestSessionsSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orchestrator.db")
	st, err := store.Open(path)
	require.NoError(t, err)
	e := newEnv(t, true)
	nodes := api.Candidates(e.dir, loads{})
	e.api = api.New(api.Config{Key: e.key, ChainID: testChainID, AllowAnonymousJoin: true, Region: "DE", Sessions: session.New(session.Params{Store: st, Nodes: nodes}),
		Directory: e.dir, Loads: loads{}, Admin: e.admin, Rewards: rewards{}, Peers: e.peers})
	e.srv.Config.Handler = e.api.Handler()
	token, _ := e.join("room-a", "alice", "")
	claims, err := grant.PeekClaims(token)
	require.NoError(t, err)
	require.True(t, e.api.SessionEvent(e.media.ID, api.SessionEvent{Type: noderpc.SessionJoined, Room: "room-a",
		Identity: claims.Subject, GrantID: claims.ID, At: time.Now().Add(-time.Minute)}))
	require.NoError(t, st.Close())

	st, err = store.Open(path)
	require.NoError(t, err)
	defer st.Close()
	recs, bans, _, err := st.Load(time.Now(), time.Hour)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Empty(t, bans)
	restarted := session.New(session.Params{Store: st, Nodes: nodes})
	check := session.Checker{Book: restarted, Tolerance: session.Tolerance{Clock: time.Minute}}
	r := &format.UsageReceipt{SessionId: format.GrantSessionID(e.key.ID, claims.ID, 0), RoomHash: format.RoomHash("room-a"),
		MediaNodeId: e.media.ID, OrchestratorId: e.key.ID,
		StartUnixMs: time.Now().Add(-time.Minute).UnixMilli(), EndUnixMs: time.Now().UnixMilli()}
	_, err = check.Check(r)
	require.ErrorIs(t, err, session.ErrUnknownSession, "nothing restored yet")
	restarted.Restore(recs, bans)
	_, err = check.Check(r)
	require.NoError(t, err)
	node, ok := restarted.Node("room-a")
	require.True(t, ok)
	require.Equal(t, e.media.ID, node)
}

func TestWebhooks(t *testing.T) {
	type got struct {
		ev  api.WebhookEvent
		sig string
	}
	events := make(chan got, 16)
	hooks := api.NewWebhooks("", []byte("a-webhook-secret-123"), nil)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get("X-Chroom-Timestamp"), 10, 64)
		var ev api.WebhookEvent
		require.NoError(t, json.Unmarshal(body, &ev))
		if r.Header.Get("X-Chroom-Signature") != hooks.Sign(ts, body) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		events <- got{ev, r.Header.Get("X-Chroom-Signature")}
	}))
	defer recv.Close()
	hooks.URL = recv.URL
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go hooks.Run(ctx)

	e := newEnv(t, true)
	e.api = api.New(api.Config{Key: e.key, ChainID: testChainID, APIKeys: map[string]string{"secret-key": "app"}, AllowAnonymousJoin: true, Region: "DE", Webhooks: hooks, Directory: e.dir, Loads: loads{}, Admin: e.admin, Rewards: rewards{}, Peers: e.peers})
	e.srv.Config.Handler = e.api.Handler()
	host, _ := e.join("room-w", "alice", app)
	// The media node reports alice's session: participant_joined.
	claims, err := grant.PeekClaims(host)
	require.NoError(t, err)
	require.True(t, e.api.SessionEvent(e.media.ID, api.SessionEvent{Type: noderpc.SessionJoined, Room: "room-w", Identity: "app:alice", GrantID: claims.ID, At: time.Now()}))
	require.Equal(t, 204, e.do("DELETE", "/v1/rooms/room-w", host, "").status)

	var seen []string
	deadline := time.After(5 * time.Second)
	for len(seen) < 3 {
		select {
		case g := <-events:
			require.Equal(t, "room-w", g.ev.Room)
			seen = append(seen, g.ev.Event)
		case <-deadline:
			t.Fatalf("got only %v", seen)
		}
	}
	require.Equal(t, api.EventRoomStarted, seen[0])
	require.Contains(t, seen, api.EventParticipantJoined)
	require.Contains(t, seen, api.EventRoomFinished)
}

// testChainID is the chain the test orchestrators' grants are bound to.
const testChainID = "chroom-test-1"

// TestPlacementByMeasuredRTT: a client asks which nodes to measure, sends
// its round-trip times with the join, and a new room goes to the nearest
// node, even one outside its region; once the room lives there, the
// placement names that node first, and a later participant joins it
// unless it measured another node much nearer (the room then spans both:
// cascading). Bad measurements are refused.
func TestPlacementByMeasuredRTT(t *testing.T) {
	e := newEnv(t, true)
	far := mustKey(t)
	e.dir.nodes[far.ID] = api.NodeInfo{ID: far.ID, Type: "media", Status: "active", Operator: "chroom1op2", Region: "JP",
		Endpoints: []string{"https://far.example", "https://far.example/rpc"}, MaxSessions: 100, MaxEgressKbps: 1_000_000, Quality: 1}

	r := e.do("GET", "/v1/rooms/near/placement?region=DE", "", "")
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	require.Equal(t, false, r.body["placed"])
	nodes := r.body["nodes"].([]any)
	require.Len(t, nodes, 2)
	first := nodes[0].(map[string]any)
	require.Equal(t, e.media.ID, first["id"], "the client's region first")
	require.Equal(t, "http://media.example:7880/ping", first["ping_url"])
	require.Equal(t, "https://far.example/ping", nodes[1].(map[string]any)["ping_url"])

	r = e.do("POST", "/v1/rooms/near/join", "", fmt.Sprintf(`{"name":"A","region":"DE","rtt_ms":{%q: 80, %q: 9.5}}`, e.media.ID, far.ID))
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	require.Equal(t, far.ID, r.body["media_node"].(map[string]any)["id"], "the nearest node, though not in the region")

	r = e.do("GET", "/v1/rooms/near/placement", "", "")
	require.Equal(t, true, r.body["placed"])
	require.Len(t, r.body["nodes"].([]any), 2)
	require.Equal(t, far.ID, r.body["nodes"].([]any)[0].(map[string]any)["id"], "the room's node first")
	r = e.do("POST", "/v1/rooms/near/join", "", fmt.Sprintf(`{"name":"B","rtt_ms":{%q: 45, %q: 50}}`, e.media.ID, far.ID))
	require.Equal(t, far.ID, r.body["media_node"].(map[string]any)["id"], "a live room keeps a participant for whom another node is only a little nearer")
	r = e.do("POST", "/v1/rooms/near/join", "", fmt.Sprintf(`{"name":"C","rtt_ms":{%q: 1, %q: 80}}`, e.media.ID, far.ID))
	require.Equal(t, e.media.ID, r.body["media_node"].(map[string]any)["id"], "a participant 79 ms nearer to another node is placed there")
	r = e.do("GET", "/v1/rooms/near/placement", "", "")
	ids := []string{}
	for _, n := range r.body["nodes"].([]any) {
		ids = append(ids, n.(map[string]any)["id"].(string))
	}
	require.Equal(t, []string{far.ID, e.media.ID}, ids, "the room's two nodes, first first")
	r = e.do("POST", "/v1/rooms/near/join", "", fmt.Sprintf(`{"name":"D","rtt_ms":{%q: 9}}`, far.ID))
	require.Equal(t, far.ID, r.body["media_node"].(map[string]any)["id"], "the nearest of the room's nodes")

	for _, bad := range []string{`{"rtt_ms":{"x": 0}}`, `{"rtt_ms":{"x": -3}}`, `{"rtt_ms":{"x": 60001}}`, `{"rtt_ms":{"": 5}}`,
		`{"rtt_ms":{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1}}`} {
		r := e.do("POST", "/v1/rooms/other/join", "", bad)
		require.Equal(t, http.StatusBadRequest, r.status, bad)
		require.Equal(t, "invalid_rtt", r.body["error"].(map[string]any)["code"], bad)
	}
	require.Equal(t, http.StatusBadRequest, e.do("GET", "/v1/rooms/bad%20room/placement", "", "").status)
}

// TestJoinAgainAfterTheNodeDied: a client whose media node stopped
// answering joins again naming it unreachable_node. The orchestrator
// probes the node: down, the room moves to another node; answering, it
// stays. A node that is not the room's is not even probed.
func TestJoinAgainAfterTheNodeDied(t *testing.T) {
	e := newEnv(t, true)
	r := e.do("POST", "/v1/rooms/moving/join", "", `{"name":"A"}`)
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	first := r.body["media_node"].(map[string]any)["id"].(string)
	require.Equal(t, e.media.ID, first)
	other := mustKey(t)
	e.dir.nodes[other.ID] = api.NodeInfo{ID: other.ID, Type: "media", Status: "active", Operator: "chroom1op2", Region: "DE",
		Endpoints: []string{"http://other.example:7880"}, MaxSessions: 100, MaxEgressKbps: 1_000_000, Quality: 1}

	r = e.do("POST", "/v1/rooms/moving/join", "", fmt.Sprintf(`{"name":"B","unreachable_node":%q}`, other.ID))
	require.Equal(t, first, r.body["media_node"].(map[string]any)["id"])
	require.Zero(t, e.probed.Load(), "not the room's node: not probed")

	r = e.do("POST", "/v1/rooms/moving/join", "", fmt.Sprintf(`{"name":"A","unreachable_node":%q}`, first))
	require.Equal(t, first, r.body["media_node"].(map[string]any)["id"], "the node answers the orchestrator: the room stays")
	require.EqualValues(t, 1, e.probed.Load())

	e.nodeDown.Store(true)
	r = e.do("POST", "/v1/rooms/moving/join", "", fmt.Sprintf(`{"name":"A","unreachable_node":%q}`, first))
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	require.Equal(t, other.ID, r.body["media_node"].(map[string]any)["id"], "down for the orchestrator too: the room moves")
	r = e.do("POST", "/v1/rooms/moving/join", "", `{"name":"B"}`)
	require.Equal(t, other.ID, r.body["media_node"].(map[string]any)["id"], "and later joins follow it")
}

// TestCascadeLinksTheRoomsNodes: when a room has live participants on two
// media nodes, the orchestrator asks each to pull from the other
// (LinkRoom) with a relay grant for the serving node; a leg asked for is
// not asked again while pending; relay sessions send no webhooks.
// TestTakeoverJoinsTheRoomWhereItLives: orchestrator B placed a room on
// media node M2 and died; A, now the room's owner, has no record of it.
// A join at A asks the media nodes where the room is open and places the
// newcomer with the people already in the call — not on M1, where a new
// room of the client's region would go — and announces no new room.
func TestTakeoverJoinsTheRoomWhereItLives(t *testing.T) {
	a := newEnv(t, true)
	b := mustKey(t)
	a.dir.nodes[b.ID] = api.NodeInfo{ID: b.ID, Type: "orchestrator", Status: "active", Endpoints: []string{"http://b.example:7800"}}
	m2 := mustKey(t)
	a.dir.nodes[m2.ID] = api.NodeInfo{ID: m2.ID, Type: "media", Status: "active", Operator: "chroom1op2", Region: "JP",
		Endpoints: []string{"https://jp.example"}, MaxSessions: 100, MaxEgressKbps: 1_000_000, Quality: 1}
	a.peers.down[b.ID] = true // B stopped answering its health checks
	var room string
	for i := 0; ; i++ {
		room = fmt.Sprint("room-", i)
		if selector.Owner(room, []string{a.key.ID, b.ID}) == b.ID {
			break
		}
	}
	a.admin.open = map[string]map[string]int{m2.ID: {room: 2}}

	r := a.do("GET", "/v1/rooms/"+room+"/placement", "", "")
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	require.Equal(t, true, r.body["placed"], "the placement names the room's node: %v", r.body)
	r = a.do("POST", "/v1/rooms/"+room+"/join", "", `{"name":"Carol"}`)
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	require.Equal(t, m2.ID, r.body["media_node"].(map[string]any)["id"], "the newcomer joins the call already running on M2")

	// A room open nowhere is placed as a new room (by region: M1).
	r = a.do("POST", "/v1/rooms/fresh-room/join", "", `{"name":"Dan"}`)
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	require.Equal(t, a.media.ID, r.body["media_node"].(map[string]any)["id"])

	// The only orchestrator never asks.
	solo := newEnv(t, true)
	solo.do("POST", "/v1/rooms/x/join", "", `{"name":"Eve"}`)
	require.Zero(t, solo.admin.finds, "FindRoom is for takeovers only")
}

func TestCascadeLinksTheRoomsNodes(t *testing.T) {
	e := newEnv(t, true)
	other := mustKey(t)
	e.dir.nodes[other.ID] = api.NodeInfo{ID: other.ID, Type: "media", Status: "active", Operator: "chroom1op2", Region: "JP",
		Endpoints: []string{"https://jp.example"}, MaxSessions: 100, MaxEgressKbps: 1_000_000, Quality: 1}
	join := func(body string) (string, *grant.Claims) {
		r := e.do("POST", "/v1/rooms/big/join", "", body)
		require.Equal(t, http.StatusOK, r.status, "%v", r.body)
		c, err := grant.PeekClaims(r.body["token"].(string))
		require.NoError(t, err)
		return r.body["media_node"].(map[string]any)["id"].(string), c
	}
	n1, alice := join(`{"name":"Alice","region":"DE"}`)
	require.Equal(t, e.media.ID, n1)
	n2, bob := join(`{"name":"Bob","region":"JP"}`)
	require.Equal(t, other.ID, n2, "a participant who names a region the room is not in is placed on a node there")
	links := func() []string {
		e.admin.mu.Lock()
		defer e.admin.mu.Unlock()
		var out []string
		for _, a := range e.admin.actions {
			if strings.HasPrefix(a, "link ") {
				out = append(out, a)
			}
		}
		return out
	}
	require.True(t, e.api.SessionEvent(n1, api.SessionEvent{Type: noderpc.SessionJoined, Room: "big", Identity: alice.Subject, GrantID: alice.ID, At: time.Now()}))
	time.Sleep(50 * time.Millisecond)
	require.Empty(t, links(), "one node: nothing to link")
	require.True(t, e.api.SessionEvent(n2, api.SessionEvent{Type: noderpc.SessionJoined, Room: "big", Identity: bob.Subject, GrantID: bob.ID, At: time.Now()}))
	require.Eventually(t, func() bool { return len(links()) == 2 }, 5*time.Second, 10*time.Millisecond)
	var relayGrants []*grant.Claims
	for _, l := range links() {
		f := strings.Fields(l)
		require.Len(t, f, 7, l)
		puller, server, url, token := f[2], f[4], f[5], f[6]
		c, err := grant.PeekClaims(token)
		require.NoError(t, err)
		require.Equal(t, grant.RoleRelay, c.Role)
		require.Equal(t, "relay:"+puller, c.Subject)
		require.Equal(t, []string{server}, []string(c.Audience), "the relay grant is for the serving node")
		require.True(t, c.Permissions.CanSubscribe)
		require.False(t, c.Permissions.CanPublish)
		if server == other.ID {
			require.Equal(t, "wss://jp.example/rtc", url)
		}
		relayGrants = append(relayGrants, c)
	}
	require.NotEqual(t, relayGrants[0].Subject, relayGrants[1].Subject, "each node pulls from the other")

	// Another join on node 2 does not ask again for pending legs.
	_, carol := join(`{"name":"Carol","region":"JP"}`)
	require.Equal(t, other.ID, carol.Audience[0])
	require.True(t, e.api.SessionEvent(other.ID, api.SessionEvent{Type: noderpc.SessionJoined, Room: "big", Identity: carol.Subject, GrantID: carol.ID, At: time.Now()}))
	time.Sleep(50 * time.Millisecond)
	require.Len(t, links(), 2)

	// A relay leg's session events are recorded (its receipts are checked
	// like any session's) but are nobody's webhook, and link nothing.
	rg := relayGrants[0]
	require.True(t, e.api.SessionEvent(rg.Audience[0], api.SessionEvent{Type: noderpc.SessionJoined, Room: "big", Identity: rg.Subject, GrantID: rg.ID, At: time.Now()}))
	require.Len(t, links(), 2)

	// Admins see the legs: which node relays to which, with their receipts' session IDs.
	rr := e.do("GET", "/v1/rooms/big/relays", app, "")
	require.Equal(t, http.StatusOK, rr.status, "%v", rr.body)
	legs := rr.body["relays"].([]any)
	require.Len(t, legs, 2)
	for _, l := range legs {
		leg := l.(map[string]any)
		if leg["grant_id"] != rg.ID {
			require.Equal(t, false, leg["live"], "no connection reported for the other leg")
			require.Empty(t, leg["session_ids"])
			continue
		}
		require.Equal(t, true, leg["live"])
		require.Equal(t, rg.Audience[0], leg["server"])
		require.Equal(t, strings.TrimPrefix(rg.Subject, "relay:"), leg["puller"])
		require.Equal(t, []any{hex.EncodeToString(format.GrantSessionID(e.key.ID, rg.ID, 0))}, leg["session_ids"])
	}

	// The join API never grants the relay role.
	r := e.do("POST", "/v1/rooms/big/join", "", `{"name":"Eve","role":"relay"}`)
	require.Equal(t, http.StatusBadRequest, r.status)
}

type netSource struct{ nodes []api.NodeInfo }

func (n netSource) AllNodes() []api.NodeInfo { return n.nodes }
func (n netSource) NodeHealth(_ context.Context, id string) (api.NodeHealth, error) {
	return api.NodeHealth{Score: 0.42, ProbesFailed: 2, LastProbe: &api.ProbeSummary{Epoch: 9, Connected: true, LossPermille: 300, TargetKbps: 500},
		History: []api.QualityPoint{{Epoch: 9, Probed: true, Score: 0.42}, {Epoch: 8, Probed: true, Score: 0.6}}}, nil
}

// TestNetworkView: GET /v1/network lists every registered node, media
// nodes first by region, with a media node's health and score history and
// its operator's claimable rewards.
func TestNetworkView(t *testing.T) {
	e := newEnv(t, true)
	jailed := mustKey(t)
	src := netSource{nodes: []api.NodeInfo{
		{ID: e.key.ID, Type: "orchestrator", Status: "active", Region: "DE", Operator: "op-o"},
		{ID: jailed.ID, Type: "media", Status: "jailed", Region: "NL", Operator: "op-m", Quality: 0.42},
		{ID: e.media.ID, Type: "media", Status: "active", Region: "DE", Operator: "op-m", Quality: 1},
	}}
	e.api = api.New(api.Config{Key: e.key, ChainID: testChainID, AllowAnonymousJoin: true, Region: "DE", Directory: e.dir, Loads: loads{}, Admin: e.admin,
		Rewards: rewards{}, Peers: e.peers, Network: src})
	e.srv.Config.Handler = e.api.Handler()
	r := e.do("GET", "/v1/network", "", "")
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	nodes := r.body["nodes"].([]any)
	require.Len(t, nodes, 3)
	first := nodes[0].(map[string]any)
	require.Equal(t, e.media.ID, first["id"], "media nodes first, by region (DE before NL)")
	require.Equal(t, jailed.ID, nodes[1].(map[string]any)["id"])
	require.Equal(t, "jailed", nodes[1].(map[string]any)["status"], "jailed nodes are listed too")
	require.Equal(t, "orchestrator", nodes[2].(map[string]any)["type"])
	h := first["health"].(map[string]any)
	require.Equal(t, 0.42, h["score"])
	require.Len(t, h["history"], 2)
	require.Equal(t, float64(300), h["last_probe"].(map[string]any)["loss_permille"])
	require.Equal(t, map[string]any{"denom": "uchr", "amount": "1234"}, first["claimable_rewards"])
	require.Nil(t, nodes[2].(map[string]any)["health"], "orchestrators have no probe health")
}

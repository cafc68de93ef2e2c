package signal_test

import (
	"crypto/ed25519"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/medianode/cascade"
	"github.com/chroom/chroom/medianode/sfu"
	"github.com/chroom/chroom/medianode/signal"
)

// newNodeTrusting is a media node on loopback whose grants come from orch
// (two nodes of one network trust the same orchestrator).
func newNodeTrusting(t testing.TB, orch *format.NodeKey) *node {
	t.Helper()
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	apis, err := sfu.NewAPIs(sfu.TransportConfig{UDP: udp, IncludeLoopback: true}, nil)
	require.NoError(t, err)
	n := &node{t: t, orch: orch, key: mustKey(t), ended: make(chan string, 64)}
	n.nodeID = n.key.ID
	testNodeKeys.Store(n.nodeID, n.key.PublicKey)
	n.sfu, err = sfu.New(sfu.Config{API: apis.Call, ViewerAPI: apis.Viewer, LinkAPI: apis.Link, Logger: testLogger(), OnSessionEnd: func(p *sfu.Participant) { n.ended <- p.Identity() }})
	require.NoError(t, err)
	s := &signal.Server{SFU: n.sfu, Auth: &grant.Verifier{Audience: n.nodeID, ChainID: testChainID, Issuers: issuers{orch.ID: orch.PublicKey}},
		Relay: n.relayAuth()}
	n.srv = httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		n.sfu.Close(5 * time.Second)
		n.srv.Close()
		udp.Close()
	})
	return n
}

func (n *node) wsURL() string { return "ws" + strings.TrimPrefix(n.srv.URL, "http") + "/rtc" }

// testNodeKeys is the test registry of media node keys, by node ID.
var testNodeKeys sync.Map

// relayAuth takes relay legs from the media nodes in testNodeKeys.
func (n *node) relayAuth() *signal.RelayAuth {
	return &signal.RelayAuth{NodeID: n.nodeID, ChainID: testChainID, MediaNodeKey: func(id string) (ed25519.PublicKey, error) {
		if k, ok := testNodeKeys.Load(id); ok {
			return k.(ed25519.PublicKey), nil
		}
		return nil, errors.New("not a registered media node")
	}}
}

// links is a cascade manager pulling into n, proving with n's key.
func (n *node) links(t testing.TB) *cascade.Manager {
	m, err := cascade.New(n.sfu, cascade.Options{Logger: testLogger(), Prove: func(jti, server string) (string, error) {
		return signal.RelayProof(n.key, testChainID, jti, server, time.Now())
	}})
	require.NoError(t, err)
	t.Cleanup(m.Close)
	return m
}

// nextEvent returns the next message of type typ about identity, skipping
// others; it fails the test after 10 s.
func (c *client) nextEvent(typ, identity string) signal.ServerMessage {
	c.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				c.t.Fatalf("%s: signaling closed while waiting for %s of %s", c.identity, typ, identity)
			}
			if m.Type == typ && m.Participant != nil && m.Participant.Identity == identity {
				return m
			}
			if m.Type == typ && m.Track != nil && m.Track.Publisher == identity {
				return m
			}
		case <-deadline:
			c.t.Fatalf("%s: no %s about %s within 10 s", c.identity, typ, identity)
		}
	}
}

// A room on two media nodes: each pulls the other's local tracks over one
// relay leg (cascade.Manager dialling the peer's /rtc with a relay grant).
// Media, data and room events cross; each track crosses a leg once,
// whatever the number of subscribers behind it; relay legs are invisible
// to participants; nothing loops back; the legs end with the room.
func TestCascadeAcrossTwoNodes(t *testing.T) {
	a := newNode(t)
	b := newNodeTrusting(t, a.orch)
	const room = "cascade-1"

	alice := a.connect("alice", a.grantFor("alice", room, grant.RoleHost))
	pump(t, alice.publishVP8("alice-cam"))
	alice.offer()
	bob := b.connect("bob", b.grantFor("bob", room, grant.RoleParticipant))
	pump(t, bob.publishVP8("bob-cam"))
	bob.offer()
	carol := b.connect("carol", b.grantFor("carol", room, grant.RoleViewer))
	carol.offer()

	la, lb := a.links(t), b.links(t)
	// Each node pulls from the other with a grant for the serving node.
	already, err := lb.Link(room, a.nodeID, a.wsURL(), a.grantFor("relay:"+b.nodeID, room, grant.RoleRelay))
	require.NoError(t, err)
	require.False(t, already)
	_, err = la.Link(room, b.nodeID, b.wsURL(), b.grantFor("relay:"+a.nodeID, room, grant.RoleRelay))
	require.NoError(t, err)
	already, err = lb.Link(room, a.nodeID, a.wsURL(), a.grantFor("relay:"+b.nodeID, room, grant.RoleRelay))
	require.NoError(t, err)
	require.True(t, already, "a second LinkRoom for a live leg changes nothing")

	// Participants of the other node appear as participants.
	require.Equal(t, "alice", bob.nextEvent(sfu.EventParticipantJoined, "alice").Participant.Identity)
	require.Equal(t, "bob", alice.nextEvent(sfu.EventParticipantJoined, "bob").Participant.Identity)

	// Media crosses in both directions.
	eventually(t, func() bool { return bob.receivedOn("alice-cam") > 50 }, "bob (node B) receives alice's video (node A)")
	eventually(t, func() bool { return carol.receivedOn("alice-cam") > 50 }, "carol (node B) receives alice's video (node A)")
	eventually(t, func() bool { return carol.receivedOn("bob-cam") > 50 }, "carol receives bob's video (same node)")
	eventually(t, func() bool { return alice.receivedOn("bob-cam") > 50 }, "alice (node A) receives bob's video (node B)")

	// One copy per leg: node A sends alice's track to node B once, though
	// two participants there receive it.
	ra, _ := a.sfu.Room(room)
	var relayOnA *sfu.Participant
	for _, p := range ra.Participants() {
		if p.Relay() {
			require.Nil(t, relayOnA, "one relay leg per peer node")
			relayOnA = p
		}
	}
	require.NotNil(t, relayOnA)
	aliceOnA, _ := ra.Participant("alice")
	rb, _ := b.sfu.Room(room)
	bobOnB, _ := rb.Participant("bob")
	time.Sleep(time.Second)
	// Bob receives alice's track alone, as the leg carries it (same
	// packets, same header extensions): the leg carries one copy although
	// carol receives it too.
	leg, toBob := relayOnA.BytesOut(), bobOnB.BytesOut()
	require.InDelta(t, 1.0, float64(leg)/float64(toBob), 0.25, "node A sends alice's track to node B once (leg %d bytes, node B to bob %d bytes)", leg, toBob)
	require.NotNil(t, aliceOnA)

	// Relay legs are not participants: nobody is told about them, nor
	// listed; and what B relays back to A is not A's own (no loop): alice
	// is on A once, bob is on B once.
	for _, c := range []*client{alice, bob, carol} {
		for _, p := range c.joined.Participants {
			require.False(t, strings.HasPrefix(p.Identity, "relay:"), "%s's joined lists a relay leg", c.identity)
		}
	}
	ps, _ := ra.Roster(aliceOnA)
	require.Len(t, ps, 2, "alice sees bob and carol, once each: %+v", ps)
	require.Equal(t, []string{"bob", "carol"}, []string{ps[0].Identity, ps[1].Identity})
	require.True(t, func() bool { p, _ := ra.Participant("bob"); return p.Remote() }())
	require.False(t, func() bool { p, _ := rb.Participant("alice"); return p == nil || !p.Remote() }())

	// Data crosses, tagged with the sender, both ways.
	for _, c := range []*client{alice, bob, carol} {
		eventually(t, func() bool { return c.dc.ReadyState() == webrtc.DataChannelStateOpen }, c.identity+"'s data channel opens")
	}
	require.NoError(t, alice.dc.SendText(`{"type":"chat","text":"from A"}`))
	for _, c := range []*client{bob, carol} {
		select {
		case got := <-c.data:
			require.JSONEq(t, `{"from":"alice","payload":{"type":"chat","text":"from A"}}`, got)
		case <-time.After(5 * time.Second):
			t.Fatalf("%s got no chat from alice", c.identity)
		}
	}
	require.NoError(t, bob.dc.SendText(`{"type":"chat","text":"from B"}`))
	select {
	case got := <-alice.data:
		require.JSONEq(t, `{"from":"bob","payload":{"type":"chat","text":"from B"}}`, got)
	case <-time.After(5 * time.Second):
		t.Fatal("alice got no chat from bob")
	}
	select {
	case got := <-bob.data:
		t.Fatalf("bob got his own message back through the cascade: %s", got)
	case <-time.After(300 * time.Millisecond):
	}

	// A mute on node A reaches node B's participants.
	alice.write(signal.ClientMessage{Type: "mute", TrackID: "alice-cam", Muted: true})
	m := bob.nextEvent(sfu.EventTrackMuted, "alice")
	require.True(t, m.Track.Muted)

	// When the room has no participant of node B left, it ends there: the
	// legs end both ways and alice is told bob left.
	bob.write(signal.ClientMessage{Type: "leave"})
	carol.write(signal.ClientMessage{Type: "leave"})
	alice.nextEvent(sfu.EventParticipantLeft, "bob")
	eventually(t, func() bool { return len(la.Legs()) == 0 && len(lb.Legs()) == 0 }, "both legs end")
	eventually(t, func() bool {
		for _, p := range ra.Participants() {
			if p.Relay() || p.Remote() {
				return false
			}
		}
		return true
	}, "node A keeps alice alone")
	_, open := b.sfu.Room(room)
	require.False(t, open, "the room is closed on node B")
}

// A node that fails takes its participants out of the others' rooms; the
// rest of the room goes on.
func TestCascadeNodeFailure(t *testing.T) {
	a := newNode(t)
	b := newNodeTrusting(t, a.orch)
	const room = "cascade-2"
	alice := a.connect("alice", a.grantFor("alice", room, grant.RoleHost))
	pump(t, alice.publishVP8("alice-cam"))
	alice.offer()
	bob := b.connect("bob", b.grantFor("bob", room, grant.RoleParticipant))
	bob.offer()
	lb := b.links(t)
	_, err := lb.Link(room, a.nodeID, a.wsURL(), a.grantFor("relay:"+b.nodeID, room, grant.RoleRelay))
	require.NoError(t, err)
	eventually(t, func() bool { return bob.receivedOn("alice-cam") > 20 }, "bob receives alice's video over the leg")

	a.srv.CloseClientConnections() // node A's signaling dies with its sessions
	a.sfu.Close(time.Second)
	bob.nextEvent(sfu.EventParticipantLeft, "alice")
	eventually(t, func() bool { return len(lb.Legs()) == 0 }, "the leg to the failed node ends")
	_, open := b.sfu.Room(room)
	require.True(t, open, "bob's room goes on on node B")

	// A relay grant never opens a room, and a participant grant is not a
	// relay: the serving node refuses a leg for a room it does not have.
	_, err = lb.Link("no-such-room", a.nodeID, a.wsURL(), "x")
	require.ErrorIs(t, err, cascade.ErrRoomNotOpen)
	_, err = lb.Link(room, a.nodeID, "http://example.invalid/rtc", "x")
	require.ErrorIs(t, err, cascade.ErrBadPeer)
}

// A relay grant is taken only from the media node it names, proven with
// that node's registered key (signal.RelayProofHeader): a leaked relay
// grant alone pulls nothing.
func TestRelayLegNeedsTheNodesKey(t *testing.T) {
	a := newNode(t)
	b := newNodeTrusting(t, a.orch)
	const room = "cascade-3"
	alice := a.connect("alice", a.grantFor("alice", room, grant.RoleHost))
	alice.offer()
	token := a.grantFor("relay:"+b.nodeID, room, grant.RoleRelay)
	claims, err := grant.PeekClaims(token)
	require.NoError(t, err)
	dial := func(proof string) (int, string) {
		h := http.Header{"Authorization": []string{"Bearer " + token}}
		if proof != "" {
			h.Set(signal.RelayProofHeader, proof)
		}
		ws, resp, err := websocket.DefaultDialer.Dial(a.wsURL(), h)
		if err == nil {
			ws.Close()
			return http.StatusSwitchingProtocols, ""
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(body)
	}
	status, body := dial("")
	require.Equal(t, http.StatusForbidden, status)
	require.Contains(t, body, signal.RelayProofHeader)

	other := mustKey(t) // not the node the grant names
	p, err := signal.RelayProof(other, testChainID, claims.ID, a.nodeID, time.Now())
	require.NoError(t, err)
	status, body = dial(p)
	require.Equal(t, http.StatusForbidden, status, body)
	require.Contains(t, body, "does not verify")

	p, err = signal.RelayProof(b.key, testChainID, claims.ID, a.nodeID, time.Now().Add(-2*time.Minute))
	require.NoError(t, err)
	status, body = dial(p)
	require.Equal(t, http.StatusForbidden, status, body)
	require.Contains(t, body, "clock")

	p, err = signal.RelayProof(b.key, testChainID, claims.ID, b.nodeID, time.Now()) // for another serving node
	require.NoError(t, err)
	status, _ = dial(p)
	require.Equal(t, http.StatusForbidden, status)

	p, err = signal.RelayProof(b.key, testChainID, claims.ID, a.nodeID, time.Now())
	require.NoError(t, err)
	status, body = dial(p)
	require.Equal(t, http.StatusSwitchingProtocols, status, body)
}

// A relay leg carries video per layer ("<track>~q|h|f"); the layers the
// pulling node does not need (relay_layers) stop crossing it, and come
// back at a keyframe when needed again.
func TestRelayLayersOnDemand(t *testing.T) {
	a := newNode(t)
	b := newNodeTrusting(t, a.orch)
	const room = "cascade-4"
	alice := a.connect("alice", a.grantFor("alice", room, grant.RoleHost))
	pump(t, alice.publishVP8("alice-cam"))
	alice.offer()
	bob := b.connect("bob", b.grantFor("bob", room, grant.RoleViewer))
	bob.offer()
	_, err := b.links(t).Link(room, a.nodeID, a.wsURL(), a.grantFor("relay:"+b.nodeID, room, grant.RoleRelay))
	require.NoError(t, err)
	eventually(t, func() bool { return bob.receivedOn("alice-cam") > 20 }, "bob receives alice's video over the leg")
	rb, _ := b.sfu.Room(room)
	proxy, _ := rb.Participant("alice")
	require.Len(t, proxy.Info().Tracks, 1, "the per-layer tracks are one track on the pulling node")
	require.Equal(t, "alice-cam", proxy.Info().Tracks[0].ID)

	ra, _ := a.sfu.Room(room)
	var leg *sfu.Participant
	for _, p := range ra.Participants() {
		if p.Relay() {
			leg = p
		}
	}
	require.NotNil(t, leg)
	require.ErrorIs(t, leg.SetRelayLayers("no-such-track", []bool{true, true, true}), sfu.ErrTrackNotFound)
	require.Error(t, leg.SetRelayLayers("alice-cam", []bool{true}))
	aliceOnA, _ := ra.Participant("alice")
	require.Error(t, aliceOnA.SetRelayLayers("alice-cam", []bool{true, true, true}), "only relay legs")

	require.NoError(t, leg.SetRelayLayers("alice-cam", []bool{false, false, false}))
	time.Sleep(200 * time.Millisecond)
	before := bob.receivedOn("alice-cam")
	time.Sleep(time.Second)
	require.LessOrEqual(t, bob.receivedOn("alice-cam")-before, int64(2), "no video crosses the leg while the pulling node needs none")
	require.NoError(t, leg.SetRelayLayers("alice-cam", []bool{false, false, true}))
	eventually(t, func() bool { return bob.receivedOn("alice-cam") > before+20 }, "the layer crosses again once needed")

	// The message form, as the pulling node sends it: bad input is refused.
	for _, bad := range []string{`{"type":"relay_layers","track_id":"alice-cam","layers":[true]}`, `{"type":"relay_layers","layers":[true,true,true]}`} {
		_, err := signal.DecodeClientMessage([]byte(bad))
		require.Error(t, err, bad)
	}
}

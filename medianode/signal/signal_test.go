package signal_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/medianode/sfu"
	"github.com/chroom/chroom/medianode/signal"
)

// testChainID is the chain the test node serves and its grants name.
const testChainID = "chroom-test-1"

// issuers is a fixed registry: one ACTIVE orchestrator.
type issuers map[string]ed25519.PublicKey

func (i issuers) OrchestratorKey(id string) (ed25519.PublicKey, error) {
	if k, ok := i[id]; ok {
		return k, nil
	}
	return nil, grant.ErrUnknownIssuer
}

// node is a media node's SFU and signaling on loopback.
type node struct {
	t      testing.TB
	orch   *format.NodeKey
	key    *format.NodeKey // the node's own (relay proofs)
	nodeID string
	srv    *httptest.Server
	sfu    *sfu.SFU
	ended  chan string
}

func newNode(t testing.TB) *node {
	t.Helper()
	return newNodeWith(t, sfu.Limits{})
}

// newNodeWith is newNode with SFU limits.
func newNodeWith(t testing.TB, limits sfu.Limits) *node {
	t.Helper()
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	apis, err := sfu.NewAPIs(sfu.TransportConfig{UDP: udp, IncludeLoopback: true}, nil)
	require.NoError(t, err)
	api := apis.Call
	n := &node{t: t, orch: mustKey(t), key: mustKey(t), ended: make(chan string, 16)}
	n.nodeID = n.key.ID
	testNodeKeys.Store(n.nodeID, n.key.PublicKey)
	n.sfu, err = sfu.New(sfu.Config{API: api, LinkAPI: apis.Link, Logger: testLogger(), Limits: limits, OnSessionEnd: func(p *sfu.Participant) { n.ended <- p.Identity() }})
	require.NoError(t, err)
	s := &signal.Server{SFU: n.sfu, Auth: &grant.Verifier{Audience: n.nodeID, ChainID: testChainID, Issuers: issuers{n.orch.ID: n.orch.PublicKey}},
		Relay: n.relayAuth()}
	n.srv = httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		n.sfu.Close(5 * time.Second)
		n.srv.Close()
		udp.Close()
	})
	return n
}

// testLogger logs at debug level when CHROOM_TEST_DEBUG=1 (the SFU's
// negotiation records), else at warn.
func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("CHROOM_TEST_DEBUG") == "1" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func mustKey(t testing.TB) *format.NodeKey {
	k, err := format.GenerateNodeKey(nil)
	require.NoError(t, err)
	return k
}

// grantFor issues a grant for identity in room with role.
func (n *node) grantFor(identity, room string, role grant.Role) string {
	n.t.Helper()
	return n.grantWith(identity, room, role, func(*grant.Claims) {})
}

// grantWith is grantFor with the claims changed by edit first.
func (n *node) grantWith(identity, room string, role grant.Role, edit func(*grant.Claims)) string {
	n.t.Helper()
	c := grant.Claims{ChainID: testChainID, Type: grant.TypeJoin, Room: room, Role: role, Permissions: grant.DefaultPermissions(role)}
	edit(&c)
	c.Subject = identity
	c.ID = "jti-" + fmt.Sprint(time.Now().UnixNano())
	c.Audience = []string{n.nodeID}
	c.ExpiresAt = jwtTime(time.Now().Add(time.Hour))
	c.NotBefore = jwtTime(time.Now().Add(-time.Minute))
	tok, err := grant.Issue(n.orch, c)
	require.NoError(n.t, err)
	return tok
}

// client is a Pion peer speaking the WebSocket protocol, like the web client.
type client struct {
	t        testing.TB
	identity string
	ws       *websocket.Conn
	pc       *webrtc.PeerConnection
	dc       *webrtc.DataChannel
	wmu      sync.Mutex
	msgs     chan signal.ServerMessage
	received atomic.Int64 // RTP packets received on any track
	byTrack  sync.Map     // track ID → *atomic.Int64, RTP packets received
	// While holdOffers is set, node offers wait in held instead of being
	// answered (to stage glare); answerHeld answers them.
	holdOffers atomic.Bool
	held       chan string
	data       chan string
	joined     signal.ServerMessage
	// writePending writes one packet of the track publishVP8Pending added.
	writePending func()
	// onRTP, if set (in connectWith's onDial, before media flows), sees
	// every RTP packet received, with its track ID.
	onRTP func(trackID string, pkt *rtp.Packet)
}

func (n *node) connect(identity, token string) *client {
	n.t.Helper()
	return n.connectWith(identity, token, nil)
}

// connectWith is connect with a step run once the WebSocket is open,
// before the client reads anything from it.
func (n *node) connectWith(identity, token string, onDial func(*client)) *client {
	n.t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	require.NoError(n.t, err)
	c := &client{t: n.t, identity: identity, pc: pc, msgs: make(chan signal.ServerMessage, 64), data: make(chan string, 64), held: make(chan string, 8)}
	c.dc, err = pc.CreateDataChannel("chroom", nil)
	require.NoError(n.t, err)
	c.dc.OnMessage(func(m webrtc.DataChannelMessage) { c.data <- string(m.Data) })
	url := "ws" + strings.TrimPrefix(n.srv.URL, "http") + "/rtc?access_token=" + token
	ws, resp, err := websocket.DefaultDialer.Dial(url, nil)
	require.NoError(n.t, err)
	resp.Body.Close()
	c.ws = ws
	n.t.Cleanup(func() { ws.Close(); pc.Close() })
	if onDial != nil {
		onDial(c)
	}
	pc.OnICECandidate(func(ci *webrtc.ICECandidate) {
		if ci != nil {
			init := ci.ToJSON()
			c.write(signal.ClientMessage{Type: "candidate", Candidate: &init})
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		n, _ := c.byTrack.LoadOrStore(tr.ID(), &atomic.Int64{})
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if c.onRTP != nil {
				c.onRTP(tr.ID(), pkt)
			}
			c.received.Add(1)
			n.(*atomic.Int64).Add(1)
		}
	})
	go c.readLoop(c.ws, c.msgs)
	select {
	case c.joined = <-c.msgs:
		require.Equal(n.t, "joined", c.joined.Type, "first message: %+v", c.joined)
	case <-time.After(5 * time.Second):
		n.t.Fatal("no joined message")
	}
	return c
}

func (c *client) write(m signal.ClientMessage) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.WriteJSON(m)
}

// readLoop reads ws until it fails, then closes msgs (a resume starts
// another loop with the new socket and channel).
func (c *client) readLoop(ws *websocket.Conn, msgs chan signal.ServerMessage) {
	for {
		var m signal.ServerMessage
		if err := ws.ReadJSON(&m); err != nil {
			close(msgs)
			return
		}
		switch m.Type {
		case "offer":
			if c.holdOffers.Load() {
				c.held <- m.SDP
				continue
			}
			c.answer(m.SDP)
		case "answer":
			_ = c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP})
		case "candidate":
			if m.Candidate != nil {
				_ = c.pc.AddICECandidate(*m.Candidate)
			}
		default:
			msgs <- m
		}
	}
}

// nextError returns the next error message from the node, skipping
// other events; it fails the test after 10 s.
func (c *client) nextError() string {
	c.t.Helper()
	return c.nextErrorMessage().Message
}

// nextErrorMessage returns the next "error" message from the node,
// skipping other events; it fails the test after 10 s.
func (c *client) nextErrorMessage() signal.ServerMessage {
	c.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-c.msgs:
			// A candidate trickled before the node applied the offer is
			// refused ("remote description is not set"): a race of this
			// client's, not what tests wait for.
			if m.Type == sfu.EventError && m.Request != "candidate" {
				return m
			}
		case <-deadline:
			c.t.Fatal("no error message from the node within 10 s")
		}
	}
}

// answer applies a node offer and sends the answer.
func (c *client) answer(sdp string) {
	_ = c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp})
	ans, err := c.pc.CreateAnswer(nil)
	if err == nil && c.pc.SetLocalDescription(ans) == nil {
		c.write(signal.ClientMessage{Type: "answer", SDP: ans.SDP})
	}
}

// receivedOn is the number of RTP packets received on one track.
func (c *client) receivedOn(trackID string) int64 {
	if n, ok := c.byTrack.Load(trackID); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

// offer sends the client's offer (tracks and data channel).
func (c *client) offer() {
	o, err := c.pc.CreateOffer(nil)
	require.NoError(c.t, err)
	require.NoError(c.t, c.pc.SetLocalDescription(o))
	c.write(signal.ClientMessage{Type: "offer", SDP: o.SDP})
}

// publishVP8 adds a VP8 track and returns a function that writes one
// keyframe-looking RTP packet per call.
func (c *client) publishVP8(id string) func() {
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, id, c.identity)
	require.NoError(c.t, err)
	_, err = c.pc.AddTrack(track)
	require.NoError(c.t, err)
	c.write(signal.ClientMessage{Type: "announce_track", TrackID: id, Source: sfu.SourceCamera})
	var seq uint16
	return func() {
		seq++
		_ = track.WriteRTP(&rtp.Packet{
			Header:  rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true},
			Payload: []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00},
		})
	}
}

// publishVP8Pending adds a send-only VP8 track without telling the node
// (the WebSocket may not be open yet) and sets c.writePending.
func (c *client) publishVP8Pending(id string) {
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, id, c.identity)
	require.NoError(c.t, err)
	_, err = c.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	require.NoError(c.t, err)
	var seq uint16
	c.writePending = func() {
		seq++
		_ = track.WriteRTP(&rtp.Packet{
			Header:  rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true},
			Payload: []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00},
		})
	}
}

func eventually(t testing.TB, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 20*time.Millisecond, msg)
}

// pump calls write every 10 ms until the test ends.
func pump(t testing.TB, write func()) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				write()
			}
		}
	}()
}

func TestRoomForwardsMediaAndData(t *testing.T) {
	n := newNode(t)
	alice := n.connect("alice", n.grantFor("alice", "room-1", grant.RoleHost))
	write := alice.publishVP8("alice-cam")
	alice.offer()
	pump(t, write)

	subs := []*client{
		n.connect("bob", n.grantFor("bob", "room-1", grant.RoleParticipant)),
		n.connect("carol", n.grantFor("carol", "room-1", grant.RoleViewer)),
		n.connect("dave", n.grantFor("dave", "room-1", grant.RoleParticipant)),
	}
	for _, s := range subs {
		s.offer() // opens the data channel
	}
	for _, s := range subs {
		eventually(t, func() bool { return s.received.Load() > 20 }, s.identity+" receives alice's video")
	}
	require.Equal(t, "alice", subs[0].joined.Participants[0].Identity, "bob's joined message lists alice")

	// Data from alice reaches everyone else, tagged with her identity.
	eventually(t, func() bool { return alice.dc.ReadyState() == webrtc.DataChannelStateOpen }, "alice's data channel opens")
	for _, s := range subs {
		eventually(t, func() bool { return s.dc.ReadyState() == webrtc.DataChannelStateOpen }, s.identity+" data channel opens")
	}
	require.NoError(t, alice.dc.SendText(`{"type":"chat","text":"hello"}`))
	for _, s := range subs {
		select {
		case got := <-s.data:
			require.JSONEq(t, `{"from":"alice","payload":{"type":"chat","text":"hello"}}`, got)
		case <-time.After(5 * time.Second):
			t.Fatalf("%s got no chat message", s.identity)
		}
	}
	// A viewer may not send data: the message is refused, not relayed.
	viewer := subs[1]
	require.NoError(t, viewer.dc.SendText(`{"type":"chat","text":"can I?"}`))
	select {
	case m := <-viewer.msgs:
		for m.Type != sfu.EventError {
			m = <-viewer.msgs
		}
		require.Contains(t, m.Message, "data message refused")
	case <-time.After(5 * time.Second):
		t.Fatal("viewer got no error for its data message")
	}

	// Leaving frees the session and is reported once.
	subs[2].write(signal.ClientMessage{Type: "leave"})
	select {
	case id := <-n.ended:
		require.Equal(t, "dave", id)
	case <-time.After(5 * time.Second):
		t.Fatal("dave's session did not end")
	}
	r, ok := n.sfu.Room("room-1")
	require.True(t, ok)
	require.Len(t, r.Participants(), 3)
}

func TestWebSocketBadInput(t *testing.T) {
	n := newNode(t)
	// No grant, a garbage grant, a grant for another node: 401 before upgrade.
	other := n.grantFor("x", "room-1", grant.RoleHost)
	otherNode := newNode(t)
	for name, url := range map[string]string{
		"no grant":         "/rtc",
		"garbage grant":    "/rtc?access_token=not-a-jwt",
		"other node grant": "/rtc?access_token=" + other,
	} {
		base := n.srv.URL
		if name == "other node grant" {
			base = otherNode.srv.URL
		}
		_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+url, nil)
		require.Error(t, err, name)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, name)
		resp.Body.Close()
	}

	c := n.connect("eve", n.grantFor("eve", "room-1", grant.RoleParticipant))
	for _, raw := range []string{`{not json`, `{"type":"offer","sdp":"v=0 garbage"}`, `{"type":"unknown"}`, `{"type":"layer","track_id":"x","layer":7}`} {
		c.wmu.Lock()
		require.NoError(t, c.ws.WriteMessage(websocket.TextMessage, []byte(raw)))
		c.wmu.Unlock()
		select {
		case m := <-c.msgs:
			require.Equal(t, sfu.EventError, m.Type, raw)
		case <-time.After(5 * time.Second):
			t.Fatalf("no error for %s", raw)
		}
	}
	// An oversized frame (> 64 KiB) closes the socket without harming the node.
	c.wmu.Lock()
	_ = c.ws.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("x"), signal.MaxMessageBytes+1))
	c.wmu.Unlock()
	select {
	case id := <-n.ended:
		require.Equal(t, "eve", id)
	case <-time.After(5 * time.Second):
		t.Fatal("oversized frame did not end the session")
	}
	n.connect("frank", n.grantFor("frank", "room-1", grant.RoleParticipant)) // the node still serves
}

// httpOffer POSTs an SDP offer to path with the grant and returns the response.
func (n *node) httpOffer(path, token, contentType, body string) *http.Response {
	n.t.Helper()
	req, err := http.NewRequest(http.MethodPost, n.srv.URL+path, strings.NewReader(body))
	require.NoError(n.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(n.t, err)
	return resp
}

// gatheredOffer creates a non-trickle offer.
func gatheredOffer(t testing.TB, pc *webrtc.PeerConnection) string {
	o, err := pc.CreateOffer(nil)
	require.NoError(t, err)
	done := webrtc.GatheringCompletePromise(pc)
	require.NoError(t, pc.SetLocalDescription(o))
	<-done
	return pc.LocalDescription().SDP
}

func TestWHIPPublishWHEPPlay(t *testing.T) {
	n := newNode(t)
	// WHIP: publish a VP8 track.
	pub, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	t.Cleanup(func() { pub.Close() })
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "streamer")
	require.NoError(t, err)
	_, err = pub.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	require.NoError(t, err)
	pubToken := n.grantFor("streamer", "live", grant.RoleHost)
	resp := n.httpOffer("/whip", pubToken, "application/sdp", gatheredOffer(t, pub))
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(answer))
	require.Equal(t, "application/sdp", resp.Header.Get("Content-Type"))
	location := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(location, "/whip/"), location)
	require.NoError(t, pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}))
	var seq uint16
	pump(t, func() {
		seq++
		_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000},
			Payload: []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a}})
	})
	eventually(t, func() bool {
		r, ok := n.sfu.Room("live")
		return ok && len(r.Tracks()) == 1
	}, "the WHIP track is published")

	// WHEP: play it.
	play, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	t.Cleanup(func() { play.Close() })
	_, err = play.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
	require.NoError(t, err)
	var got atomic.Int64
	play.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			got.Add(1)
		}
	})
	viewToken := n.grantFor("viewer", "live", grant.RoleViewer)
	resp = n.httpOffer("/whep", viewToken, "application/sdp", gatheredOffer(t, play))
	answer, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(answer))
	require.NoError(t, play.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}))
	eventually(t, func() bool { return got.Load() > 20 }, "the WHEP player receives the WHIP stream")

	// DELETE needs the same grant, then ends the publisher's session.
	del := func(token string) int {
		req, _ := http.NewRequest(http.MethodDelete, n.srv.URL+location, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		r, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		r.Body.Close()
		return r.StatusCode
	}
	require.Equal(t, http.StatusUnauthorized, del(viewToken))
	require.Equal(t, http.StatusOK, del(pubToken))
	eventually(t, func() bool {
		r, ok := n.sfu.Room("live")
		return !ok || len(r.Tracks()) == 0
	}, "deleting the WHIP session unpublishes its track")
}

func TestWHIPBadInput(t *testing.T) {
	n := newNode(t)
	tok := n.grantFor("s", "live", grant.RoleHost)
	viewer := n.grantFor("v", "live", grant.RoleViewer)
	tests := []struct {
		name, token, ctype, body string
		want                     int
	}{
		{"no grant", "", "application/sdp", "v=0", http.StatusUnauthorized},
		{"tampered grant", tok[:len(tok)-4] + "AAAA", "application/sdp", "v=0", http.StatusUnauthorized},
		{"viewer may not publish", viewer, "application/sdp", "v=0", http.StatusForbidden},
		{"wrong content type", tok, "text/plain", "v=0", http.StatusUnsupportedMediaType},
		{"malformed SDP", tok, "application/sdp", "hello", http.StatusBadRequest},
		{"SDP without media", tok, "application/sdp", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", http.StatusBadRequest},
		{"oversized body", tok, "application/sdp", strings.Repeat("a", signal.MaxMessageBytes+1), http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := n.httpOffer("/whip", tc.token, tc.ctype, tc.body)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, tc.want, resp.StatusCode, string(body))
			require.NotEmpty(t, strings.TrimSpace(string(body)), "errors say what is wrong")
		})
	}
	_ = fmt.Sprint
	_ = json.Valid
}

// GET /ping answers 204 from any origin without a grant, uncacheable: a
// browser on the orchestrator's page can time it.
func TestPingForPlacement(t *testing.T) {
	n := newNode(t)
	req, err := http.NewRequest("GET", n.srv.URL+"/ping", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "https://app.example")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	resp, err = http.Post(n.srv.URL+"/ping", "text/plain", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

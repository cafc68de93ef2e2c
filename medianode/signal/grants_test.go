package signal_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/medianode/signal"
)

// dialStatus opens the WebSocket with token and returns the HTTP status of
// a refusal (0 if it connected) and the body.
func (n *node) dialStatus(token string) (int, string) {
	n.t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(n.srv.URL, "http")+"/rtc?access_token="+token, nil)
	if err == nil {
		ws.Close()
		return 0, ""
	}
	require.NotNil(n.t, resp, "dial: %v", err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestGrantsMeanWhatTheySay: one identity is one session, taken over only
// by a reconnect with its own grant; one grant is one live session; a
// removal revokes the grant on the node.
func TestGrantsMeanWhatTheySay(t *testing.T) {
	n := newNode(t)
	hostGrant := n.grantFor("alice", "grants", grant.RoleHost)
	host := n.connect("alice", hostGrant)
	host.offer()

	// An impostor with the host's identity but another grant is refused,
	// and the host's session stays.
	status, body := n.dialStatus(n.grantFor("alice", "grants", grant.RoleParticipant))
	require.Equal(t, http.StatusConflict, status, body)
	require.Contains(t, body, "already connected")
	r, ok := n.sfu.Room("grants")
	require.True(t, ok)
	p, ok := r.Participant("alice")
	require.True(t, ok)
	role, _ := p.Permissions()
	require.Equal(t, "host", role, "the host is still the host")

	// The host reconnecting with her own grant replaces her session.
	again := n.connect("alice", hostGrant)
	select {
	case id := <-n.ended:
		require.Equal(t, "alice", id, "the earlier session ends")
	case <-time.After(5 * time.Second):
		t.Fatal("the reconnect did not replace the earlier session")
	}
	again.offer()

	// One viewer grant opens one WHEP session, not several.
	viewer := n.grantFor("viewer-1", "grants", grant.RoleViewer)
	play := func() *http.Response {
		pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
		require.NoError(t, err)
		t.Cleanup(func() { pc.Close() })
		_, err = pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		require.NoError(t, err)
		return n.httpOffer("/whep", viewer, "application/sdp", gatheredOffer(t, pc))
	}
	first := play()
	first.Body.Close()
	require.Equal(t, http.StatusCreated, first.StatusCode)
	second := play()
	b, _ := io.ReadAll(second.Body)
	second.Body.Close()
	require.Equal(t, http.StatusConflict, second.StatusCode, string(b))
	require.Contains(t, string(b), "already in use")

	// A removed participant cannot come back with the same grant.
	bobGrant := n.grantFor("bob", "grants", grant.RoleParticipant)
	bob := n.connect("bob", bobGrant)
	bob.offer()
	p, ok = r.Participant("bob")
	require.True(t, ok)
	p.Revoke("removed by the host")
	eventually(t, func() bool { _, in := r.Participant("bob"); return !in }, "bob's session ends")
	status, body = n.dialStatus(bobGrant)
	require.Equal(t, http.StatusForbidden, status, body)
	require.Contains(t, body, "revoked")
}

// TestHostMuteHolds: a source the host muted stays muted — the
// participant can neither unmute it nor publish another track of it —
// until the host unmutes.
func TestHostMuteHolds(t *testing.T) {
	n := newNode(t)
	alice := n.connect("alice", n.grantFor("alice", "mute", grant.RoleParticipant))
	pump(t, alice.publishVP8("cam"))
	alice.offer()
	r, ok := n.sfu.Room("mute")
	require.True(t, ok)
	eventually(t, func() bool { return len(r.Tracks()) == 1 }, "alice's camera is published")
	p, _ := r.Participant("alice")
	require.NoError(t, p.HostMuteTrack("cam", true))

	alice.write(signal.ClientMessage{Type: "mute", TrackID: "cam", Muted: false})
	require.Contains(t, alice.nextError(), "muted by the host")
	require.True(t, r.Tracks()[0].Muted, "the camera stays muted")

	// Another camera track is refused while the host's mute holds.
	pump(t, alice.publishVP8("cam2"))
	alice.offer()
	refused := alice.nextErrorMessage()
	require.Contains(t, refused.Message, "track cam2 refused: the host muted your camera")
	require.Equal(t, signal.CodeTrackRefused, refused.Code)
	require.Equal(t, "cam2", refused.TrackID)

	// The host lifts the mute: the participant controls her camera again.
	require.NoError(t, p.HostMuteTrack("cam", false))
	alice.write(signal.ClientMessage{Type: "mute", TrackID: "cam", Muted: true})
	alice.write(signal.ClientMessage{Type: "mute", TrackID: "cam", Muted: false})
	eventually(t, func() bool {
		for _, tr := range r.Tracks() {
			if tr.ID == "cam" {
				return !tr.Muted
			}
		}
		return false
	}, "alice unmutes her camera herself")
}

package signal_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/medianode/sfu"
	"github.com/chroom/chroom/medianode/signal"
)

// dropSignal closes the client's WebSocket without a close frame or a
// leave, as a network change does.
func (c *client) dropSignal() { _ = c.ws.UnderlyingConn().Close() }

// resume opens a new WebSocket with ?resume=1 and the same grant, reads
// "joined" and starts reading the new socket; it returns "joined".
func (c *client) resume(n *node, token string) signal.ServerMessage {
	c.t.Helper()
	url := "ws" + strings.TrimPrefix(n.srv.URL, "http") + "/rtc?access_token=" + token + "&resume=1"
	ws, resp, err := websocket.DefaultDialer.Dial(url, nil)
	require.NoError(c.t, err)
	resp.Body.Close()
	c.wmu.Lock()
	c.ws = ws
	c.wmu.Unlock()
	c.t.Cleanup(func() { ws.Close() })
	var joined signal.ServerMessage
	require.NoError(c.t, ws.ReadJSON(&joined))
	require.Equal(c.t, "joined", joined.Type)
	c.msgs = make(chan signal.ServerMessage, 64)
	go c.readLoop(ws, c.msgs)
	return joined
}

// sawLeft reports whether c received participant_left for identity.
func sawLeft(c *client, identity string) bool {
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				return false
			}
			if m.Type == sfu.EventParticipantLeft && m.Participant != nil && m.Participant.Identity == identity {
				return true
			}
		default:
			return false
		}
	}
}

// TestSessionResumesAfterSignalingLoss: a participant whose WebSocket
// drops keeps its session (media keeps flowing, the room is told
// nothing); a new WebSocket with ?resume=1 and the same grant attaches to
// it ("joined" says resumed), and an ICE-restart offer on the same
// PeerConnection is answered, media continuing throughout.
func TestSessionResumesAfterSignalingLoss(t *testing.T) {
	n := newNode(t)
	alice := n.connect("alice", n.grantFor("alice", "room-1", grant.RoleHost))
	write := alice.publishVP8("alice-cam")
	alice.offer()
	pump(t, write)
	token := n.grantFor("bob", "room-1", grant.RoleParticipant)
	bob := n.connect("bob", token)
	bob.offer()
	eventually(t, func() bool { return bob.receivedOn("alice-cam") > 20 }, "bob receives alice's video")

	bob.dropSignal()
	before := bob.receivedOn("alice-cam")
	eventually(t, func() bool { return bob.receivedOn("alice-cam") > before+30 }, "media keeps flowing while signaling is down")
	select {
	case id := <-n.ended:
		t.Fatalf("%s's session ended; it should wait for a resume", id)
	default:
	}

	joined := bob.resume(n, token)
	require.True(t, joined.Resumed, "the new connection resumes the session")
	require.Equal(t, "bob", joined.Participant.Identity)
	require.Len(t, joined.Tracks, 1)

	oldUfrag := strings.Join(sdpLines(bob.pc.RemoteDescription().SDP, "a=ice-ufrag:"), "")
	offer, err := bob.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	require.NoError(t, err)
	require.NoError(t, bob.pc.SetLocalDescription(offer))
	bob.write(signal.ClientMessage{Type: "offer", SDP: offer.SDP})
	eventually(t, func() bool {
		rd := bob.pc.RemoteDescription()
		return bob.pc.SignalingState() == webrtc.SignalingStateStable && rd != nil &&
			strings.Join(sdpLines(rd.SDP, "a=ice-ufrag:"), "") != oldUfrag
	}, "the node answers the ICE restart with new credentials")
	before = bob.receivedOn("alice-cam")
	eventually(t, func() bool { return bob.receivedOn("alice-cam") > before+30 }, "media flows after the ICE restart")
	require.False(t, sawLeft(alice, "bob"), "alice never saw bob leave")
	r, _ := n.sfu.Room("room-1")
	require.Len(t, r.Participants(), 2)
}

// TestDetachedSessionEndsAfterGrace: a participant that does not resume
// within ResumeGrace is counted as left (the room is told), and a later
// ?resume=1 joins afresh ("joined" without resumed).
func TestDetachedSessionEndsAfterGrace(t *testing.T) {
	n := newNodeWith(t, sfu.Limits{ResumeGrace: 300 * time.Millisecond})
	alice := n.connect("alice", n.grantFor("alice", "room-1", grant.RoleHost))
	token := n.grantFor("bob", "room-1", grant.RoleParticipant)
	bob := n.connect("bob", token)
	bob.dropSignal()
	select {
	case id := <-n.ended:
		require.Equal(t, "bob", id)
	case <-time.After(5 * time.Second):
		t.Fatal("the detached session did not end after its grace")
	}
	eventually(t, func() bool { return sawLeft(alice, "bob") }, "alice is told bob left")
	joined := bob.resume(n, token)
	require.False(t, joined.Resumed, "nothing to resume: a fresh join")
}

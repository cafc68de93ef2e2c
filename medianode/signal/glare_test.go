package signal_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/medianode/sfu"
	"github.com/chroom/chroom/medianode/signal"
)

// TestJoiningAPublishedRoomStartsWithTheClientsOffer: a participant who
// joins a room whose tracks are published gets no node offer until its
// own first offer is answered (which fixes the session's header extension
// IDs); then the node offers the room's tracks and media flows. No glare.
func TestJoiningAPublishedRoomStartsWithTheClientsOffer(t *testing.T) {
	n := newNode(t)
	alice := n.connect("alice", n.grantFor("alice", "first", grant.RoleHost))
	pump(t, alice.publishVP8("alice-cam"))
	alice.offer()
	r, ok := n.sfu.Room("first")
	require.True(t, ok)
	eventually(t, func() bool { return len(r.Tracks()) == 1 }, "alice's camera is published")

	bob := n.connect("bob", n.grantFor("bob", "first", grant.RoleParticipant))
	bob.holdOffers.Store(true)
	select {
	case <-bob.held:
		t.Fatal("the node offered before bob's first offer")
	case <-time.After(300 * time.Millisecond):
	}
	bob.holdOffers.Store(false)
	bob.offer()
	eventually(t, func() bool { return bob.receivedOn("alice-cam") > 20 }, "bob receives alice's camera")
	select {
	case m := <-bob.msgs:
		require.NotEqual(t, sfu.EventError, m.Type, "no error: %+v", m)
	default:
	}
}

// TestGlareKeepsEveryTrack: mid-call, the node offers a subscriber a new
// track while the subscriber's own offer (a new camera) is in flight. The
// node keeps its offer and refuses the client's with "offer: glare"; the
// client — polite, like the web client — answers the node's offer and
// offers again. Both new tracks must then flow.
func TestGlareKeepsEveryTrack(t *testing.T) {
	n := newNode(t)
	alice := n.connect("alice", n.grantFor("alice", "glare", grant.RoleHost))
	pump(t, alice.publishVP8("alice-cam"))
	alice.offer()
	bob := n.connect("bob", n.grantFor("bob", "glare", grant.RoleParticipant))
	bob.offer()
	eventually(t, func() bool { return bob.receivedOn("alice-cam") > 20 }, "bob receives alice's camera")

	// The node's offer of alice's screen waits on bob's side ...
	bob.holdOffers.Store(true)
	pump(t, alice.publishVP8("alice-screen"))
	alice.offer()
	var nodeOffer string
	select {
	case nodeOffer = <-bob.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the node did not offer alice's screen to bob")
	}
	// ... while bob's offer of a new camera crosses it.
	bob.publishVP8Pending("bob-cam")
	bob.write(signal.ClientMessage{Type: "announce_track", TrackID: "bob-cam", Source: sfu.SourceCamera})
	crossing, err := bob.pc.CreateOffer(nil)
	require.NoError(t, err)
	bob.write(signal.ClientMessage{Type: "offer", SDP: crossing.SDP})
	glare := bob.nextErrorMessage()
	require.Contains(t, glare.Message, "offer: glare", "the node refuses the crossing offer")
	require.Equal(t, signal.CodeGlare, glare.Code, "with the glare code")
	require.Equal(t, "offer", glare.Request)
	// Bob's refused offer was never applied (a rollback, for this Pion
	// client); he answers the node's offer, then offers again.
	bob.holdOffers.Store(false)
	bob.answer(nodeOffer)
	bob.offer()
	pump(t, bob.writePending)
	eventually(t, func() bool { return bob.receivedOn("alice-screen") > 20 }, "bob receives alice's screen (the node's offer survived the glare)")
	eventually(t, func() bool { return alice.receivedOn("bob-cam") > 20 }, "alice receives bob's new camera (bob's second offer)")
}

package signal_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/medianode/sfu"
)

// TestAppAdministersParticipants: what the orchestrator's server API
// does on the node — a participant's name, metadata and attributes
// change and the room is told; the app's data message reaches the chosen
// participant only, marked as the server's; a participant unsubscribed
// from a track stops receiving it and gets it back when subscribed; a
// participant allowed only the microphone cannot publish a camera.
func TestAppAdministersParticipants(t *testing.T) {
	n := newNode(t)
	alice := n.connect("alice", n.grantFor("alice", "admin", grant.RoleHost))
	writeCam := alice.publishVP8("alice-cam")
	writeMic := alice.publishOpus("alice-mic")
	alice.offer()
	bob := n.connect("bob", n.grantFor("bob", "admin", grant.RoleParticipant))
	bob.offer()
	carol := n.connect("carol", n.grantFor("carol", "admin", grant.RoleParticipant))
	carol.offer()
	pump(t, func() { writeCam(); writeMic() })
	for _, c := range []*client{alice, bob, carol} {
		eventually(t, func() bool { return c.dc.ReadyState() == webrtc.DataChannelStateOpen }, c.identity+"'s data channel opens")
	}
	r, ok := n.sfu.Room("admin")
	require.True(t, ok)
	bobP, ok := r.Participant("bob")
	require.True(t, ok)

	// Name, metadata, attributes: the room hears of it.
	name, meta := "Robert", `{"seat":4}`
	info, err := bobP.UpdateInfo(&name, &meta, map[string]string{"lang": "de"})
	require.NoError(t, err)
	require.Equal(t, "Robert", info.Name)
	eventually(t, func() bool {
		select {
		case m := <-alice.msgs:
			return m.Type == sfu.EventParticipantUpdated && m.Participant != nil && m.Participant.Identity == "bob" &&
				m.Participant.Metadata == meta && m.Participant.Attributes["lang"] == "de" && m.Participant.Name == "Robert"
		default:
			return false
		}
	}, "alice is told bob's new name, metadata and attributes")
	_, err = bobP.UpdateInfo(nil, new(strings.Repeat("x", 5000)), nil)
	require.ErrorContains(t, err, "metadata")

	// The app's data message: to bob only, from the server.
	require.Equal(t, 1, r.SendServerData([]byte(`{"alert":"closing"}`), []string{"bob"}))
	select {
	case got := <-bob.data:
		var env struct {
			From    string          `json:"from"`
			Server  bool            `json:"server"`
			Payload json.RawMessage `json:"payload"`
		}
		require.NoError(t, json.Unmarshal([]byte(got), &env))
		require.True(t, env.Server)
		require.Equal(t, "", env.From)
		require.JSONEq(t, `{"alert":"closing"}`, string(env.Payload))
	case <-time.After(5 * time.Second):
		t.Fatal("bob did not get the app's message")
	}
	select {
	case got := <-carol.data:
		t.Fatalf("carol got a message meant for bob: %s", got)
	case <-time.After(300 * time.Millisecond):
	}

	// Unsubscribed from alice's camera, bob stops receiving it; subscribed
	// again, he gets it back. Carol is not affected.
	eventually(t, func() bool { return bob.receivedOn("alice-cam") > 20 }, "bob receives alice's camera")
	bobP.SetSubscribed([]string{"alice-cam"}, false)
	var settled int64
	eventually(t, func() bool {
		v := bob.receivedOn("alice-cam")
		time.Sleep(300 * time.Millisecond)
		settled = bob.receivedOn("alice-cam")
		return v == settled
	}, "bob's camera stream stops")
	c0 := carol.receivedOn("alice-cam")
	time.Sleep(500 * time.Millisecond)
	require.Equal(t, settled, bob.receivedOn("alice-cam"), "bob gets no more of it")
	require.Greater(t, carol.receivedOn("alice-cam"), c0, "carol still does")
	require.Greater(t, bob.receivedOn("alice-mic"), int64(0), "bob keeps alice's microphone")
	bobP.SetSubscribed([]string{"alice-cam"}, true)
	eventually(t, func() bool { return bob.receivedOn("alice-cam") > settled+20 }, "subscribed again, bob receives the camera")

	// Only the microphone: carol's camera is refused.
	carolP, ok := r.Participant("carol")
	require.True(t, ok)
	carolP.SetPermissions("participant", sfu.Permissions{CanPublish: true, CanSubscribe: true, CanPublishData: true,
		CanPublishSources: []sfu.TrackSource{sfu.SourceMicrophone}})
	writeCarol := carol.publishVP8("carol-cam")
	carol.offer()
	pump(t, writeCarol)
	eventually(t, func() bool {
		select {
		case m := <-carol.msgs:
			return m.Type == sfu.EventError && m.TrackID == "carol-cam" && strings.Contains(m.Message, "camera")
		default:
			return false
		}
	}, "carol's camera is refused: she may publish the microphone only")
}

// TestHiddenParticipant: a hidden session (the grant's "hidden") watches
// and listens, but nobody is told it joined, it is in no one's roster,
// and the node refuses its media and data; shown (SetPermissions), the
// others see it join.
func TestHiddenParticipant(t *testing.T) {
	n := newNode(t)
	alice := n.connect("alice", n.grantFor("alice", "hide", grant.RoleHost))
	writeMic := alice.publishOpus("alice-mic")
	alice.offer()
	pump(t, writeMic)
	eve := n.connect("eve", n.grantWith("eve", "hide", grant.RoleParticipant, func(c *grant.Claims) { c.Hidden = true }))
	writeEve := eve.publishOpus("eve-mic")
	eve.offer()
	pump(t, writeEve)
	eventually(t, func() bool { return eve.receivedOn("alice-mic") > 50 }, "eve hears alice")
	eventually(t, func() bool {
		select {
		case m := <-eve.msgs:
			return m.Type == sfu.EventError && m.TrackID == "eve-mic"
		default:
			return false
		}
	}, "eve's microphone is refused: hidden sessions do not publish")
	bob := n.connect("bob", n.grantFor("bob", "hide", grant.RoleParticipant))
	bob.offer()
	for _, p := range bob.joined.Participants {
		require.NotEqual(t, "eve", p.Identity, "eve is in nobody's roster")
	}
	seenEve := func(c *client) bool {
		for {
			select {
			case m := <-c.msgs:
				if m.Participant != nil && m.Participant.Identity == "eve" {
					return true
				}
			default:
				return false
			}
		}
	}
	time.Sleep(500 * time.Millisecond)
	require.False(t, seenEve(alice), "alice was not told of eve")

	r, _ := n.sfu.Room("hide")
	eveP, ok := r.Participant("eve")
	require.True(t, ok)
	eveP.SetPermissions("participant", sfu.Permissions{CanPublish: true, CanSubscribe: true, CanPublishData: true})
	eventually(t, func() bool { return seenEve(alice) }, "shown, eve joins in alice's view")
}

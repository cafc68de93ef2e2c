package signal_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/medianode/sfu"
	"github.com/chroom/chroom/medianode/signal"
)

// publishOpus adds an Opus track and returns a function that writes one
// RTP packet per call.
func (c *client) publishOpus(id string) func() {
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, id, c.identity)
	require.NoError(c.t, err)
	_, err = c.pc.AddTrack(track)
	require.NoError(c.t, err)
	c.write(signal.ClientMessage{Type: "announce_track", TrackID: id, Source: sfu.SourceMicrophone})
	var seq uint16
	return func() {
		seq++
		_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: uint32(seq) * 960},
			Payload: make([]byte, 80)})
	}
}

// TestAudioOnlyListenerReceivesNoVideo: a session joined with
// ?audio_only=1 is sent the room's audio and none of its video, though it
// is told the video exists; a "subscription" message turns video on and
// off again.
func TestAudioOnlyListenerReceivesNoVideo(t *testing.T) {
	n := newNode(t)
	alice := n.connect("alice", n.grantFor("alice", "room-1", grant.RoleHost))
	writeVideo := alice.publishVP8("alice-cam")
	writeAudio := alice.publishOpus("alice-mic")
	alice.offer()
	pump(t, func() { writeVideo(); writeAudio() })
	eventually(t, func() bool {
		r, ok := n.sfu.Room("room-1")
		return ok && len(r.Tracks()) == 2
	}, "alice's two tracks are published")

	bob := n.connect("bob", n.grantFor("bob", "room-1", grant.RoleParticipant)+"&audio_only=1")
	bob.offer()
	eventually(t, func() bool { return bob.receivedOn("alice-mic") > 50 }, "the audio-only listener receives audio")
	require.Zero(t, bob.receivedOn("alice-cam"), "and no video")
	require.Len(t, bob.joined.Tracks, 2, "it is told about both tracks")

	bob.write(signal.ClientMessage{Type: "subscription", Video: new(true)})
	eventually(t, func() bool { return bob.receivedOn("alice-cam") > 20 }, "video on: it receives video")

	bob.write(signal.ClientMessage{Type: "subscription", Video: new(false)})
	var settled int64
	eventually(t, func() bool {
		v := bob.receivedOn("alice-cam")
		time.Sleep(300 * time.Millisecond)
		settled = bob.receivedOn("alice-cam")
		return settled == v
	}, "video off: video stops")
	before := bob.receivedOn("alice-mic")
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, settled, bob.receivedOn("alice-cam"), "no more video")
	require.Greater(t, bob.receivedOn("alice-mic"), before, "audio goes on")

	bob.write(signal.ClientMessage{Type: "subscription"})
	eventually(t, func() bool {
		select {
		case m := <-bob.msgs:
			return m.Type == sfu.EventError && m.Message != ""
		default:
			return false
		}
	}, "a subscription message without video is refused with an error")
}

// TestAudioSpaceIsAudioOnly: in an audio space (grants with audio_only)
// a speaker's camera track is refused while its microphone is forwarded,
// and a listener receives the audio but no video, even when it asks for
// video.
func TestAudioSpaceIsAudioOnly(t *testing.T) {
	n := newNode(t)
	space := func(c *grant.Claims) { c.AudioOnly = true }
	// A call participant in the same room publishes video: an audio
	// space's sessions still never receive it.
	cam := n.connect("cam", n.grantFor("cam", "space", grant.RoleParticipant))
	writeCam := cam.publishVP8("cam-video")
	cam.offer()
	speaker := n.connect("speaker", n.grantWith("speaker", "space", grant.RoleHost, space))
	writeVideo := speaker.publishVP8("speaker-cam")
	writeAudio := speaker.publishOpus("speaker-mic")
	speaker.offer()
	pump(t, func() { writeVideo(); writeAudio(); writeCam() })
	eventually(t, func() bool {
		select {
		case m := <-speaker.msgs:
			return m.Type == sfu.EventError && m.TrackID == "speaker-cam" && strings.Contains(m.Message, "audio space")
		default:
			return false
		}
	}, "the speaker's camera is refused: the room is an audio space")

	listener := n.connect("listener", n.grantWith("listener", "space", grant.RoleViewer, space))
	listener.offer()
	eventually(t, func() bool { return listener.receivedOn("speaker-mic") > 50 }, "the listener hears the speaker")
	listener.write(signal.ClientMessage{Type: "subscription", Video: new(true)})
	time.Sleep(time.Second)
	require.Zero(t, listener.receivedOn("speaker-cam"), "the refused camera reaches nobody")
	require.Zero(t, listener.receivedOn("cam-video"), "an audio space's session gets no video, even asking for it")
	r, ok := n.sfu.Room("space")
	require.True(t, ok)
	for _, tr := range r.Tracks() {
		require.NotEqual(t, "speaker-cam", tr.ID, "the camera was never published")
	}
}

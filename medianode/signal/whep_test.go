package signal_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/grant"
)

// whipPublisher publishes a VP8 track over WHIP until stopped; it returns
// the resource URL and a stop func that DELETEs it.
func whipPublisher(t *testing.T, n *node, token string) (location string, stop func()) {
	t.Helper()
	pub, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "streamer")
	require.NoError(t, err)
	_, err = pub.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	require.NoError(t, err)
	resp := n.httpOffer("/whip", token, "application/sdp", gatheredOffer(t, pub))
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(answer))
	require.NoError(t, pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}))
	var seq atomic.Uint32
	var stopped atomic.Bool
	pump(t, func() {
		if stopped.Load() {
			return
		}
		s := uint16(seq.Add(1))
		payload := []byte{0x11, 0x00, 0x00, 0x00} // interframe
		if s%25 == 1 {
			payload = []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a} // keyframe every 25 packets
		}
		_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: s, Timestamp: uint32(s) * 3000}, Payload: payload})
	})
	location = resp.Header.Get("Location")
	return location, func() {
		stopped.Store(true)
		req, _ := http.NewRequest(http.MethodDelete, n.srv.URL+location, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		r, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		r.Body.Close()
		_ = pub.Close()
	}
}

// whepViewer POSTs a WHEP offer (audio and video, receive only) and
// records what arrives: packets, the SSRCs seen and the largest sequence
// number gap between consecutive packets.
type whepViewer struct {
	mu      sync.Mutex
	packets int
	ssrcs   map[uint32]bool
	lastSeq uint16
	maxGap  int
	tracks  atomic.Int32

	pc       *webrtc.PeerConnection
	location string
	etag     string
	token    string
}

func newWHEPViewer(t *testing.T, n *node, room string) *whepViewer {
	t.Helper()
	play, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	t.Cleanup(func() { play.Close() })
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		_, err = play.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		require.NoError(t, err)
	}
	v := &whepViewer{ssrcs: map[uint32]bool{}, pc: play}
	play.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		v.tracks.Add(1)
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			v.mu.Lock()
			if v.packets > 0 {
				if gap := int(pkt.SequenceNumber - v.lastSeq); gap > v.maxGap {
					v.maxGap = gap
				}
			}
			v.packets++
			v.lastSeq = pkt.SequenceNumber
			v.ssrcs[pkt.SSRC] = true
			v.mu.Unlock()
		}
	})
	v.token = n.grantFor("viewer", room, grant.RoleViewer)
	resp := n.httpOffer("/whep", v.token, "application/sdp", gatheredOffer(t, play))
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(answer))
	require.True(t, strings.Contains(string(answer), "m=video"), "the answer has a video section")
	require.NoError(t, play.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}))
	v.location, v.etag = resp.Header.Get("Location"), resp.Header.Get("ETag")
	return v
}

func (v *whepViewer) received() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.packets
}

// TestWHEPViewerBeforePublisher: a viewer that connects before anything
// is published gets the stream as soon as there is one, with no new POST.
func TestWHEPViewerBeforePublisher(t *testing.T) {
	n := newNode(t)
	v := newWHEPViewer(t, n, "live")
	_, stop := whipPublisher(t, n, n.grantFor("streamer", "live", grant.RoleHost))
	t.Cleanup(stop)
	eventually(t, func() bool { return v.received() > 20 }, "the early viewer receives the stream once it starts")
	require.Equal(t, int32(1), v.tracks.Load(), "on its one video track")
}

// TestWHEPViewerStaysThroughPublisherReconnect: the publisher leaves and
// publishes again (a new WHIP session); the viewer keeps its session and
// track and receives the new stream on the same SSRC with continuous
// sequence numbers.
func TestWHEPViewerStaysThroughPublisherReconnect(t *testing.T) {
	n := newNode(t)
	token := n.grantFor("streamer", "live", grant.RoleHost)
	_, stop := whipPublisher(t, n, token)
	v := newWHEPViewer(t, n, "live")
	eventually(t, func() bool { return v.received() > 20 }, "the viewer receives the first stream")
	stop()
	eventually(t, func() bool {
		r, ok := n.sfu.Room("live")
		return ok && len(r.Tracks()) == 0
	}, "the first stream is unpublished")
	before := v.received()

	_, stop2 := whipPublisher(t, n, token)
	t.Cleanup(stop2)
	eventually(t, func() bool { return v.received() > before+20 }, "the same viewer receives the new stream without a new POST")
	v.mu.Lock()
	defer v.mu.Unlock()
	require.Len(t, v.ssrcs, 1, "one SSRC: the player sees one continuous stream")
	require.LessOrEqual(t, v.maxGap, 1, "sequence numbers continue without a gap across the switch")
	require.Equal(t, int32(1), v.tracks.Load(), "no new track")
}

// sdpLines returns the values of the lines of sdp that start with prefix.
func sdpLines(sdp, prefix string) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(sdp, "\r\n", "\n"), "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, strings.TrimPrefix(l, prefix))
		}
	}
	return out
}

// TestWHEPICERestartOverPATCH: a viewer restarts ICE with a PATCH
// carrying new credentials (RFC 9725 §4.3.2); the node answers with its
// new credentials and candidates and a new ETag, and media keeps flowing
// on the same session. Without If-Match the restart is refused (428).
func TestWHEPICERestartOverPATCH(t *testing.T) {
	n := newNode(t)
	_, stop := whipPublisher(t, n, n.grantFor("streamer", "live", grant.RoleHost))
	t.Cleanup(stop)
	v := newWHEPViewer(t, n, "live")
	eventually(t, func() bool { return v.received() > 20 }, "the viewer receives the stream")
	require.NotEmpty(t, v.etag)
	oldRemoteUfrag := sdpLines(v.pc.RemoteDescription().SDP, "a=ice-ufrag:")[0]

	offer, err := v.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	require.NoError(t, err)
	gathered := webrtc.GatheringCompletePromise(v.pc)
	require.NoError(t, v.pc.SetLocalDescription(offer))
	<-gathered
	local := v.pc.LocalDescription().SDP
	frag := "a=ice-ufrag:" + sdpLines(local, "a=ice-ufrag:")[0] + "\r\na=ice-pwd:" + sdpLines(local, "a=ice-pwd:")[0] + "\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"
	for _, c := range sdpLines(local, "a=candidate:") {
		frag += "a=candidate:" + c + "\r\n"
	}
	patch := func(ifMatch string) *http.Response {
		req, err := http.NewRequest(http.MethodPatch, n.srv.URL+v.location, strings.NewReader(frag))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+v.token)
		req.Header.Set("Content-Type", "application/trickle-ice-sdpfrag")
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		return resp
	}
	resp := patch("")
	resp.Body.Close()
	require.Equal(t, http.StatusPreconditionRequired, resp.StatusCode, "a restart needs If-Match")

	resp = patch("*")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(t, "application/trickle-ice-sdpfrag", resp.Header.Get("Content-Type"))
	require.NotEqual(t, v.etag, resp.Header.Get("ETag"), "a new ICE session has a new ETag")
	newUfrag := sdpLines(string(body), "a=ice-ufrag:")
	require.Len(t, newUfrag, 1, string(body))
	require.NotEqual(t, oldRemoteUfrag, newUfrag[0], "the node restarted its ICE agent")
	require.NotEmpty(t, sdpLines(string(body), "a=candidate:"), "the node sends its candidates")

	// The viewer applies the node's fragment as its answer.
	var answer strings.Builder
	sections := 0
	for _, l := range strings.Split(strings.ReplaceAll(v.pc.RemoteDescription().SDP, "\r\n", "\n"), "\n") {
		switch {
		case l == "", strings.HasPrefix(l, "a=candidate:"), l == "a=end-of-candidates":
			continue
		case strings.HasPrefix(l, "a=ice-ufrag:"):
			l = "a=ice-ufrag:" + newUfrag[0]
		case strings.HasPrefix(l, "a=ice-pwd:"):
			l = "a=ice-pwd:" + sdpLines(string(body), "a=ice-pwd:")[0]
		case strings.HasPrefix(l, "m="):
			sections++
			if sections == 2 { // the end of the first (bundled) section: its candidates
				for _, c := range sdpLines(string(body), "a=candidate:") {
					answer.WriteString("a=candidate:" + c + "\r\n")
				}
			}
		}
		answer.WriteString(l + "\r\n")
	}
	require.NoError(t, v.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.String()}))
	before := v.received()
	eventually(t, func() bool { return v.received() > before+50 }, "media keeps flowing after the ICE restart")
}

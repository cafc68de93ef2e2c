package sfu

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

// recordingSignal keeps the order of what the SFU sends a client.
type recordingSignal struct {
	mu   sync.Mutex
	sent []string // "offer" or "answer"
}

func (r *recordingSignal) SendOffer(webrtc.SessionDescription) error  { return r.add("offer") }
func (r *recordingSignal) SendAnswer(webrtc.SessionDescription) error { return r.add("answer") }
func (r *recordingSignal) SendCandidate(webrtc.ICECandidateInit) error {
	return nil
}
func (r *recordingSignal) SendEvent(Event) error { return nil }
func (r *recordingSignal) Close(string)          {}
func (r *recordingSignal) add(kind string) error {
	r.mu.Lock()
	r.sent = append(r.sent, kind)
	r.mu.Unlock()
	return nil
}

func (r *recordingSignal) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.sent...)
}

func newTestSFU(t *testing.T) *SFU {
	t.Helper()
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	api, err := NewAPI(TransportConfig{UDP: udp, IncludeLoopback: true}, nil)
	require.NoError(t, err)
	s, err := New(Config{API: api})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close(5 * time.Second); udp.Close() })
	return s
}

// TestAnswerPrecedesTheNextOffer: a subscription that changes while the
// SFU answers a client offer makes the SFU offer again, and that offer must
// go out after the answer. Before, the follow-up offer raced the answer
// from another goroutine; when it won, the client (mid-offer) set it aside
// and dropped it on the answer, the SFU waited forever for an answer to it,
// and that participant never received another track: the "one call in
// four, someone never sees the other's video" of make e2e.
func TestAnswerPrecedesTheNextOffer(t *testing.T) {
	t.Parallel()
	s := newTestSFU(t)
	for round := 0; round < 20; round++ {
		room := fmt.Sprintf("order-%d", round)
		sig := &recordingSignal{}
		p, err := s.Join(JoinParams{Room: room, Identity: "bob", Kind: KindFull, Signal: sig,
			Permissions: Permissions{CanPublish: true, CanSubscribe: true}})
		require.NoError(t, err)

		client, err := webrtc.NewPeerConnection(webrtc.Configuration{})
		require.NoError(t, err)
		// The first exchange: the client offers, the SFU answers.
		_, err = client.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		require.NoError(t, err)
		first, err := client.CreateOffer(nil)
		require.NoError(t, err)
		require.NoError(t, client.SetLocalDescription(first))
		answer, err := p.HandleOffer(first)
		require.NoError(t, err)
		require.NoError(t, client.SetRemoteDescription(answer))
		require.Equal(t, []string{"answer"}, sig.list())
		sig.mu.Lock()
		sig.sent = nil
		sig.mu.Unlock()

		// The client renegotiates (a new track) ...
		_, err = client.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		require.NoError(t, err)
		offer, err := client.CreateOffer(nil)
		require.NoError(t, err)

		// ... while a publisher's track arrives.
		pub := &publishedTrack{info: TrackInfo{ID: fmt.Sprintf("cam-%d", round), Publisher: "alice", Kind: "video"},
			codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, publisher: p,
			layers: map[int]*webrtc.TrackRemote{}, down: map[string]*downTrack{}}
		pub.publisher = &Participant{room: p.room, identity: "alice", log: p.log}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := p.HandleOffer(offer); err != nil {
				require.ErrorIs(t, err, ErrGlare)
			}
		}()
		go func() {
			defer wg.Done()
			p.subscribeTo(pub)
		}()
		wg.Wait()
		got := sig.list()
		// Either the subscription's offer went out first (the client's
		// offer then meets glare and is refused: no answer), or the answer
		// comes first and the offer after it.
		require.NotEmpty(t, got, "round %d", round)
		if len(got) == 2 {
			require.Equal(t, []string{"answer", "offer"}, got, "round %d", round)
		} else {
			require.Equal(t, []string{"offer"}, got, "round %d: a lone message is the SFU's offer (glare refused the client's)", round)
		}
		p.Close("done")
		client.Close()
	}
}

// TestSFUWaitsForTheClientsFirstOffer: a participant who joins a room with
// published tracks gets no SFU offer until its own first offer has been
// answered, and then gets one for those tracks, right after the answer.
func TestSFUWaitsForTheClientsFirstOffer(t *testing.T) {
	t.Parallel()
	s := newTestSFU(t)
	alice, err := s.Join(JoinParams{Room: "first", Identity: "alice", Kind: KindFull, Signal: &recordingSignal{},
		Permissions: Permissions{CanPublish: true, CanSubscribe: true}})
	require.NoError(t, err)
	alice.room.publish(&publishedTrack{info: TrackInfo{ID: "alice-cam", Publisher: "alice", Kind: "video"},
		codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, publisher: alice,
		layers: map[int]*webrtc.TrackRemote{}, down: map[string]*downTrack{}})

	sig := &recordingSignal{}
	bob, err := s.Join(JoinParams{Room: "first", Identity: "bob", Kind: KindFull, Signal: sig,
		Permissions: Permissions{CanPublish: true, CanSubscribe: true}})
	require.NoError(t, err)
	time.Sleep(100 * time.Millisecond)
	require.Empty(t, sig.list(), "no SFU offer before the client's first offer")

	client, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	defer client.Close()
	_, err = client.CreateDataChannel("chroom", nil)
	require.NoError(t, err)
	offer, err := client.CreateOffer(nil)
	require.NoError(t, err)
	_, err = bob.HandleOffer(offer)
	require.NoError(t, err)
	require.Equal(t, []string{"answer", "offer"}, sig.list(), "the answer, then the SFU's offer of alice's camera")
}

// sdpSignal keeps the SDP of every offer the SFU sends a client.
type sdpSignal struct {
	recordingSignal
	offers []string
}

func (r *sdpSignal) SendOffer(o webrtc.SessionDescription) error {
	r.mu.Lock()
	r.offers = append(r.offers, o.SDP)
	r.mu.Unlock()
	return r.add("offer")
}

// TestNodeOffersNeverPauseAPublishersLayers: a publisher whose SDP marks
// its simulcast layers paused (Chromium writes "a=simulcast:send
// ~q;~h;~f" while dynacast has them off) must not get that pause back in
// the node's later offers: Chromium applies a remote pause to its
// encodings, so each renegotiation turned the camera off for everyone
// until the next publisher_layers (the cascade e2e flake "bob decodes
// alice again"). Pion repeats the pause in offers whatever
// SetIgnoreRidPauseForRecv says.
func TestNodeOffersNeverPauseAPublishersLayers(t *testing.T) {
	t.Parallel()
	s := newTestSFU(t)
	sig := &sdpSignal{}
	p, err := s.Join(JoinParams{Room: "paused-rids", Identity: "alice", Kind: KindFull, Signal: sig,
		Permissions: Permissions{CanPublish: true, CanSubscribe: true}})
	require.NoError(t, err)

	client, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	defer client.Close()
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	var sender *webrtc.RTPSender
	for i, rid := range []string{"q", "h", "f"} {
		track, err := webrtc.NewTrackLocalStaticRTP(codec, "camera", "alice-stream", webrtc.WithRTPStreamID(rid))
		require.NoError(t, err)
		if i == 0 {
			sender, err = client.AddTrack(track)
		} else {
			err = sender.AddEncoding(track)
		}
		require.NoError(t, err)
	}
	offer, err := client.CreateOffer(nil)
	require.NoError(t, err)
	require.NoError(t, client.SetLocalDescription(offer))
	require.Contains(t, offer.SDP, "a=simulcast:send q;h;f")
	// What Chromium sends while dynacast has every layer off.
	offer.SDP = strings.Replace(offer.SDP, "a=simulcast:send q;h;f", "a=simulcast:send ~q;~h;~f", 1)
	answer, err := p.HandleOffer(offer)
	require.NoError(t, err)
	require.NoError(t, client.SetRemoteDescription(answer))
	require.NotContains(t, answer.SDP, "~", "the node's answer pauses no layer")

	// The node renegotiates (someone joined or left).
	p.negotiate()
	require.Eventually(t, func() bool {
		sig.mu.Lock()
		defer sig.mu.Unlock()
		return len(sig.offers) == 1
	}, 5*time.Second, 10*time.Millisecond)
	sig.mu.Lock()
	next := sig.offers[0]
	sig.mu.Unlock()
	require.Contains(t, next, "a=simulcast:recv q;h;f", "the node's offer still receives the three layers")
	require.NotContains(t, next, "~", "the node's offer pauses no layer")
}

func TestWithoutSimulcastPauses(t *testing.T) {
	in := "v=0\r\na=simulcast:send ~q;h;~f\r\na=rid:q send\r\na=fmtp:96 x=~1\r\n"
	require.Equal(t, "v=0\r\na=simulcast:send q;h;f\r\na=rid:q send\r\na=fmtp:96 x=~1\r\n", withoutSimulcastPauses(in))
	require.Equal(t, "v=0\r\n", withoutSimulcastPauses("v=0\r\n"))
}

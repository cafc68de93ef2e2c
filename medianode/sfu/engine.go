package sfu

import (
	"fmt"
	"net"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// AudioLevelURI is the RTP header extension for client-to-mixer audio
// levels (RFC 6464), used for active-speaker detection.
const AudioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// TransportConfig says where the SFU's media flows.
type TransportConfig struct {
	// UDP is the one UDP socket all WebRTC media shares (ICE UDP mux).
	UDP net.PacketConn
	// TCP is the ICE-TCP listener (RFC 6544 passive candidates); optional.
	TCP net.Listener
	// PublicIPs are advertised as host candidates instead of the local
	// addresses (1:1 NAT); empty to advertise local addresses.
	PublicIPs []string
	// IncludeLoopback also gathers loopback candidates (devnets, tests).
	IncludeLoopback bool
}

// APIs are the Pion APIs of the SFU's PeerConnections, sharing one UDP
// mux (and TCP mux): Call for WebSocket participants, Viewer for WHIP and
// WHEP sessions. They differ in one thing: Call estimates the bandwidth
// towards each subscriber (GCC over TWCC feedback, which the layer
// allocator needs); Viewer does not, since a WHEP viewer's slot forwards
// the best layer present whatever the estimate, and the estimator costs
// about a fifth of the forwarding CPU (docs/benchmarks.md).
//
// Link makes the pulling end of cascade relay legs (medianode/cascade):
// Viewer's codecs and interceptors, but each PeerConnection on its own
// ephemeral UDP port instead of the shared mux. Two nodes that pull from
// each other hold two legs between them; over the two muxes both legs
// would have the same address pair, and a UDP mux tells connections apart
// by the remote address alone, so one leg's packets would reach the
// other's connection.
type APIs struct {
	Call, Viewer, Link *webrtc.API
}

// NewAPIs returns the SFU's APIs: Opus, VP8, VP9 and H264 (no AV1 or
// H.265: the SFU cannot find their keyframes); NACK generation (the
// downTracks answer NACKs themselves, nack.go), RTCP sender/receiver reports, TWCC feedback on what it
// receives, and (Call only) transport-wide sequence numbers plus a
// send-side bandwidth estimator (Google Congestion Control,
// pion/interceptor's gcc) on what it sends; simulcast and audio-level
// header extensions; one UDP mux (and an optional TCP mux) for all ICE
// traffic; and the DTLS server role when answering.
func NewAPIs(tc TransportConfig, loggerFactory logging.LoggerFactory) (APIs, error) {
	if tc.UDP == nil {
		return APIs{}, fmt.Errorf("a UDP socket for media is required")
	}
	if loggerFactory == nil {
		loggerFactory = logging.NewDefaultLoggerFactory()
	}
	logger := loggerFactory.NewLogger("ice")
	udpMux := webrtc.NewICEUDPMux(logger, tc.UDP)
	var tcpMux ice.TCPMux
	if tc.TCP != nil {
		tcpMux = webrtc.NewICETCPMux(logger, tc.TCP, 8)
	}
	call, err := newAPI(tc, loggerFactory, udpMux, tcpMux, true)
	if err != nil {
		return APIs{}, err
	}
	viewer, err := newAPI(tc, loggerFactory, udpMux, tcpMux, false)
	if err != nil {
		return APIs{}, err
	}
	link, err := newAPI(tc, loggerFactory, nil, nil, false)
	if err != nil {
		return APIs{}, err
	}
	return APIs{Call: call, Viewer: viewer, Link: link}, nil
}

// NewAPI returns NewAPIs' Call API alone (tests, tools).
func NewAPI(tc TransportConfig, loggerFactory logging.LoggerFactory) (*webrtc.API, error) {
	apis, err := NewAPIs(tc, loggerFactory)
	return apis.Call, err
}

func newAPI(tc TransportConfig, loggerFactory logging.LoggerFactory, udpMux ice.UDPMux, tcpMux ice.TCPMux, bwe bool) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := registerCodecs(me); err != nil {
		return nil, fmt.Errorf("register codecs: %w", err)
	}
	if err := registerHeaderExtensions(me); err != nil {
		return nil, fmt.Errorf("register header extensions: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := registerInterceptors(me, ir); err != nil {
		return nil, fmt.Errorf("register interceptors: %w", err)
	}
	if bwe {
		if err := registerBWE(me, ir); err != nil {
			return nil, fmt.Errorf("register bandwidth estimation: %w", err)
		}
	}

	se := webrtc.SettingEngine{LoggerFactory: loggerFactory}
	// AES-GCM SRTP: browsers pick it when the SFU is the DTLS server.
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
		return nil, err
	}
	if udpMux != nil {
		se.SetICEUDPMux(udpMux)
	}
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if tcpMux != nil {
		se.SetICETCPMux(tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(networks)
	if len(tc.PublicIPs) > 0 {
		se.SetNAT1To1IPs(tc.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	se.SetIncludeLoopbackCandidate(tc.IncludeLoopback)
	// Pion echoes a publisher's paused RIDs (its own SDP says "a=simulcast:
	// send ~q;~h;~f" for encodings dynacast turned off) in the descriptions
	// it makes afterwards ("a=simulcast:recv ~q;…", RFC 8853 §5.1), and
	// Chromium applies a remote pause to its encodings. This covers
	// answers; offers are covered by withoutSimulcastPauses (participant.go),
	// which keeps the pause out of Pion's state altogether.
	se.SetIgnoreRidPauseForRecv(true)
	// A media node has public addresses: no mDNS (.local) candidates to
	// resolve or offer. Pion otherwise opens a multicast socket, a reader
	// goroutine and ~35 KiB of buffers per PeerConnection (heap profile at
	// 200 WHEP viewers, docs/benchmarks.md). Browsers' own .local
	// candidates are not resolvable by the node anyway; their peer-reflexive
	// candidates are learned from the connectivity checks (RFC 8445 §7.3.1.3).
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// registerInterceptors registers webrtc.RegisterDefaultInterceptors' set
// minus what the SFU does itself or does not use:
//   - NACK generation towards publishers (RFC 4585 §6.2.1). NACKs from
//     subscribers are answered by the downTracks (nack.go), from a history
//     that shares each payload among subscribers instead of Pion's
//     responder copying every packet per subscriber.
//   - RTCP sender and receiver reports (RFC 3550 §6.4).
//   - The simulcast header extensions (RFC 8852 rid, repaired-rid; mid).
//   - TWCC feedback on what the SFU receives (draft-holmer-rmcat-
//     transport-wide-cc-extensions-01), which publishers' bandwidth
//     estimators need.
//
// Left out: Pion's stats interceptor, which feeds PeerConnection.GetStats
// (the SFU never calls it) at the cost of a lock and a clock read per
// packet per subscriber. None of the interceptors keeps a written packet's
// header after WriteRTP returns, which downTrack.write relies on.
func registerInterceptors(me *webrtc.MediaEngine, ir *interceptor.Registry) error {
	generator, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return err
	}
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	ir.Add(generator)
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return err
	}
	return webrtc.ConfigureTWCCSender(me, ir)
}

// headerExtensions are registered in Chromium's order, so that the IDs
// Pion gives them when the SFU offers first (it numbers them 1, 2, … in
// registration order) are Chromium's own: a session whose first offer
// came from the SFU for a kind the client had not offered yet (a viewer,
// or an audio-only participant, later turning the camera on) then never
// meets "A BUNDLE group contains a codec collision for header extension
// id=…" in the browser, which made it fail to publish (medianode README,
// "Why a participant never saw the other's video"). The SFU forwards
// none of the publisher's extensions; interceptors write the ones they
// own (transport-cc, mid, rid), the others are negotiated and unused.
// abs-capture-time fills ID 9, which Chromium leaves free.
var headerExtensions = []struct {
	uri          string
	audio, video bool
}{
	{AudioLevelURI, true, false}, // 1
	{"http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", true, true},                // 2
	{"http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", true, true}, // 3
	{"urn:ietf:params:rtp-hdrext:sdes:mid", true, true},                                       // 4
	{"http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", false, true},               // 5
	{"http://www.webrtc.org/experiments/rtp-hdrext/video-content-type", false, true},          // 6
	{"http://www.webrtc.org/experiments/rtp-hdrext/video-timing", false, true},                // 7
	{"http://www.webrtc.org/experiments/rtp-hdrext/color-space", false, true},                 // 8
	{"http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time", true, true},             // 9
	{"urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", false, true},                            // 10
	{"urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", false, true},                   // 11
}

func registerHeaderExtensions(me *webrtc.MediaEngine) error {
	for _, e := range headerExtensions {
		for _, k := range []struct {
			kind webrtc.RTPCodecType
			on   bool
		}{{webrtc.RTPCodecTypeAudio, e.audio}, {webrtc.RTPCodecTypeVideo, e.video}} {
			if !k.on {
				continue
			}
			kind := k.kind
			if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: e.uri}, kind); err != nil {
				return err
			}
		}
	}
	return nil
}

// registerCodecs offers only the codecs the SFU can switch layers on (it
// finds keyframes in VP8, VP9 and H264) and Opus, with NACK, PLI, FIR,
// REMB and transport-cc feedback (RFC 4585, RFC 5104, draft-holmer-rmcat).
func registerCodecs(me *webrtc.MediaEngine) error {
	video := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "transport-cc"}}
	codecs := []struct {
		cap  webrtc.RTPCodecCapability
		pt   webrtc.PayloadType
		kind webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, 111, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: video}, 96, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000, SDPFmtpLine: "profile-id=0", RTCPFeedback: video}, 98, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", RTCPFeedback: video}, 102, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f", RTCPFeedback: video}, 127, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640032", RTCPFeedback: video}, 123, webrtc.RTPCodecTypeVideo},
	}
	for _, c := range codecs {
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: c.cap, PayloadType: c.pt}, c.kind); err != nil {
			return err
		}
	}
	return nil
}

// Send-side bandwidth estimation (draft-ietf-rmcat-gcc-02 over TWCC
// feedback, draft-holmer-rmcat-transport-wide-cc-extensions-01), per
// PeerConnection, in bits per second: every estimate starts at
// BWEInitialBitrate and stays within [BWEMinBitrate, BWEMaxBitrate].
// The SFU does not pace (the estimator's pacer is a no-op): it matches a
// subscriber's rate to the estimate by choosing simulcast layers
// (allocator.go), so forwarding adds no queueing delay.
const (
	BWEInitialBitrate = 2_000_000
	BWEMinBitrate     = 100_000
	BWEMaxBitrate     = 20_000_000
)

// estimators holds each new PeerConnection's bandwidth estimator by
// PeerConnection ID until takeEstimator claims it.
var estimators sync.Map // string → cc.BandwidthEstimator

func registerBWE(me *webrtc.MediaEngine, ir *interceptor.Registry) error {
	f, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(BWEInitialBitrate),
			gcc.SendSideBWEMinBitrate(BWEMinBitrate), gcc.SendSideBWEMaxBitrate(BWEMaxBitrate),
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()))
	})
	if err != nil {
		return err
	}
	f.OnNewPeerConnection(func(id string, e cc.BandwidthEstimator) { estimators.Store(id, e) })
	ir.Add(f)
	return webrtc.ConfigureTWCCHeaderExtensionSender(me, ir)
}

// takeEstimator returns pc's bandwidth estimator (nil if it has none, as
// with an API not made by NewAPI).
func takeEstimator(pc *webrtc.PeerConnection) cc.BandwidthEstimator {
	if e, ok := estimators.LoadAndDelete(pc.ID()); ok {
		return e.(cc.BandwidthEstimator)
	}
	return nil
}

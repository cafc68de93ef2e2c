package sfu

import (
	"fmt"
	"net"

	"github.com/pion/interceptor"
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

// NewAPI returns the Pion API every PeerConnection of the SFU uses: Opus,
// VP8, VP9 and H264; NACK generation and response, RTCP sender/receiver
// reports, TWCC feedback, simulcast and audio-level header extensions; one
// UDP mux (and an optional TCP mux) for all ICE traffic; and the DTLS
// server role when answering.
func NewAPI(tc TransportConfig, loggerFactory logging.LoggerFactory) (*webrtc.API, error) {
	if tc.UDP == nil {
		return nil, fmt.Errorf("a UDP socket for media is required")
	}
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("register codecs: %w", err)
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio} {
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: AudioLevelURI}, kind); err != nil {
			return nil, err
		}
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, fmt.Errorf("register interceptors: %w", err)
	}

	se := webrtc.SettingEngine{LoggerFactory: loggerFactory}
	if loggerFactory == nil {
		se.LoggerFactory = logging.NewDefaultLoggerFactory()
	}
	// AES-GCM SRTP: browsers pick it when the SFU is the DTLS server.
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
		return nil, err
	}
	logger := se.LoggerFactory.NewLogger("ice")
	se.SetICEUDPMux(webrtc.NewICEUDPMux(logger, tc.UDP))
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if tc.TCP != nil {
		se.SetICETCPMux(webrtc.NewICETCPMux(logger, tc.TCP, 8))
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(networks)
	if len(tc.PublicIPs) > 0 {
		se.SetNAT1To1IPs(tc.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	se.SetIncludeLoopbackCandidate(tc.IncludeLoopback)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

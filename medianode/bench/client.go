package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Payload layout of every synthetic packet: a 10-byte codec prefix that
// looks like the start of a keyframe (or of a delta frame), a 4-byte magic,
// the packet's 8-byte counter and its 8-byte send time (Unix ns), then
// zeros up to the payload size.
const (
	prefixBytes   = 10
	magicOffset   = prefixBytes
	counterOffset = magicOffset + 4
	sentAtOffset  = counterOffset + 8
	// MinPayloadBytes is the smallest payload that carries the stamps.
	MinPayloadBytes = sentAtOffset + 8
)

var magic = [4]byte{'C', 'L', 'T', '1'}

// Codec prefixes: VP8 payload descriptor S=1 PID=0 then a key frame header
// (P=0) with the start code 9d 01 2a (RFC 7741, RFC 6386 §9.1); the delta
// variant has P=1. H264: an IDR slice NAL (type 5) or a non-IDR slice (1).
var (
	vp8Key   = [prefixBytes]byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}
	vp8Delta = [prefixBytes]byte{0x10, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}
	h264Key  = [prefixBytes]byte{0x65, 0x88, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}
	h264Dlt  = [prefixBytes]byte{0x41, 0x9a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}
)

// ClientOptions configure the Pion clients.
type ClientOptions struct {
	// SRTP restricts the SRTP protection profiles the clients offer:
	// "" (Pion's default order, AES-GCM first), "gcm" or "cm"
	// (AES_CM_128_HMAC_SHA1_80 only, what Chrome picks when it is the
	// DTLS server).
	SRTP string
	// PionLogLevel is the level of Pion's loggers (default error).
	PionLogLevel logging.LogLevel
	// NoRetransmission leaves NACK out (no retransmissions): what arrives
	// shows the path's own loss (QoS probes).
	NoRetransmission bool
}

// newClientAPI returns the API of the load-test clients: Pion's default
// codecs and interceptors (NACK, RTCP reports, TWCC), host candidates
// over UDP4 including loopback, no mDNS.
func newClientAPI(o ClientOptions) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if o.NoRetransmission {
		// Pion's defaults without NACK: no nack feedback is negotiated, so
		// nothing is asked for again or retransmitted either way.
		if err := webrtc.ConfigureRTCPReports(ir); err != nil {
			return nil, err
		}
		if err := webrtc.ConfigureTWCCSender(me, ir); err != nil {
			return nil, err
		}
	} else if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, err
	}
	if o.PionLogLevel == 0 {
		o.PionLogLevel = logging.LogLevelError
	}
	se := webrtc.SettingEngine{LoggerFactory: pionLogger(o.PionLogLevel)}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	switch o.SRTP {
	case "":
	case "gcm":
		se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM)
	case "cm":
		se.SetSRTPProtectionProfiles(dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	default:
		return nil, fmt.Errorf("unknown SRTP profile %q: want gcm or cm", o.SRTP)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// gatheredOffer creates a non-trickle offer (every host candidate inside).
func gatheredOffer(pc *webrtc.PeerConnection) (string, error) {
	o, err := pc.CreateOffer(nil)
	if err != nil {
		return "", err
	}
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		return "", err
	}
	<-done
	return pc.LocalDescription().SDP, nil
}

// exchangeFunc sends an offer and returns the answer and the session
// resource URL ("" if none).
type exchangeFunc func(ctx context.Context, offer string) (answer, resource string, err error)

var httpClient = &http.Client{Timeout: 30 * time.Second}

// httpExchange is a WHIP/WHEP POST (RFC 9725 §4.2) to endpoint.
func httpExchange(endpoint, token string) exchangeFunc {
	return httpExchangeLinks(endpoint, token, nil)
}

// httpExchangeLinks is httpExchange that also stores, when links is not
// nil, the ICE servers the answer advertises (Link rel="ice-server",
// RFC 9725 §4.6).
func httpExchangeLinks(endpoint, token string, links *[]webrtc.ICEServer) exchangeFunc {
	return func(ctx context.Context, offer string) (string, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(offer))
		if err != nil {
			return "", "", err
		}
		req.Header.Set("Content-Type", "application/sdp")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return "", "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return "", "", err
		}
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			return "", "", fmt.Errorf("POST %s: %s: %s", endpoint, resp.Status, strings.TrimSpace(string(body)))
		}
		if links != nil {
			for _, v := range resp.Header.Values("Link") {
				if srv, ok := parseICELink(v); ok {
					*links = append(*links, srv)
				}
			}
		}
		resource := ""
		if loc := resp.Header.Get("Location"); loc != "" {
			base, err1 := url.Parse(endpoint)
			ref, err2 := url.Parse(loc)
			if err1 == nil && err2 == nil {
				abs := base.ResolveReference(ref)
				// Pion's whip-whep example answers Location: /whip (the
				// endpoint itself, with no DELETE handler): not a resource.
				if abs.Path != base.Path {
					resource = abs.String()
				}
			}
		}
		return string(body), resource, nil
	}
}

// parseICELink reads one Link header value of the form RFC 9725 §4.6
// gives, <turn:host:port?transport=udp>; rel="ice-server";
// username="…"; credential="…" (quoted-strings with backslash escapes,
// RFC 9110 §5.6.4); false for any other link.
func parseICELink(v string) (webrtc.ICEServer, bool) {
	v = strings.TrimSpace(v)
	end := strings.IndexByte(v, '>')
	if !strings.HasPrefix(v, "<") || end < 0 {
		return webrtc.ICEServer{}, false
	}
	u, err := url.PathUnescape(v[1:end])
	if err != nil {
		return webrtc.ICEServer{}, false
	}
	params := map[string]string{}
	rest := v[end+1:]
	for len(rest) > 0 {
		rest = strings.TrimLeft(rest, "; \t")
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			break
		}
		key := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = rest[eq+1:]
		var val strings.Builder
		if strings.HasPrefix(rest, `"`) {
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				val.WriteByte(rest[i])
			}
			rest = rest[min(i+1, len(rest)):]
		} else {
			semi := strings.IndexByte(rest, ';')
			if semi < 0 {
				semi = len(rest)
			}
			val.WriteString(strings.TrimSpace(rest[:semi]))
			rest = rest[semi:]
		}
		params[key] = val.String()
	}
	if params["rel"] != "ice-server" {
		return webrtc.ICEServer{}, false
	}
	return webrtc.ICEServer{URLs: []string{u}, Username: params["username"], Credential: params["credential"]}, true
}

// deleteResource ends a WHIP/WHEP session (RFC 9725 §4.4), best effort.
func deleteResource(resource, token string) {
	if resource == "" {
		return
	}
	req, err := http.NewRequest(http.MethodDelete, resource, nil)
	if err != nil {
		return
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if resp, err := httpClient.Do(req); err == nil {
		resp.Body.Close()
	}
}

// publisher sends synthetic video at a settable packet rate.
type publisher struct {
	pc           *webrtc.PeerConnection // nil in direct mode
	track        *webrtc.TrackLocalStaticRTP
	resource     string
	keyEvery     int
	payloadBytes int
	codec        string

	rate     atomic.Uint64 // float64 bits, packets per second
	next     atomic.Uint64 // counter of the next packet
	forceKey atomic.Bool
	plis     atomic.Uint64
	errors   atomic.Uint64
	stop     chan struct{}
	done     chan struct{}
}

func newTrack(codec string) (*webrtc.TrackLocalStaticRTP, error) {
	mime := webrtc.MimeTypeVP8
	if codec == "h264" {
		mime = webrtc.MimeTypeH264
	}
	return webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000}, "loadtest-video", "loadtest")
}

// connectPublisher publishes one video track over WHIP and waits until the
// connection is up.
func connectPublisher(ctx context.Context, api *webrtc.API, exchange exchangeFunc, cfg *Config) (*publisher, error) {
	track, err := newTrack(cfg.Codec)
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p := newPublisher(track, cfg)
	p.pc = pc
	tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		pc.Close()
		return nil, err
	}
	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	go p.readRTCP(tr.Sender())
	offer, err := gatheredOffer(pc)
	if err != nil {
		pc.Close()
		return nil, err
	}
	answer, resource, err := exchange(ctx, offer)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("WHIP: %w", err)
	}
	p.resource = resource
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		pc.Close()
		return nil, fmt.Errorf("WHIP answer: %w", err)
	}
	select {
	case <-connected:
	case <-time.After(15 * time.Second):
		pc.Close()
		return nil, errors.New("WHIP: the publisher did not connect within 15 s")
	case <-ctx.Done():
		pc.Close()
		return nil, ctx.Err()
	}
	return p, nil
}

func newPublisher(track *webrtc.TrackLocalStaticRTP, cfg *Config) *publisher {
	p := &publisher{track: track, keyEvery: cfg.KeyframeEvery, payloadBytes: cfg.PayloadBytes, codec: cfg.Codec,
		stop: make(chan struct{}), done: make(chan struct{})}
	p.forceKey.Store(true)
	return p
}

// readRTCP drives the sender's interceptors and turns PLI/FIR into a
// keyframe on the next packet.
func (p *publisher) readRTCP(s *webrtc.RTPSender) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pk := range pkts {
			switch pk.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.plis.Add(1)
				p.forceKey.Store(true)
			}
		}
	}
}

func (p *publisher) setRate(pps float64) { p.rate.Store(math.Float64bits(pps)) }

// run paces packets in 1 ms ticks: each tick sends the packets due since
// the rate was set (so at 5,000 packets/s, bursts of 5), never catching up
// more than 50 ms of backlog. Each packet is stamped just before it is
// handed to Pion.
func (p *publisher) run() {
	defer close(p.done)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Marker: true, SSRC: 1}, Payload: make([]byte, p.payloadBytes)}
	copy(pkt.Payload[magicOffset:], magic[:])
	key, delta := vp8Key, vp8Delta
	if p.codec == "h264" {
		key, delta = h264Key, h264Dlt
	}
	start := time.Now()
	var phaseStart time.Time
	var phaseRate float64
	var phaseSent int64
	var seq uint16
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		now := time.Now()
		r := math.Float64frombits(p.rate.Load())
		if r != phaseRate {
			phaseStart, phaseRate, phaseSent = now, r, 0
		}
		due := int64(r*now.Sub(phaseStart).Seconds()) - phaseSent
		if maxBacklog := int64(r*0.05) + 1; due > maxBacklog {
			phaseSent += due - maxBacklog
			due = maxBacklog
		}
		for i := int64(0); i < due; i++ {
			n := p.next.Load()
			prefix := delta
			if p.keyEvery == 1 || (p.keyEvery > 1 && n%uint64(p.keyEvery) == 0) || p.forceKey.Swap(false) {
				prefix = key
			}
			copy(pkt.Payload, prefix[:])
			binary.BigEndian.PutUint64(pkt.Payload[counterOffset:], n)
			seq++
			pkt.SequenceNumber = seq
			t := time.Now()
			pkt.Timestamp = uint32(t.Sub(start).Seconds() * 90000)
			binary.BigEndian.PutUint64(pkt.Payload[sentAtOffset:], uint64(t.UnixNano()))
			if err := p.track.WriteRTP(pkt); err != nil {
				p.errors.Add(1)
			}
			p.next.Store(n + 1)
			phaseSent++
		}
	}
}

func (p *publisher) close(token string) {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
	deleteResource(p.resource, token)
	if p.pc != nil {
		_ = p.pc.Close()
	}
}

// rec is one received packet: its counter and one-way latency.
type rec struct {
	counter uint64
	latency time.Duration
}

// subscriber plays the video over WHEP and records every packet.
type subscriber struct {
	id       int
	pc       *webrtc.PeerConnection
	resource string
	join     JoinStat

	mu       sync.Mutex
	recs     []rec
	packets  atomic.Uint64
	foreign  atomic.Uint64 // packets without the load-test stamp
	firstPkt chan struct{}
	firstKey chan struct{}
}

// connectSubscriber opens a WHEP session and waits for its first packet.
func connectSubscriber(ctx context.Context, api *webrtc.API, exchange exchangeFunc, id int, codec string) (*subscriber, error) {
	return connectSubscriberWith(ctx, api, exchange, id, codec, webrtc.Configuration{})
}

// connectSubscriberWith is connectSubscriber with a PeerConnection
// configuration (ICE servers, a relay-only policy).
func connectSubscriberWith(ctx context.Context, api *webrtc.API, exchange exchangeFunc, id int, codec string, pcConfig webrtc.Configuration) (*subscriber, error) {
	s := &subscriber{id: id, firstPkt: make(chan struct{}), firstKey: make(chan struct{})}
	t0 := time.Now()
	pc, err := api.NewPeerConnection(pcConfig)
	if err != nil {
		return nil, err
	}
	s.pc = pc
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		pc.Close()
		return nil, err
	}
	var connectedAt atomic.Int64
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateConnected {
			connectedAt.CompareAndSwap(0, int64(time.Since(t0)))
		}
	})
	var firstPktAt, firstKeyAt atomic.Int64
	pc.OnTrack(func(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		go func() { // drive the receiver's RTCP interceptors
			for {
				if _, _, err := recv.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		s.read(tr, codec, func(key bool) {
			if firstPktAt.CompareAndSwap(0, int64(time.Since(t0))) {
				close(s.firstPkt)
			}
			if key && firstKeyAt.CompareAndSwap(0, int64(time.Since(t0))) {
				close(s.firstKey)
			}
		})
	})
	offer, err := gatheredOffer(pc)
	if err != nil {
		pc.Close()
		return nil, err
	}
	tGathered := time.Since(t0)
	answer, resource, err := exchange(ctx, offer)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("WHEP: %w", err)
	}
	tAnswered := time.Since(t0)
	s.resource = resource
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		pc.Close()
		return nil, fmt.Errorf("WHEP answer: %w", err)
	}
	select {
	case <-s.firstPkt:
	case <-time.After(15 * time.Second):
		pc.Close()
		return nil, fmt.Errorf("WHEP subscriber %d: %w within 15 s (connected: %v)", id, errNoTrack, connectedAt.Load() != 0)
	case <-ctx.Done():
		pc.Close()
		return nil, ctx.Err()
	}
	select {
	case <-s.firstKey:
	case <-time.After(10 * time.Second):
	case <-ctx.Done():
	}
	s.join = JoinStat{Subscriber: id, Gather: tGathered, Signal: tAnswered - tGathered,
		Connected: time.Duration(connectedAt.Load()), FirstPacket: time.Duration(firstPktAt.Load()), FirstKeyframe: time.Duration(firstKeyAt.Load())}
	return s, nil
}

// read records every packet's counter and latency until the track ends.
func (s *subscriber) read(tr *webrtc.TrackRemote, codec string, first func(key bool)) {
	buf := make([]byte, 1600)
	var h rtp.Header
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		now := time.Now()
		s.packets.Add(1)
		hl, err := h.Unmarshal(buf[:n])
		if err != nil || n-hl < MinPayloadBytes || [4]byte(buf[hl+magicOffset:hl+magicOffset+4]) != magic {
			s.foreign.Add(1)
			continue
		}
		pl := buf[hl:n]
		counter := binary.BigEndian.Uint64(pl[counterOffset:])
		sentAt := int64(binary.BigEndian.Uint64(pl[sentAtOffset:]))
		first(isKey(codec, pl))
		s.mu.Lock()
		s.recs = append(s.recs, rec{counter: counter, latency: time.Duration(now.UnixNano() - sentAt)})
		s.mu.Unlock()
	}
}

func isKey(codec string, pl []byte) bool {
	if codec == "h264" {
		return pl[0]&0x1f == 5
	}
	return pl[0] == 0x10 && pl[1]&0x01 == 0
}

// take returns the first arrival of every counter in [a, b] and drops the
// records at or below b.
func (s *subscriber) take(a, b uint64) []rec {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]rec, 0, b-a+1)
	seen := make([]bool, b-a+1)
	keep := s.recs[:0]
	for _, r := range s.recs {
		switch {
		case r.counter > b:
			keep = append(keep, r)
		case r.counter >= a && !seen[r.counter-a]:
			seen[r.counter-a] = true
			out = append(out, r)
		}
	}
	s.recs = keep
	return out
}

func (s *subscriber) close(token string) {
	deleteResource(s.resource, token)
	_ = s.pc.Close()
}

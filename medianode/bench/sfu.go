// Package bench is the library behind cmd/chroom-loadtest: it starts a
// throwaway Chroom SFU with WHIP/WHEP signaling, and drives one WHIP
// publisher and N WHEP subscribers of Pion clients against any WHIP/WHEP
// endpoint, measuring loss, added latency, join-to-first-packet and the
// SFU's CPU cost per forwarded packet.
package bench

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/pion/logging"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/medianode/sfu"
	"github.com/chroom/chroom/medianode/signal"
	"github.com/chroom/chroom/medianode/udpbatch"
)

// Room is the room every load-test session joins.
const Room = "loadtest"

// SFUOptions configure StartSFU.
type SFUOptions struct {
	// UDPAddr is the media socket (ICE UDP mux); default 127.0.0.1:0.
	UDPAddr string
	// HTTPAddr is the WHIP/WHEP listener; default 127.0.0.1:0.
	HTTPAddr string
	// PionLogLevel is the level of Pion's own loggers (default error).
	PionLogLevel logging.LogLevel
	// UDPBufferBytes, if set, sizes the media socket's kernel receive and
	// send buffers (SO_RCVBUF/SO_SNDBUF; capped by net.core.rmem_max and
	// wmem_max). Zero keeps the system default, as medianode/node does.
	UDPBufferBytes int
	// UnbatchedWrites sends each datagram with its own sendto(2) instead
	// of batching them (udpbatch, the media node's default).
	UnbatchedWrites bool
}

// Endpoints say where a load test sends its sessions.
type Endpoints struct {
	WHIP string `json:"whip"`
	WHEP string `json:"whep"`
	// Metrics is the SFU's Prometheus endpoint ("" if none).
	Metrics        string `json:"metrics,omitempty"`
	PublisherToken string `json:"publisher_token,omitempty"`
	// ViewerTokens are one viewer grant per WHEP session: the node admits
	// one live session per grant.
	ViewerTokens []string `json:"viewer_tokens,omitempty"`
	// PID is the process serving them, for CPU accounting (0 if unknown).
	PID int `json:"pid,omitempty"`
}

// SFU is a running in-process Chroom SFU with WHIP/WHEP signaling,
// authenticated by grants of a throwaway orchestrator key.
type SFU struct {
	Endpoints
	SFU  *sfu.SFU
	udp  net.PacketConn
	ln   net.Listener
	http *http.Server
}

// chainID is the chain the local SFU's grants are bound to; it only has to
// match between issueGrant and the verifier.
const chainID = "chroom-bench"

// issuers is a fixed registry with one active orchestrator.
type issuers map[string]ed25519.PublicKey

func (i issuers) OrchestratorKey(id string) (ed25519.PublicKey, error) {
	if k, ok := i[id]; ok {
		return k, nil
	}
	return nil, grant.ErrUnknownIssuer
}

// StartSFU starts a Chroom SFU as a media node would (sfu.NewAPI with one
// UDP socket and loopback candidates, sfu.New, signal.Server with a
// grant.Verifier) and issues a host grant for the publisher and a viewer
// grant for the subscribers (WHEP sessions get distinct identities, so one
// viewer grant serves them all).
func StartSFU(o SFUOptions) (*SFU, error) {
	if o.UDPAddr == "" {
		o.UDPAddr = "127.0.0.1:0"
	}
	if o.HTTPAddr == "" {
		o.HTTPAddr = "127.0.0.1:0"
	}
	if o.PionLogLevel == 0 {
		o.PionLogLevel = logging.LogLevelError
	}
	udp, err := net.ListenPacket("udp4", o.UDPAddr)
	if err != nil {
		return nil, fmt.Errorf("media socket: %w", err)
	}
	if o.UDPBufferBytes > 0 {
		if uc, ok := udp.(*net.UDPConn); ok {
			_ = uc.SetReadBuffer(o.UDPBufferBytes)
			_ = uc.SetWriteBuffer(o.UDPBufferBytes)
		}
	}
	var batcher sfu.Batcher
	if uc, ok := udp.(*net.UDPConn); ok && !o.UnbatchedWrites {
		b := udpbatch.New(uc, udpbatch.Options{})
		udp, batcher = b, b
	}
	apis, err := sfu.NewAPIs(sfu.TransportConfig{UDP: udp, IncludeLoopback: true}, pionLogger(o.PionLogLevel))
	if err != nil {
		udp.Close()
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	s, err := sfu.New(sfu.Config{API: apis.Call, ViewerAPI: apis.Viewer, Logger: quiet, Registry: reg, Limits: sfu.Limits{MaxParticipantsPerRoom: 1000}, Batcher: batcher})
	if err != nil {
		udp.Close()
		return nil, err
	}
	orch, err := format.GenerateNodeKey(nil)
	if err != nil {
		udp.Close()
		return nil, err
	}
	node, err := format.GenerateNodeKey(nil)
	if err != nil {
		udp.Close()
		return nil, err
	}
	srv := &signal.Server{SFU: s, Log: quiet, Auth: &grant.Verifier{Audience: node.ID, ChainID: chainID, Issuers: issuers{orch.ID: orch.PublicKey}}}
	ln, err := net.Listen("tcp", o.HTTPAddr)
	if err != nil {
		udp.Close()
		return nil, fmt.Errorf("WHIP/WHEP listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", srv.Handler())
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	out := &SFU{SFU: s, udp: udp, ln: ln, http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	base := "http://" + ln.Addr().String()
	out.WHIP, out.WHEP, out.Metrics = base+"/whip", base+"/whep", base+"/metrics"
	if out.PublisherToken, err = issueGrant(orch, node.ID, "publisher", grant.RoleHost); err != nil {
		out.Close()
		return nil, err
	}
	for i := 0; i < MaxViewers; i++ {
		tok, err := issueGrant(orch, node.ID, fmt.Sprintf("viewer-%d", i), grant.RoleViewer)
		if err != nil {
			out.Close()
			return nil, err
		}
		out.ViewerTokens = append(out.ViewerTokens, tok)
	}
	go func() { _ = out.http.Serve(ln) }()
	return out, nil
}

// MaxViewers is how many viewer grants a local SFU issues (the most WHEP
// subscribers a run against it can have).
const MaxViewers = 1000

func issueGrant(orch *format.NodeKey, nodeID, identity string, role grant.Role) (string, error) {
	c := grant.Claims{ChainID: chainID, Type: grant.TypeJoin, Room: Room, Role: role, Permissions: grant.DefaultPermissions(role)}
	c.Subject = identity
	c.Audience = []string{nodeID}
	c.NotBefore = jwt.NewNumericDate(time.Now().Add(-time.Minute))
	c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(24 * time.Hour))
	return grant.Issue(orch, c)
}

// Close ends every session and stops the listeners.
func (s *SFU) Close() {
	s.SFU.Close(5 * time.Second)
	_ = s.http.Close()
	_ = s.udp.Close()
}

// pionLogger returns a Pion logger factory at level.
func pionLogger(level logging.LogLevel) logging.LoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = level
	f.ScopeLevels = map[string]logging.LogLevel{}
	return f
}

var errNoTrack = errors.New("no track arrived")

// ForwardedPackets reads chroom_medianode_forwarded_packets_total from a
// Chroom SFU's Prometheus endpoint.
func ForwardedPackets(metricsURL string) (float64, error) {
	resp, err := httpClient.Get(metricsURL)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "chroom_medianode_forwarded_packets_total "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("%s has no chroom_medianode_forwarded_packets_total", metricsURL)
}

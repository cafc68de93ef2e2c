// Package node assembles a media node from its parts: registry view,
// SFU, signaling, TURN, receipt queue, Media Node RPC and metrics.
package node

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/medianode/cascade"
	"github.com/chroom/chroom/medianode/config"
	"github.com/chroom/chroom/medianode/registryview"
	"github.com/chroom/chroom/medianode/rpc"
	"github.com/chroom/chroom/medianode/sfu"
	"github.com/chroom/chroom/medianode/signal"
	"github.com/chroom/chroom/medianode/turn"
	"github.com/chroom/chroom/medianode/udpbatch"
	"github.com/chroom/chroom/netguard"
	"github.com/chroom/chroom/noderpc"
	"github.com/chroom/chroom/noderpc/rpcpb"
	"github.com/chroom/chroom/receipts"
)

// Node is a running media node.
type Node struct {
	cfg    config.Config
	log    *slog.Logger
	key    *format.NodeKey
	view   *registryview.View
	store  *receipts.Store
	signer *receipts.Signer
	// spool writes receipts through signer, holding in memory those the
	// store refuses (a full disk) until it accepts writes again.
	spool *receipts.Spool
	// checkpointMu orders checkpoints (saving open segments) and cuts.
	checkpointMu sync.Mutex
	sfu          *sfu.SFU
	pusher       atomic.Pointer[rpc.Pusher] // set by Run
	turn         *turn.Server
	reg          *prometheus.Registry

	epoch    atomic.Int64
	epochLen atomic.Int64 // seconds
	draining atomic.Bool

	udp     net.PacketConn
	iceTCP  net.Listener
	httpLn  net.Listener
	rpcLn   net.Listener
	metLn   net.Listener
	turnUDP net.PacketConn
	turnTCP net.Listener
	turnTLS net.Listener

	mu       sync.Mutex
	sessions map[*sfu.Participant]*session
	// conns counts the connections made with each grant (by issuer and
	// jti), for format.GrantSessionID; entries go when the grant expires.
	conns map[grantKey]*grantConns
}

type grantKey struct{ issuer, jti string }

type grantConns struct {
	n       uint32
	expires time.Time
}

// session is the node's record of one participant session.
type session struct {
	meter *receipts.Meter
}

// New opens every socket and the receipt store; errors name the config
// key to change. Nothing runs until Run.
func New(cfg config.Config, log *slog.Logger) (*Node, error) {
	if log == nil {
		log = slog.Default()
	}
	n := &Node{cfg: cfg, log: log, sessions: map[*sfu.Participant]*session{}, conns: map[grantKey]*grantConns{}, reg: prometheus.NewRegistry()}
	ok := false
	defer func() {
		if !ok {
			n.closeSockets()
		}
	}()
	var err error
	if n.key, err = format.LoadNodeKey(cfg.Node.KeyFile); err != nil {
		return nil, fmt.Errorf("node.key_file: %w", err)
	}
	if n.view, err = registryview.New(cfg.Chain.RESTURL, registryview.WithLogger(log)); err != nil {
		return nil, fmt.Errorf("chain.rest_url: %w", err)
	}
	listenErr := func(key string, addr string, err error) error {
		return fmt.Errorf("%s: cannot listen on %s (%v); is the port taken? change %s in the config", key, addr, err, key)
	}
	udpAddr := net.JoinHostPort(cfg.WebRTC.BindIP, strconv.Itoa(cfg.WebRTC.UDPPort))
	if n.udp, err = net.ListenPacket("udp", udpAddr); err != nil {
		return nil, listenErr("webrtc.udp_port", udpAddr, err)
	}
	if want := cfg.WebRTC.SocketBufferBytes; want > 0 {
		r, w, err := sfu.SizeSocketBuffers(n.udp, want)
		switch {
		case err != nil:
			log.Warn("could not size the media socket's buffers", "err", err)
		case r < want || w < want:
			log.Warn("the kernel capped the media socket's buffers; packets may be dropped in bursts at high rates",
				"asked_bytes", want, "receive_bytes", r, "send_bytes", w,
				"fix", fmt.Sprintf("sysctl -w net.core.rmem_max=%d net.core.wmem_max=%d", want, want))
		default:
			log.Debug("media socket buffers", "receive_bytes", r, "send_bytes", w)
		}
	}
	var batcher sfu.Batcher
	if uc, ok := n.udp.(*net.UDPConn); ok && cfg.WebRTC.BatchWrites {
		batched := udpbatch.New(uc, udpbatch.Options{})
		n.udp, batcher = batched, batched
		sent := func(name, help string, v func(udpbatch.Stats) uint64) prometheus.Collector {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "chroom_medianode_media_socket_" + name, Help: help},
				func() float64 { return float64(v(batched.Stats())) })
		}
		n.reg.MustRegister(
			sent("datagrams_sent_total", "Datagrams the media socket sent (batched writes).", func(s udpbatch.Stats) uint64 { return s.Datagrams }),
			sent("send_calls_total", "sendmmsg calls of the media socket; datagrams_sent_total / send_calls_total is the mean batch.", func(s udpbatch.Stats) uint64 { return s.Batches }),
			sent("send_errors_total", "Datagrams the kernel refused to send (dropped).", func(s udpbatch.Stats) uint64 { return s.Errors }),
		)
	}
	if cfg.WebRTC.TCPPort > 0 {
		a := net.JoinHostPort(cfg.WebRTC.BindIP, strconv.Itoa(cfg.WebRTC.TCPPort))
		if n.iceTCP, err = net.Listen("tcp", a); err != nil {
			return nil, listenErr("webrtc.tcp_port", a, err)
		}
	}
	if n.httpLn, err = net.Listen("tcp", cfg.HTTP.Listen); err != nil {
		return nil, listenErr("http.listen", cfg.HTTP.Listen, err)
	}
	if n.rpcLn, err = net.Listen("tcp", cfg.RPC.Listen); err != nil {
		return nil, listenErr("rpc.listen", cfg.RPC.Listen, err)
	}
	if cfg.Metrics.Listen != "" {
		if n.metLn, err = net.Listen("tcp", cfg.Metrics.Listen); err != nil {
			return nil, listenErr("metrics.listen", cfg.Metrics.Listen, err)
		}
	}
	if cfg.TURN.Enabled {
		if err := n.openTURN(); err != nil {
			return nil, err
		}
	}
	if n.store, err = receipts.Open(cfg.Receipts.Store); err != nil {
		return nil, fmt.Errorf("receipts.store: %w", err)
	}
	n.signer = &receipts.Signer{Key: n.key, ChainID: cfg.Chain.ChainID, Store: n.store}
	n.spool = &receipts.Spool{Signer: n.signer}
	// Sessions open when the last run crashed: their saved segments become
	// receipts now (each once).
	if queued, bad, err := n.store.RecoverOpen(n.key, cfg.Chain.ChainID, n.prepare); err != nil {
		return nil, fmt.Errorf("receipts.store: %w", err)
	} else if queued+bad > 0 {
		log.Warn("the last run ended without closing its sessions: their saved open segments are queued as receipts",
			"receipts", queued, "unreadable_set_aside", bad)
	}

	apis, err := sfu.NewAPIs(sfu.TransportConfig{UDP: n.udp, TCP: n.iceTCP, PublicIPs: cfg.WebRTC.PublicIPs, IncludeLoopback: cfg.WebRTC.IncludeLoopback}, nil)
	if err != nil {
		return nil, err
	}
	n.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	n.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "chroom_medianode_receipt_queue_depth", Help: "Signed receipts not yet acknowledged by an orchestrator."},
		func() float64 { l, _ := n.store.Len(); return float64(l) }))
	n.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "chroom_medianode_receipts_held", Help: "Signed receipts held in memory because the receipt store refused to write them (a full disk); written when it accepts writes again."},
		func() float64 { h, _ := n.spool.Held(); return float64(h) }))
	n.sfu, err = sfu.New(sfu.Config{
		API: apis.Call, ViewerAPI: apis.Viewer, LinkAPI: apis.Link, Logger: log, Registry: n.reg, Batcher: batcher,
		Limits: sfu.Limits{
			MaxRooms: cfg.Limits.MaxRooms, MaxParticipantsPerRoom: cfg.Limits.MaxParticipantsPerRoom,
			MaxTracksPerParticipant: cfg.Limits.MaxTracksPerParticipant, MaxDataMessageBytes: cfg.Limits.MaxDataMessageBytes,
		},
		NewMeter:       n.newMeasurements,
		OnSessionEvent: n.queueSessionEvent,
		OnSessionEnd:   n.sessionEnded,
	})
	if err != nil {
		return nil, err
	}
	ok = true
	return n, nil
}

func (n *Node) openTURN() error {
	c := n.cfg.TURN
	var err error
	if c.UDPPort > 0 {
		a := net.JoinHostPort(n.cfg.WebRTC.BindIP, strconv.Itoa(c.UDPPort))
		if n.turnUDP, err = net.ListenPacket("udp4", a); err != nil {
			return fmt.Errorf("turn.udp_port: cannot listen on %s (%v); change turn.udp_port", a, err)
		}
	}
	if c.TCPPort > 0 {
		a := net.JoinHostPort(n.cfg.WebRTC.BindIP, strconv.Itoa(c.TCPPort))
		if n.turnTCP, err = net.Listen("tcp4", a); err != nil {
			return fmt.Errorf("turn.tcp_port: cannot listen on %s (%v); change turn.tcp_port", a, err)
		}
	}
	if c.TLSPort > 0 {
		certFile, keyFile := c.TLSCert, c.TLSKey
		if certFile == "" {
			certFile, keyFile = n.cfg.HTTP.TLSCert, n.cfg.HTTP.TLSKey
		}
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return fmt.Errorf("turn.tls_cert: %v", err)
		}
		a := net.JoinHostPort(n.cfg.WebRTC.BindIP, strconv.Itoa(c.TLSPort))
		raw, err := net.Listen("tcp4", a)
		if err != nil {
			return fmt.Errorf("turn.tls_port: cannot listen on %s (%v); change turn.tls_port", a, err)
		}
		n.turnTLS = tls.NewListener(raw, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	pub := net.ParseIP(c.PublicIP)
	if pub == nil {
		// Fall back to the host of http.public_url if it is an IP, then
		// to a specific bind address; a wildcard bind has no usable
		// relay address, so the operator must say it.
		pub = net.ParseIP(publicHost(n.cfg.HTTP.PublicURL, ""))
		if pub == nil {
			pub = net.ParseIP(n.cfg.WebRTC.BindIP)
		}
		if pub == nil || pub.IsUnspecified() {
			return fmt.Errorf("turn.public_ip: set the IPv4 address clients reach the relay at (http.public_url has no IP and webrtc.bind_ip is a wildcard)")
		}
	}
	if pub.To4() == nil {
		return fmt.Errorf("turn.public_ip: the relay supports IPv4 only, got %s", pub)
	}
	// The node's own addresses: relayed data may reach only its SFU's
	// media port there (turn.Config.OwnIPs).
	own := []net.IP{pub}
	for _, s := range append([]string{n.cfg.WebRTC.BindIP}, n.cfg.WebRTC.PublicIPs...) {
		if ip := net.ParseIP(s); ip != nil && !ip.IsUnspecified() {
			own = append(own, ip)
		}
	}
	if ip := net.ParseIP(publicHost(n.cfg.HTTP.PublicURL, "")); ip != nil {
		own = append(own, ip)
	}
	n.turn, err = turn.New(turn.Config{
		Realm: c.Realm, PublicIP: pub.To4(), Secret: []byte(c.Secret), CredentialTTL: c.CredentialTTL,
		AllowLoopback: c.AllowLoopbackPeers, MaxAllocationsPerUser: c.MaxAllocationsPerUser, Logger: n.log,
		OwnIPs: own, OwnPortsReachable: []int{n.cfg.WebRTC.UDPPort},
	}, n.turnUDP, n.turnTCP, n.turnTLS)
	if err != nil {
		return fmt.Errorf("turn: %w", err)
	}
	n.turnUDP, n.turnTCP, n.turnTLS = nil, nil, nil // owned by the TURN server now
	n.registerTURNMetrics()
	return nil
}

// registerTURNMetrics exposes the relay's counters on /metrics as
// chroom_medianode_turn_*.
func (n *Node) registerTURNMetrics() {
	t := n.turn
	counter := func(name, help string, v func(turn.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "chroom_medianode_turn_" + name, Help: help},
			func() float64 { return float64(v(t.Stats())) })
	}
	n.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "chroom_medianode_turn_allocations", Help: "Live TURN allocations."},
			func() float64 { return float64(t.Stats().Allocations) }),
		counter("peers_refused_total", "CreatePermission and ChannelBind peers refused (special-use addresses).", func(s turn.Stats) uint64 { return s.PeersRefused }),
		counter("auth_refused_total", "TURN requests refused for their credentials (malformed, expired, wrong realm or password).", func(s turn.Stats) uint64 { return s.AuthRefused }),
		counter("quota_refused_total", "Allocate requests refused with 486 (allocation quota).", func(s turn.Stats) uint64 { return s.QuotaRefused }),
		counter("own_address_dropped_total", "Relayed datagrams dropped for going to one of the node's own addresses on a port other than the media port.", func(s turn.Stats) uint64 { return s.OwnAddressDropped }),
		counter("relayed_to_peers_bytes_total", "UDP payload bytes relayed to peers.", func(s turn.Stats) uint64 { return s.BytesToPeers }),
		counter("relayed_from_peers_bytes_total", "UDP payload bytes received from peers on relay sockets.", func(s turn.Stats) uint64 { return s.BytesFromPeers }),
	)
}

// ID returns the node ID.
func (n *Node) ID() string { return n.key.ID }

// HTTPAddr, RPCAddr and MetricsAddr return the bound addresses.
func (n *Node) HTTPAddr() string { return n.httpLn.Addr().String() }

// RPCAddr returns the Media Node RPC address.
func (n *Node) RPCAddr() string { return n.rpcLn.Addr().String() }

// SFU returns the node's SFU.
func (n *Node) SFU() *sfu.SFU { return n.sfu }

// Store returns the receipt queue.
func (n *Node) Store() *receipts.Store { return n.store }

// Ready reports whether the node serves: the registry view is loaded, the
// epoch is known, and it is not draining.
func (n *Node) Ready() (bool, string) {
	switch {
	case n.draining.Load():
		return false, "draining"
	case !n.view.Ready():
		return false, "registry not loaded yet"
	case n.epoch.Load() == 0:
		return false, "current epoch unknown"
	}
	return true, "ready"
}

// Run serves until ctx ends, then drains: readiness goes false, every
// session ends (and is receipted), servers stop and the store closes.
func (n *Node) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	goRun := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }

	goRun(func() { n.view.Run(ctx, n.cfg.Chain.RegistryRefresh) })
	goRun(func() { n.epochLoop(ctx) })
	goRun(func() { every(ctx, 2*time.Second, n.retryHeld) })
	goRun(func() { every(ctx, CheckpointEvery, n.checkpoint) })

	sig := &signal.Server{
		SFU: n.sfu, ICE: n, Hooks: n, Log: n.log,
		Auth:  &grant.Verifier{Audience: n.key.ID, ChainID: n.cfg.Chain.ChainID, Issuers: n.view, MaxLifetime: n.cfg.Grants.MaxLifetime},
		Relay: &signal.RelayAuth{NodeID: n.key.ID, ChainID: n.cfg.Chain.ChainID, MediaNodeKey: n.mediaNodeKey},
	}
	mux := http.NewServeMux()
	mux.Handle("/", sig.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, why := n.Ready()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = io.WriteString(w, why+"\n")
	})
	httpSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10}
	goRun(func() {
		var err error
		if n.cfg.HTTP.TLSCert != "" {
			err = httpSrv.ServeTLS(n.httpLn, n.cfg.HTTP.TLSCert, n.cfg.HTTP.TLSKey)
		} else {
			err = httpSrv.Serve(n.httpLn)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("http server stopped", "err", err)
			cancel()
		}
	})
	var metSrv *http.Server
	if n.metLn != nil {
		metSrv = &http.Server{Handler: promhttp.HandlerFor(n.reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 10 * time.Second}
		goRun(func() { _ = metSrv.Serve(n.metLn) })
	}
	grpcSrv := grpc.NewServer(noderpc.ServerCodec(), grpc.UnaryInterceptor(noderpc.VerifyCalls(n.orchestratorKey, n.cfg.Chain.ChainID, nil)))
	links, err := cascade.New(n.sfu, cascade.Options{Logger: n.log, Registry: n.reg,
		Prove: func(jti, server string) (string, error) {
			return signal.RelayProof(n.key, n.cfg.Chain.ChainID, jti, server, time.Now())
		}})
	if err != nil {
		return err
	}
	defer links.Close()
	rpcpb.RegisterMediaNodeServer(grpcSrv, &rpc.MediaNodeServer{SFU: n.sfu, Links: &peerLinker{n: n, m: links}})
	goRun(func() { _ = grpcSrv.Serve(n.rpcLn) })
	pusher := &rpc.Pusher{Key: n.key, ChainID: n.cfg.Chain.ChainID, Store: n.store, Orchs: n, Load: n.loadReport, Log: n.log,
		Guard: netguard.Policy{AllowPrivate: n.cfg.Outbound.AllowPrivateEndpoints}}
	n.pusher.Store(pusher)
	pushCtx, stopPush := context.WithCancel(context.Background())
	defer stopPush()
	var pushWG sync.WaitGroup
	pushWG.Add(1)
	go func() {
		defer pushWG.Done()
		pusher.Run(pushCtx, n.cfg.Receipts.LoadReportInterval, n.cfg.Receipts.PushInterval)
	}()

	n.log.Info("media node started", "node_id", n.key.ID, "http", n.HTTPAddr(), "rpc", n.RPCAddr(), "udp", n.udp.LocalAddr().String())
	<-ctx.Done()

	n.log.Info("draining")
	n.draining.Store(true)
	final, cancelFinal := context.WithTimeout(context.Background(), 5*time.Second)
	pusher.PushLoad(final) // tell orchestrators to stop placing rooms here
	n.sfu.Close(10 * time.Second)
	if _, left, err := n.spool.Retry(); left > 0 {
		n.log.Error("receipts lost: the receipt store stayed unwritable until shutdown", "lost", left, "err", err)
	}
	if _, err := pusher.PushReceipts(final); err != nil {
		n.log.Warn("receipts kept for the next start", "err", err)
	}
	cancelFinal()
	stopPush()
	pushWG.Wait()
	shutdown, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	_ = httpSrv.Shutdown(shutdown)
	if metSrv != nil {
		_ = metSrv.Shutdown(shutdown)
	}
	grpcSrv.GracefulStop()
	wg.Wait()
	n.closeSockets()
	return nil
}

func (n *Node) closeSockets() {
	if n.turn != nil {
		_ = n.turn.Close()
	}
	for _, c := range []io.Closer{n.udp, n.iceTCP, n.httpLn, n.rpcLn, n.metLn, n.turnUDP, n.turnTCP, n.turnTLS} {
		if c != nil {
			_ = c.Close()
		}
	}
	if n.store != nil {
		_ = n.store.Close()
	}
}

// orchestratorKey accepts RPC callers that are ACTIVE orchestrators.
func (n *Node) orchestratorKey(id string) (ed25519.PublicKey, error) {
	return n.view.OrchestratorKey(id)
}

// ActiveOrchestrators implements rpc.Orchestrators.
func (n *Node) ActiveOrchestrators() map[string][]string {
	out := map[string][]string{}
	for _, o := range n.view.Nodes(func(x registryview.Node) bool {
		return x.Type == registryview.TypeOrchestrator && x.Status == registryview.StatusActive
	}) {
		out[o.ID] = o.Endpoints
	}
	return out
}

func (n *Node) loadReport() *rpcpb.LoadReport {
	l := n.sfu.Load()
	return &rpcpb.LoadReport{
		Rooms: uint32(l.Rooms), Participants: uint32(l.Participants), EgressKbps: l.EgressKbps,
		CpuPermille: cpuPermille(), Draining: n.draining.Load(),
	}
}

// ICEServers implements signal.ICEProvider: the node's TURN relay with
// credentials for identity.
func (n *Node) ICEServers(identity string) []webrtc.ICEServer {
	if n.turn == nil {
		return nil
	}
	user, pass, _ := n.turn.Credentials(identity, time.Now())
	return []webrtc.ICEServer{turn.ICEServer(n.turnURLs(), user, pass)}
}

// LinkHeaders implements signal.ICEProvider.
func (n *Node) LinkHeaders(identity string) []string {
	if n.turn == nil {
		return nil
	}
	user, pass, _ := n.turn.Credentials(identity, time.Now())
	var out []string
	for _, u := range n.turnURLs() {
		out = append(out, turn.LinkHeader(u, user, pass))
	}
	return out
}

func (n *Node) turnURLs() []string {
	host := n.cfg.TURN.PublicIP
	if host == "" {
		host = publicHost(n.cfg.HTTP.PublicURL, n.cfg.WebRTC.BindIP)
	}
	var urls []string
	if n.cfg.TURN.UDPPort > 0 {
		urls = append(urls, fmt.Sprintf("turn:%s:%d?transport=udp", host, n.cfg.TURN.UDPPort))
	}
	if n.cfg.TURN.TCPPort > 0 {
		urls = append(urls, fmt.Sprintf("turn:%s:%d?transport=tcp", host, n.cfg.TURN.TCPPort))
	}
	if n.cfg.TURN.TLSPort > 0 {
		// The certificate names the signaling host (http.public_url).
		name := publicHost(n.cfg.HTTP.PublicURL, host)
		urls = append(urls, fmt.Sprintf("turns:%s:%d?transport=tcp", name, n.cfg.TURN.TLSPort))
	}
	return urls
}

// publicHost is the host of publicURL, else bind if it is a specific
// address, else "127.0.0.1" (or "" when bind is "").
func publicHost(publicURL, bind string) string {
	if h := strings.TrimPrefix(strings.TrimPrefix(publicURL, "https://"), "http://"); h != publicURL {
		if host, _, err := net.SplitHostPort(strings.SplitN(h, "/", 2)[0]); err == nil {
			return host
		}
		return strings.SplitN(h, "/", 2)[0]
	}
	if ip := net.ParseIP(bind); ip != nil && !ip.IsUnspecified() {
		return bind
	}
	if bind == "" {
		return ""
	}
	return "127.0.0.1"
}

// SessionData implements signal.SessionHooks: a meter for the session's
// usage receipt, addressed to the orchestrator that issued the grant. The
// session_id is format.GrantSessionID of the grant and this connection's
// index among the grant's connections here.
func (n *Node) SessionData(c *grant.Claims, _ sfu.Kind) any {
	now := time.Now()
	k := grantKey{c.Issuer, c.ID}
	n.mu.Lock()
	gc := n.conns[k]
	if gc == nil {
		gc = &grantConns{}
		if c.ExpiresAt != nil {
			gc.expires = c.ExpiresAt.Time
		}
		n.conns[k] = gc
	}
	conn := gc.n
	gc.n++
	for key, g := range n.conns { // bounded by the grants live here
		if !g.expires.IsZero() && now.Sub(g.expires) > time.Hour {
			delete(n.conns, key)
		}
	}
	n.mu.Unlock()
	var id [32]byte
	copy(id[:], format.GrantSessionID(c.Issuer, c.ID, conn))
	m := receipts.NewMeter(id, c.Room, n.key.ID, c.Issuer, now)
	m.SetApp(c.App)
	return &session{meter: m}
}

// ClientReport implements signal.SessionHooks.
func (n *Node) ClientReport(p *sfu.Participant, bytesReceived, framesDecoded uint64) {
	if s, ok := p.Data().(*session); ok {
		s.meter.SetClientReport(bytesReceived, framesDecoded)
	}
}

// newMeasurements adapts a session's receipts.Meter to the SFU.
func (n *Node) newMeasurements(p *sfu.Participant) sfu.Measurements {
	s, ok := p.Data().(*session)
	if !ok {
		return nil
	}
	n.mu.Lock()
	n.sessions[p] = s
	n.mu.Unlock()
	return meterAdapter{s.meter}
}

type meterAdapter struct{ m *receipts.Meter }

func (a meterAdapter) AddIn(b int)  { a.m.Add(receipts.Stats{BytesIn: uint64(b)}) }
func (a meterAdapter) AddOut(b int) { a.m.Add(receipts.Stats{BytesOut: uint64(b), PacketsSent: 1}) }
func (a meterAdapter) ObserveLoss(k uint64) {
	a.m.Add(receipts.Stats{PacketsLost: k})
}
func (a meterAdapter) ObserveRTT(d time.Duration)    { a.m.ObserveRTT(d) }
func (a meterAdapter) ObserveJitter(d time.Duration) { a.m.ObserveJitter(d) }

// sessionEnded cuts the session's final receipt and queues it.
func (n *Node) sessionEnded(p *sfu.Participant) {
	n.mu.Lock()
	s, ok := n.sessions[p]
	delete(n.sessions, p)
	n.mu.Unlock()
	if !ok {
		return
	}
	n.cut(s, n.epoch.Load())
}

// prepare readies a cut segment for its receipt: segments that moved no
// media or last under a second are dropped (false: they would earn
// nothing, the chain refuses them as TOO_SHORT), and a segment longer than
// one epoch is trimmed to its last epoch's length.
func (n *Node) prepare(r format.UsageReceipt) (format.UsageReceipt, bool) {
	if r.BytesIn+r.BytesOut == 0 || r.Epoch <= 0 || r.EndUnixMs-r.StartUnixMs < 1000 {
		return r, false
	}
	// The epoch change is seen up to one poll late: keep a segment within
	// one epoch's length, as the chain requires.
	if l := n.epochLen.Load(); l > 0 && r.EndUnixMs-r.StartUnixMs > l*1000 {
		r.StartUnixMs = r.EndUnixMs - l*1000
	}
	return r, true
}

// cut ends the open segment of session s at now for epoch, queues its
// receipt and forgets the segment's checkpoint, under checkpointMu so a
// checkpoint taken before the cut is never saved after it.
func (n *Node) cut(s *session, epoch int64) {
	n.checkpointMu.Lock()
	defer n.checkpointMu.Unlock()
	r := s.meter.Cut(time.Now(), epoch)
	n.emit(r)
	if err := n.store.DropOpen(r.SessionId); err != nil {
		n.log.Warn("open segment record not removed", "session", r.SessionIDHex(), "err", err)
	}
}

// CheckpointEvery is how often the open segment of every session is saved
// to the receipt store: a crash (SIGKILL, power loss) loses at most this
// much of each session; the rest is queued as receipts at the next start.
const CheckpointEvery = 5 * time.Second

// every runs f every d until ctx ends.
func every(ctx context.Context, d time.Duration, f func()) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		f()
	}
}

// checkpoint saves every session's open segment (run every
// CheckpointEvery).
func (n *Node) checkpoint() {
	epoch := n.epoch.Load()
	if epoch <= 0 {
		return
	}
	n.checkpointMu.Lock()
	defer n.checkpointMu.Unlock()
	n.mu.Lock()
	open := make([]format.UsageReceipt, 0, len(n.sessions))
	now := time.Now()
	for _, s := range n.sessions {
		open = append(open, s.meter.Peek(now, epoch))
	}
	n.mu.Unlock()
	if err := n.store.SaveOpen(open); err != nil {
		n.log.Warn("open segments not saved", "sessions", len(open), "err", err)
	}
}

// emit signs and queues a receipt (see prepare).
func (n *Node) emit(r format.UsageReceipt) {
	r, ok := n.prepare(r)
	if !ok {
		return
	}
	held, err := n.spool.Emit(r)
	switch {
	case held:
		count, _ := n.spool.Held()
		n.log.Error("receipt store refused a write: receipt held in memory until it accepts writes again (free disk space)",
			"session", r.SessionIDHex(), "held", count, "err", err)
	case err != nil:
		n.log.Error("receipt not queued", "session", r.SessionIDHex(), "err", err)
	}
}

// retryHeld writes the receipts the store refused earlier, if any (run
// every 2 s).
func (n *Node) retryHeld() {
	if h, _ := n.spool.Held(); h == 0 {
		return
	}
	if written, left, err := n.spool.Retry(); written > 0 || err == nil {
		n.log.Info("held receipts written", "written", written, "still_held", left, "err", err)
	}
}

// epochLoop follows the chain's "chroom" epoch and, when it changes,
// cuts a receipt for every ongoing session so no receipt spans epochs.
func (n *Node) epochLoop(ctx context.Context) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		if e, err := n.fetchEpoch(ctx, client); err == nil && e > 0 {
			if old := n.epoch.Swap(e); old != 0 && old != e {
				n.mu.Lock()
				open := make([]*session, 0, len(n.sessions))
				for _, s := range n.sessions {
					open = append(open, s)
				}
				n.mu.Unlock()
				for _, s := range open {
					n.cut(s, old)
				}
			}
		} else if err != nil {
			n.log.Debug("epoch not read", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (n *Node) fetchEpoch(ctx context.Context, c *http.Client) (int64, error) {
	if n.epochLen.Load() == 0 {
		n.fetchEpochLength(ctx, c)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		strings.TrimSuffix(n.cfg.Chain.RESTURL, "/")+"/cosmos/epochs/v1beta1/current_epoch?identifier=chroom", nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("current_epoch: HTTP %d", resp.StatusCode)
	}
	var body struct {
		CurrentEpoch json.Number `json:"current_epoch"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&body); err != nil {
		return 0, err
	}
	return body.CurrentEpoch.Int64()
}

// cpuPermille is the process's CPU use since the last call, in
// thousandths of all cores (Linux /proc; 0 elsewhere).
func cpuPermille() uint32 {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	cpuMu.Lock()
	defer cpuMu.Unlock()
	now := time.Now()
	ticks := ut + st
	var out uint32
	if !cpuLast.IsZero() {
		wall := now.Sub(cpuLast).Seconds() * 100 // USER_HZ = 100
		if wall > 0 {
			out = uint32(float64(ticks-cpuTicks) / wall / float64(numCPU()) * 1000)
		}
	}
	cpuLast, cpuTicks = now, ticks
	return out
}

var (
	cpuMu    sync.Mutex
	cpuLast  time.Time
	cpuTicks uint64
)

// fetchEpochLength reads the chroom epoch's duration from x/epochs.
func (n *Node) fetchEpochLength(ctx context.Context, c *http.Client) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(n.cfg.Chain.RESTURL, "/")+"/cosmos/epochs/v1beta1/epochs", nil)
	if err != nil {
		return
	}
	resp, err := c.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	var body struct {
		Epochs []struct {
			Identifier string `json:"identifier"`
			Duration   string `json:"duration"`
		} `json:"epochs"`
	}
	if json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&body) != nil {
		return
	}
	for _, e := range body.Epochs {
		if d, err := time.ParseDuration(e.Duration); e.Identifier == "chroom" && err == nil && d >= time.Second {
			n.epochLen.Store(int64(d / time.Second))
		}
	}
}

// queueSessionEvent stores a session event for the orchestrator that
// issued the session's grant (fsynced; the pusher delivers it, however
// long that orchestrator is away). Sessions without an issuer are not
// reported.
func (n *Node) queueSessionEvent(e sfu.SessionEvent) {
	if e.Issuer == "" {
		return
	}
	ev := &rpcpb.SessionEvent{Type: e.Type, Room: e.Room, Identity: e.Identity, GrantId: e.GrantID, UnixMs: e.At.UnixMilli(), Reason: e.Reason}
	if e.Track != nil {
		ev.TrackId, ev.TrackKind, ev.TrackSource = e.Track.ID, e.Track.Kind, string(e.Track.Source)
	}
	data, err := ev.Marshal()
	if err == nil {
		_, err = n.store.PutEvent(e.Issuer, data)
	}
	if err != nil {
		n.log.Warn("session event not queued", "type", e.Type, "room", e.Room, "identity", e.Identity, "err", err)
		return
	}
	if p := n.pusher.Load(); p != nil && e.Type == noderpc.SessionJoined {
		p.Wake() // a cascaded room is linked when the orchestrator hears of the join
	}
}

// peerLinker starts relay legs to ACTIVE media nodes only, at the
// signaling URL the registry gives for them: an orchestrator names the
// peer, never where this node dials.
type peerLinker struct {
	n *Node
	m *cascade.Manager
}

func (l *peerLinker) Link(room, peerID, signalURL, relayGrant string) (bool, error) {
	if peerID == l.n.key.ID {
		return false, fmt.Errorf("%w: a node does not link to itself", cascade.ErrBadPeer)
	}
	peer, ok := l.n.view.Node(peerID)
	if !ok || peer.Type != registryview.TypeMedia || peer.Status != registryview.StatusActive {
		return false, fmt.Errorf("%w: %s is not an ACTIVE media node in the registry", cascade.ErrBadPeer, peerID)
	}
	ws := noderpc.SignalURL(peer.Endpoints)
	if ws == "" {
		return false, fmt.Errorf("%w: media node %s registered no http(s) endpoint", cascade.ErrBadPeer, peerID)
	}
	if signalURL != "" && signalURL != ws {
		l.n.log.Warn("relay leg: the orchestrator's URL for the peer differs from the registry's; using the registry's", "peer", peerID, "given", signalURL, "registry", ws)
	}
	return l.m.Link(room, peerID, ws, relayGrant)
}

// mediaNodeKey returns the registered key of an ACTIVE media node (the
// nodes that may dial relay legs here).
func (n *Node) mediaNodeKey(id string) (ed25519.PublicKey, error) {
	peer, ok := n.view.Node(id)
	if !ok || peer.Type != registryview.TypeMedia || peer.Status != registryview.StatusActive {
		return nil, fmt.Errorf("%s is not an ACTIVE media node in the registry", id)
	}
	return peer.Pubkey, nil
}

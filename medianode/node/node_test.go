package node_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/medianode/config"
	"github.com/chroom/chroom/medianode/node"
	"github.com/chroom/chroom/medianode/signal"
	"github.com/chroom/chroom/noderpc"
	"github.com/chroom/chroom/noderpc/rpcpb"
)

const chainID = "chroom-test-1"

// orchestrator is a fake orchestrator: it serves Media Node RPC, checks
// the media node's signatures, and accepts receipts unless down.
type orchestrator struct {
	rpcpb.UnimplementedOrchestratorServer
	key      *format.NodeKey
	addr     string
	down     atomic.Bool
	mu       sync.Mutex
	receipts []*format.SignedReceipt
	events   []*rpcpb.SessionEvent
	loads    int
}

func (o *orchestrator) PushSessionEvents(_ context.Context, req *rpcpb.PushSessionEventsRequest) (*rpcpb.PushSessionEventsResponse, error) {
	if o.down.Load() {
		return nil, status.Error(codes.Unavailable, "down for the test")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	res := &rpcpb.PushSessionEventsResponse{}
	for _, e := range req.Events {
		o.events = append(o.events, e)
		res.Handled = append(res.Handled, e.QueueId)
	}
	return res, nil
}

// eventLog is "identity type[ track-kind]" per event, in arrival order.
func (o *orchestrator) eventLog() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]string, 0, len(o.events))
	for _, e := range o.events {
		s := e.Identity + " " + e.Type
		if e.TrackKind != "" {
			s += " " + e.TrackKind
		}
		out = append(out, s)
	}
	return out
}

func (o *orchestrator) PushLoadReport(context.Context, *rpcpb.SignedLoadReport) (*rpcpb.PushLoadReportResponse, error) {
	o.mu.Lock()
	o.loads++
	o.mu.Unlock()
	return &rpcpb.PushLoadReportResponse{}, nil
}

func (o *orchestrator) PushReceipts(_ context.Context, req *rpcpb.PushReceiptsRequest) (*rpcpb.PushReceiptsResponse, error) {
	if o.down.Load() {
		return nil, status.Error(codes.Unavailable, "down for the test")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	res := &rpcpb.PushReceiptsResponse{}
	for _, q := range req.Receipts {
		o.receipts = append(o.receipts, q.Receipt)
		res.Accepted = append(res.Accepted, q.QueueId)
	}
	return res, nil
}

func (o *orchestrator) got() []*format.SignedReceipt {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*format.SignedReceipt(nil), o.receipts...)
}

// chain is a fake chroomd REST gateway with the registry and the epoch.
type chain struct {
	srv   *httptest.Server
	mu    sync.Mutex
	nodes []map[string]any
}

func (c *chain) add(k *format.NodeKey, typ string, endpoints ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nodes = append(c.nodes, map[string]any{
		"id": k.ID, "node_type": typ, "operator": "chroom1xyz", "pubkey": base64.StdEncoding.EncodeToString(k.PublicKey),
		"moniker": "m", "endpoints": endpoints, "region": "DE", "capacity": map[string]any{"max_sessions": 100, "max_egress_kbps": "100000"},
		"status": "NODE_STATUS_ACTIVE",
	})
}

func newChain(t *testing.T) *chain {
	c := &chain{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/chroom/registry/v1/nodes"):
			c.mu.Lock()
			_ = json.NewEncoder(w).Encode(map[string]any{"nodes": c.nodes, "pagination": map[string]any{"next_key": nil}})
			c.mu.Unlock()
		case r.URL.Path == "/cosmos/epochs/v1beta1/current_epoch":
			_, _ = w.Write([]byte(`{"current_epoch":"3"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func freePort(t *testing.T) int {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// setup starts a fake chain and orchestrator and returns a config for a
// media node in home.
func setup(t *testing.T, home string) (*chain, *orchestrator, config.Config, *format.NodeKey) {
	ch := newChain(t)
	orch := &orchestrator{key: mustKey(t)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	orch.addr = ln.Addr().String()
	mediaKey := mustKey(t)
	srv := grpc.NewServer(noderpc.ServerCodec(), grpc.UnaryInterceptor(noderpc.VerifyCalls(func(id string) (ed25519.PublicKey, error) {
		if id == mediaKey.ID {
			return mediaKey.PublicKey, nil
		}
		return nil, fmt.Errorf("unknown node")
	}, chainID, nil)))
	rpcpb.RegisterOrchestratorServer(srv, orch)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	keyFile := filepath.Join(home, "node_key.json")
	if _, err := format.LoadNodeKey(keyFile); err != nil {
		require.NoError(t, mediaKey.Save(keyFile))
	} else {
		mediaKey, _ = format.LoadNodeKey(keyFile)
	}
	ch.add(orch.key, "NODE_TYPE_ORCHESTRATOR", "http://"+orch.addr+"/rpc")
	ch.add(mediaKey, "NODE_TYPE_MEDIA", "http://127.0.0.1:1")

	cfg := config.Default()
	cfg.Chain.ChainID = chainID
	cfg.Chain.RESTURL = ch.srv.URL
	cfg.Chain.RegistryRefresh = time.Second
	cfg.Node.KeyFile = keyFile
	cfg.HTTP.Listen, cfg.RPC.Listen, cfg.Metrics.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.WebRTC.BindIP, cfg.WebRTC.UDPPort, cfg.WebRTC.TCPPort, cfg.WebRTC.IncludeLoopback = "127.0.0.1", freePort(t), 0, true
	cfg.TURN.Enabled = false
	cfg.Outbound.AllowPrivateEndpoints = true // the test orchestrator is on loopback
	cfg.Receipts.Store = filepath.Join(home, "receipts.db")
	cfg.Receipts.PushInterval = 200 * time.Millisecond
	cfg.Receipts.LoadReportInterval = time.Second
	require.NoError(t, cfg.Validate())
	return ch, orch, cfg, mediaKey
}

func mustKey(t *testing.T) *format.NodeKey {
	k, err := format.GenerateNodeKey(nil)
	require.NoError(t, err)
	return k
}

// start runs a node until the returned stop is called.
func start(t *testing.T, cfg config.Config) (*node.Node, func()) {
	n, err := node.New(cfg, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = n.Run(ctx); close(done) }()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + n.HTTPAddr() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond, "the node becomes ready")
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return n, stop
}

func grantFor(t *testing.T, orch, media *format.NodeKey, identity string, role grant.Role) string {
	c := grant.Claims{ChainID: chainID, Type: grant.TypeJoin, Room: "room-1", Role: role, Permissions: grant.DefaultPermissions(role)}
	c.Subject, c.Audience = identity, []string{media.ID}
	c.ExpiresAt, c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour)), jwt.NewNumericDate(time.Now().Add(-time.Minute))
	tok, err := grant.Issue(orch, c)
	require.NoError(t, err)
	return tok
}

// TestGrantChainAndLifetime: the node verifies grants against its own
// chain ID and its grants.max_lifetime (DESIGN.md §1, §4).
func TestGrantChainAndLifetime(t *testing.T) {
	_, orch, cfg, media := setup(t, t.TempDir())
	cfg.Grants.MaxLifetime = 30 * time.Minute
	require.NoError(t, cfg.Validate())
	n, _ := start(t, cfg)
	issue := func(identity string, mutate func(*grant.Claims)) string {
		c := grant.Claims{ChainID: chainID, Type: grant.TypeJoin, Room: "room-1", Role: grant.RoleParticipant, Permissions: grant.DefaultPermissions(grant.RoleParticipant)}
		c.Subject, c.Audience = identity, []string{media.ID}
		c.NotBefore, c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-5*time.Second)), jwt.NewNumericDate(time.Now())
		c.ExpiresAt = jwt.NewNumericDate(c.IssuedAt.Add(10 * time.Minute))
		mutate(&c)
		tok, err := grant.Issue(orch.key, c)
		require.NoError(t, err)
		return tok
	}
	for _, tc := range []struct {
		name   string
		mutate func(*grant.Claims)
		errMsg string // empty: the grant connects
	}{
		{name: "within the maximum", mutate: func(*grant.Claims) {}},
		{name: "at the maximum", mutate: func(c *grant.Claims) { c.ExpiresAt = jwt.NewNumericDate(c.IssuedAt.Add(30 * time.Minute)) }},
		{name: "over the maximum", mutate: func(c *grant.Claims) { c.ExpiresAt = jwt.NewNumericDate(c.IssuedAt.Add(time.Hour)) },
			errMsg: "the grant lives 1h0m0s"},
		{name: "another chain", mutate: func(c *grant.Claims) { c.ChainID = "chroom-1" },
			errMsg: `grant is for another chain: chain_id is "chroom-1", this node serves "chroom-test-1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws, resp, err := websocket.DefaultDialer.Dial("ws://"+n.HTTPAddr()+"/rtc?access_token="+issue(strings.ReplaceAll(tc.name, " ", "-"), tc.mutate), nil)
			if tc.errMsg == "" {
				require.NoError(t, err)
				resp.Body.Close()
				ws.Close()
				return
			}
			require.Error(t, err)
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			body := make([]byte, 1024)
			k, _ := resp.Body.Read(body)
			require.Contains(t, string(body[:k]), tc.errMsg)
		})
	}
}

// call runs a publisher and a subscriber through the node for about a
// second, then both leave.
func call(t *testing.T, n *node.Node, orch, media *format.NodeKey) {
	callWith(t, n, orch, media, false)
}

// callWith is call; with relayOnly the peers may use only the node's TURN
// relay (ICETransportPolicy "relay"), with the credentials it handed out.
func callWith(t *testing.T, n *node.Node, orch, media *format.NodeKey, relayOnly bool) {
	type peer struct {
		ws *websocket.Conn
		pc *webrtc.PeerConnection
		mu sync.Mutex
	}
	var received atomic.Int64
	connect := func(identity string, role grant.Role) *peer {
		ws, resp, err := websocket.DefaultDialer.Dial("ws://"+n.HTTPAddr()+"/rtc?access_token="+grantFor(t, orch, media, identity, role), nil)
		require.NoError(t, err)
		resp.Body.Close()
		var joined signal.ServerMessage
		require.NoError(t, ws.ReadJSON(&joined))
		require.Equal(t, "joined", joined.Type)
		pcfg := webrtc.Configuration{}
		if relayOnly {
			require.NotEmpty(t, joined.ICEServers, "the node hands out TURN credentials")
			pcfg.ICEServers, pcfg.ICETransportPolicy = joined.ICEServers, webrtc.ICETransportPolicyRelay
		}
		pc, err := webrtc.NewPeerConnection(pcfg)
		require.NoError(t, err)
		p := &peer{ws: ws, pc: pc}
		send := func(m signal.ClientMessage) { p.mu.Lock(); _ = ws.WriteJSON(m); p.mu.Unlock() }
		pc.OnICECandidate(func(c *webrtc.ICECandidate) {
			if c != nil {
				ci := c.ToJSON()
				send(signal.ClientMessage{Type: "candidate", Candidate: &ci})
			}
		})
		pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
				received.Add(1)
			}
		})
		go func() {
			for {
				var m signal.ServerMessage
				if ws.ReadJSON(&m) != nil {
					return
				}
				switch m.Type {
				case "offer":
					_ = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP})
					a, _ := pc.CreateAnswer(nil)
					_ = pc.SetLocalDescription(a)
					send(signal.ClientMessage{Type: "answer", SDP: a.SDP})
				case "answer":
					_ = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP})
				case "candidate":
					_ = pc.AddICECandidate(*m.Candidate)
				}
			}
		}()
		return p
	}
	pub := connect("alice", grant.RoleHost)
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "alice")
	require.NoError(t, err)
	_, err = pub.pc.AddTrack(track)
	require.NoError(t, err)
	offer, _ := pub.pc.CreateOffer(nil)
	require.NoError(t, pub.pc.SetLocalDescription(offer))
	pub.mu.Lock()
	require.NoError(t, pub.ws.WriteJSON(signal.ClientMessage{Type: "offer", SDP: offer.SDP}))
	pub.mu.Unlock()
	sub := connect("bob", grant.RoleViewer)
	// Every client offers first (its data channel), and the node offers
	// the room's tracks after answering (medianode README, Negotiation).
	_, err = sub.pc.CreateDataChannel("chroom", nil)
	require.NoError(t, err)
	subOffer, _ := sub.pc.CreateOffer(nil)
	require.NoError(t, sub.pc.SetLocalDescription(subOffer))
	sub.mu.Lock()
	require.NoError(t, sub.ws.WriteJSON(signal.ClientMessage{Type: "offer", SDP: subOffer.SDP}))
	sub.mu.Unlock()
	// Time-bounded, not packet-bounded: on a loaded machine (CI runs every
	// package at once) the relay path can take several seconds to come up.
	deadline := time.Now().Add(30 * time.Second)
	for seq := uint16(1); received.Load() < 50; seq++ {
		require.True(t, time.Now().Before(deadline), "the subscriber receives the publisher's video within 30 s")
		_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000},
			Payload: []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}})
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(1100 * time.Millisecond) // receipts count whole seconds
	for _, p := range []*peer{pub, sub} {
		p.mu.Lock()
		_ = p.ws.WriteJSON(signal.ClientMessage{Type: "leave"})
		p.mu.Unlock()
		p.ws.Close()
		p.pc.Close()
	}
}

func TestCallIsReceiptedAndDelivered(t *testing.T) {
	home := t.TempDir()
	_, orch, cfg, media := setup(t, home)
	n, _ := start(t, cfg)
	call(t, n, orch.key, media)

	require.Eventually(t, func() bool { return len(orch.got()) == 2 }, 10*time.Second, 50*time.Millisecond,
		"both sessions' receipts reach the orchestrator")
	var in, out uint64
	for _, s := range orch.got() {
		require.True(t, s.VerifyMediaNodeSignature(media.PublicKey, chainID), "signed by the node for this chain")
		r := s.Receipt
		require.Equal(t, media.ID, r.MediaNodeId)
		require.Equal(t, orch.key.ID, r.OrchestratorId, "addressed to the grant's issuer")
		require.Equal(t, int64(3), r.Epoch)
		require.Equal(t, format.RoomHash("room-1"), r.RoomHash)
		require.GreaterOrEqual(t, r.DurationSeconds(), uint64(1))
		in += r.BytesIn
		out += r.BytesOut
	}
	require.Positive(t, in, "the publisher's receipt counts bytes in")
	require.Positive(t, out, "the subscriber's receipt counts bytes out")
	require.Eventually(t, func() bool { l, _ := n.Store().Len(); return l == 0 }, 5*time.Second, 50*time.Millisecond,
		"acknowledged receipts leave the queue")
	orch.mu.Lock()
	require.Positive(t, orch.loads, "load reports are pushed")
	orch.mu.Unlock()

	// The session events reach the grants' issuer, in order: both joined,
	// alice's camera published, and both left (alice's camera unpublished
	// before she left).
	require.Eventually(t, func() bool { return len(orch.eventLog()) >= 6 }, 10*time.Second, 50*time.Millisecond,
		"session events reach the orchestrator: %v", orch.eventLog())
	log := orch.eventLog()
	require.Contains(t, log, "bob joined")
	require.Contains(t, log, "bob left")
	require.Equal(t, []string{"alice joined", "alice track_published video", "alice track_unpublished video", "alice left"}, filter(log, "alice "))
	require.Eventually(t, func() bool { e, _ := n.Store().PendingEvents(0); return len(e) == 0 }, 5*time.Second, 50*time.Millisecond,
		"handled events leave the queue")
}

func filter(log []string, prefix string) []string {
	var out []string
	for _, l := range log {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func TestReceiptsSurviveRestartAndOutage(t *testing.T) {
	home := t.TempDir()
	ch, orch, cfg, media := setup(t, home)
	_ = ch
	orch.down.Store(true)
	n, stop := start(t, cfg)
	call(t, n, orch.key, media)
	require.Eventually(t, func() bool { l, _ := n.Store().Len(); return l == 2 }, 10*time.Second, 50*time.Millisecond,
		"receipts wait in the queue while the orchestrator is down")
	stop()

	n, _ = start(t, cfg) // same home: same key and receipt store
	l, err := n.Store().Len()
	require.NoError(t, err)
	require.Equal(t, 2, l, "a restart loses no receipt")
	events, err := n.Store().PendingEvents(0)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(events), 4, "nor a session event")
	orch.down.Store(false)
	require.Eventually(t, func() bool { return len(orch.eventLog()) == len(events) }, 10*time.Second, 50*time.Millisecond,
		"queued session events are delivered once the orchestrator is back")
	require.Eventually(t, func() bool { return len(orch.got()) == 2 }, 10*time.Second, 50*time.Millisecond,
		"queued receipts are delivered once the orchestrator is back")
	require.Eventually(t, func() bool { l, _ := n.Store().Len(); return l == 0 }, 5*time.Second, 50*time.Millisecond)
}

func TestAdminRPCNeedsARegisteredOrchestrator(t *testing.T) {
	_, orch, cfg, _ := setup(t, t.TempDir())
	n, _ := start(t, cfg)
	dial := func(k *format.NodeKey) rpcpb.MediaNodeClient {
		c, err := grpc.NewClient(n.RPCAddr(), grpc.WithTransportCredentials(insecureCreds()), noderpc.DialCodec(),
			grpc.WithUnaryInterceptor(noderpc.SignCalls(k, chainID)))
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return rpcpb.NewMediaNodeClient(c)
	}
	_, err := dial(orch.key).ListParticipants(context.Background(), &rpcpb.ListParticipantsRequest{Room: "room-1"})
	require.NoError(t, err, "the registered orchestrator may call")
	_, err = dial(mustKey(t)).ListParticipants(context.Background(), &rpcpb.ListParticipantsRequest{Room: "room-1"})
	require.Equal(t, codes.Unauthenticated, status.Code(err), "an unknown key may not: %v", err)
	_, err = dial(orch.key).RemoveParticipant(context.Background(), &rpcpb.RemoveParticipantRequest{Room: "nope", Identity: "x"})
	require.Equal(t, codes.NotFound, status.Code(err))
}

// TestRelayOnlyCall: peers that may use only TURN reach the SFU through
// the node's embedded relay, with the short-lived credentials from joined.
func TestRelayOnlyCall(t *testing.T) {
	_, orch, cfg, media := setup(t, t.TempDir())
	cfg.TURN.Enabled, cfg.TURN.UDPPort, cfg.TURN.TCPPort = true, freePort(t), 0
	cfg.TURN.PublicIP, cfg.TURN.Secret, cfg.TURN.AllowLoopbackPeers = "127.0.0.1", "a-devnet-turn-secret", true
	require.NoError(t, cfg.Validate())
	n, _ := start(t, cfg)
	callWith(t, n, orch.key, media, true)
	require.Eventually(t, func() bool { return len(orch.got()) == 2 }, 10*time.Second, 50*time.Millisecond,
		"the relayed call is receipted like any other")
}

// Package cascade is the pulling end of cascading (DESIGN.md §4): when a
// room's participants are on several media nodes, each node pulls the
// others' local tracks, data messages and room events over one relay leg
// per peer node, and shows the peer's participants to its own as proxies
// (sfu.AddRemote).
//
// A relay leg is an ordinary signaling v2 session on the serving node
// (medianode/signal, GET /rtc) authenticated by a relay grant (a join
// grant with role "relay", audience the serving node, subject
// "relay:<this node's ID>") that the room's orchestrator issues and hands
// over with Media Node RPC LinkRoom. The leg's WebSocket client here
// behaves like a subscribe-only web client: it offers once (a data
// channel), then only answers the serving node's offers, so there is no
// glare. The serving node meters the leg and emits its usage receipt like
// any session's; this end emits none (its participants' own sessions
// carry what they receive).
//
// A leg ends when the room ends on either node (no local participant
// left), when its connection fails, or on Close; its proxies leave the
// room then. The orchestrator links again at the next join that needs it.
package cascade

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/medianode/sfu"
	"github.com/chroom/chroom/medianode/signal"
)

// Manager keeps this node's relay legs, one per (room, peer node).
type Manager struct {
	sfu   *sfu.SFU
	log   *slog.Logger
	dial  *websocket.Dialer
	prove func(jti, serverNodeID string) (string, error)

	legs    prometheus.Gauge
	started prometheus.Counter

	mu     sync.Mutex
	links  map[linkKey]*link
	closed bool
}

type linkKey struct{ room, peer string }

// Options configure a Manager.
type Options struct {
	Logger *slog.Logger
	// Registry, if set, gets chroom_medianode_relay_legs (gauge) and
	// chroom_medianode_relay_legs_started_total.
	Registry prometheus.Registerer
	// HandshakeTimeout bounds the WebSocket dial (default 10 s).
	HandshakeTimeout time.Duration
	// Prove returns the signal.RelayProofHeader value proving this node
	// dials with the relay grant whose jti is given, to serverNodeID
	// (signal.RelayProof with this node's key). Required.
	Prove func(jti, serverNodeID string) (string, error)
}

// New returns a Manager pulling into s.
func New(s *sfu.SFU, o Options) (*Manager, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 10 * time.Second
	}
	if o.Prove == nil {
		return nil, errors.New("cascade: Options.Prove is required (relay legs are authenticated with the node's key)")
	}
	m := &Manager{sfu: s, log: o.Logger.With("component", "cascade"), links: map[linkKey]*link{}, prove: o.Prove,
		dial: &websocket.Dialer{HandshakeTimeout: o.HandshakeTimeout},
		legs: prometheus.NewGauge(prometheus.GaugeOpts{Name: "chroom_medianode_relay_legs",
			Help: "Relay legs this node pulls over (cascading): one per room and peer media node."}),
		started: prometheus.NewCounter(prometheus.CounterOpts{Name: "chroom_medianode_relay_legs_started_total",
			Help: "Relay legs this node started pulling over."}),
	}
	if o.Registry != nil {
		for _, c := range []prometheus.Collector{m.legs, m.started} {
			if err := o.Registry.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// Errors of Link.
var (
	// ErrRoomNotOpen: no participant of this node is in the room, so
	// there is nobody to pull for.
	ErrRoomNotOpen = errors.New("the room is not open on this node")
	// ErrBadPeer: the peer's ID or signaling URL is unusable.
	ErrBadPeer = errors.New("bad peer")
	// ErrClosed: the manager is shutting down.
	ErrClosed = errors.New("cascade: closed")
)

// Link starts pulling room from the media node peerID, whose signaling
// WebSocket is signalURL (ws:// or wss://, the node's /rtc), with
// relayGrant. already is true when a live leg existed (then nothing
// changes). The leg is dialled in the background: Link returns before it
// connects. Errors: ErrRoomNotOpen, ErrBadPeer, ErrClosed.
func (m *Manager) Link(room, peerID, signalURL, relayGrant string) (already bool, err error) {
	if peerID == "" || relayGrant == "" {
		return false, fmt.Errorf("%w: peer node ID and relay grant are required", ErrBadPeer)
	}
	u, err := url.Parse(signalURL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return false, fmt.Errorf("%w: signaling URL %q is not a ws:// or wss:// URL", ErrBadPeer, signalURL)
	}
	r, ok := m.sfu.Room(room)
	if !ok {
		return false, ErrRoomNotOpen
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, ErrClosed
	}
	k := linkKey{room, peerID}
	if _, ok := m.links[k]; ok {
		return true, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &link{m: m, key: k, url: u.String(), token: relayGrant, room: r, cancel: cancel, done: make(chan struct{}),
		proxies: map[string]*sfu.Participant{}, tracks: map[string]sfu.TrackInfo{},
		log: m.log.With("room", room, "peer", peerID)}
	m.links[k] = l
	m.legs.Inc()
	m.started.Inc()
	go l.run(ctx)
	return false, nil
}

// Legs returns the live legs as room → peer node IDs.
func (m *Manager) Legs() map[string][]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string][]string{}
	for k := range m.links {
		out[k.room] = append(out[k.room], k.peer)
	}
	return out
}

// Close ends every leg and waits for them.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	ls := make([]*link, 0, len(m.links))
	for _, l := range m.links {
		ls = append(ls, l)
	}
	m.mu.Unlock()
	for _, l := range ls {
		l.cancel()
		<-l.done
	}
}

func (m *Manager) remove(l *link) {
	m.mu.Lock()
	if m.links[l.key] == l {
		delete(m.links, l.key)
		m.legs.Dec()
	}
	m.mu.Unlock()
}

// link is one relay leg's pulling end.
type link struct {
	m      *Manager
	key    linkKey
	url    string
	token  string
	room   *sfu.Room
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}

	wmu sync.Mutex
	ws  *websocket.Conn

	mu      sync.Mutex
	pc      *webrtc.PeerConnection
	proxies map[string]*sfu.Participant // by identity
	tracks  map[string]sfu.TrackInfo    // announced by the serving node, by track ID
}

// proxyWait bounds how long a track that arrived before its publisher's
// participant_joined waits for it.
const proxyWait = 3 * time.Second

func (l *link) run(ctx context.Context) {
	defer close(l.done)
	defer l.m.remove(l)
	reason := l.serve(ctx)
	l.log.Info("relay leg ended", "reason", reason)
	l.mu.Lock()
	ps := make([]*sfu.Participant, 0, len(l.proxies))
	for _, p := range l.proxies {
		ps = append(ps, p)
	}
	l.proxies = map[string]*sfu.Participant{}
	pc := l.pc
	l.mu.Unlock()
	if pc != nil {
		_ = pc.Close() // ends the proxies' track readers
	}
	for _, p := range ps {
		p.Close("its media node's relay leg ended: " + reason)
	}
}

// serve runs the leg until it ends and says why.
func (l *link) serve(ctx context.Context) string {
	pc, err := l.m.sfu.NewLinkPeerConnection()
	if err != nil {
		return "create peer connection: " + err.Error()
	}
	l.mu.Lock()
	l.pc = pc
	l.mu.Unlock()
	failed := make(chan string, 1)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		l.log.Debug("relay leg connection state", "state", st.String())
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			select {
			case failed <- "connection " + st.String():
			default:
			}
		}
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			ci := c.ToJSON()
			l.write(signal.ClientMessage{Type: "candidate", Candidate: &ci})
		}
	})
	pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { go l.onTrack(ctx, remote) })
	dc, err := pc.CreateDataChannel("chroom", nil)
	if err != nil {
		return "create data channel: " + err.Error()
	}
	dc.OnMessage(func(msg webrtc.DataChannelMessage) { l.onData(msg.Data) })

	claims, err := grant.PeekClaims(l.token)
	if err != nil {
		return "relay grant: " + err.Error()
	}
	proof, err := l.m.prove(claims.ID, l.key.peer)
	if err != nil {
		return "relay proof: " + err.Error()
	}
	h := http.Header{"Authorization": []string{"Bearer " + l.token}, signal.RelayProofHeader: []string{proof}}
	dctx, cancelDial := context.WithTimeout(ctx, l.m.dial.HandshakeTimeout)
	ws, resp, err := l.m.dial.DialContext(dctx, l.url, h)
	cancelDial()
	if err != nil {
		if resp != nil {
			return fmt.Sprintf("dial %s: %v (HTTP %d)", l.url, err, resp.StatusCode)
		}
		return fmt.Sprintf("dial %s: %v", l.url, err)
	}
	ws.SetReadLimit(signal.MaxMessageBytes)
	l.wmu.Lock()
	l.ws = ws
	l.wmu.Unlock()
	defer ws.Close()

	offer, err := pc.CreateOffer(nil)
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	if err != nil {
		return "first offer: " + err.Error()
	}
	l.write(signal.ClientMessage{Type: "offer", SDP: pc.LocalDescription().SDP})

	msgs := make(chan signal.ServerMessage, 64)
	readErr := make(chan error, 1)
	go func() {
		for {
			var m signal.ServerMessage
			if err := ws.ReadJSON(&m); err != nil {
				readErr <- err
				return
			}
			msgs <- m
		}
	}()
	ping := time.NewTicker(10 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			l.write(signal.ClientMessage{Type: "leave"})
			return "closed"
		case <-l.room.Done():
			l.write(signal.ClientMessage{Type: "leave"})
			return "the room ended on this node"
		case why := <-failed:
			return why
		case err := <-readErr:
			return "signaling: " + err.Error()
		case <-ping.C:
			l.wmu.Lock()
			err := ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second))
			l.wmu.Unlock()
			if err != nil {
				return "signaling ping: " + err.Error()
			}
		case m := <-msgs:
			if end := l.handle(pc, m); end != "" {
				return end
			}
		}
	}
}

func (l *link) write(m signal.ClientMessage) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.ws == nil {
		return
	}
	_ = l.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := l.ws.WriteJSON(m); err != nil {
		l.log.Debug("relay leg write failed", "type", m.Type, "err", err)
	}
}

// handle applies one message of the serving node; it returns a reason
// when the leg must end.
func (l *link) handle(pc *webrtc.PeerConnection, m signal.ServerMessage) string {
	l.log.Debug("relay leg message", "type", m.Type)
	switch m.Type {
	case "joined":
		for _, t := range m.Tracks {
			l.setTrack(t)
		}
		for _, p := range m.Participants {
			l.addProxy(pc, p)
		}
	case "answer":
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
			return "apply answer: " + err.Error()
		}
	case "offer":
		err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP})
		var answer webrtc.SessionDescription
		if err == nil {
			answer, err = pc.CreateAnswer(nil)
		}
		if err == nil {
			err = pc.SetLocalDescription(answer)
		}
		if err != nil {
			return "answer the serving node's offer: " + err.Error()
		}
		l.write(signal.ClientMessage{Type: "answer", SDP: answer.SDP})
	case "candidate":
		if m.Candidate != nil {
			if err := pc.AddICECandidate(*m.Candidate); err != nil {
				l.log.Debug("relay leg candidate refused", "err", err)
			}
		}
	case sfu.EventParticipantJoined:
		if m.Participant != nil {
			for _, t := range m.Participant.Tracks {
				l.setTrack(t)
			}
			l.addProxy(pc, *m.Participant)
		}
	case sfu.EventParticipantLeft:
		if m.Participant != nil {
			l.mu.Lock()
			p := l.proxies[m.Participant.Identity]
			delete(l.proxies, m.Participant.Identity)
			l.mu.Unlock()
			if p != nil {
				go p.Close("left on its media node")
			}
		}
	case sfu.EventParticipantUpdated:
		if p := l.proxyOf(m.Participant); p != nil {
			p.UpdateRemote(*m.Participant)
		}
	case sfu.EventTrackPublished:
		if m.Track != nil {
			l.setTrack(*m.Track)
		}
	case sfu.EventTrackUnpublished:
		if m.Track != nil {
			l.mu.Lock()
			delete(l.tracks, m.Track.ID)
			p := l.proxies[m.Track.Publisher]
			l.mu.Unlock()
			if p != nil {
				p.UnpublishRemote(m.Track.ID)
			}
		}
	case sfu.EventTrackMuted:
		if m.Track != nil {
			l.setTrack(*m.Track)
			l.mu.Lock()
			p := l.proxies[m.Track.Publisher]
			l.mu.Unlock()
			if p != nil {
				p.SetRemoteTrackMuted(m.Track.ID, m.Track.Muted)
			}
		}
	case sfu.EventRoomEnded, sfu.EventRemoved:
		return "the serving node ended the leg: " + m.Type + " " + m.Reason
	case sfu.EventError:
		l.log.Warn("serving node refused a relay leg request", "code", m.Code, "message", m.Message)
	}
	return ""
}

func (l *link) setTrack(t sfu.TrackInfo) {
	l.mu.Lock()
	l.tracks[t.ID] = t
	l.mu.Unlock()
}

func (l *link) proxyOf(info *sfu.ParticipantInfo) *sfu.Participant {
	if info == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.proxies[info.Identity]
}

func (l *link) addProxy(pc *webrtc.PeerConnection, info sfu.ParticipantInfo) {
	l.mu.Lock()
	_, ok := l.proxies[info.Identity]
	l.mu.Unlock()
	if ok {
		return
	}
	p, err := l.m.sfu.AddRemote(l.key.room, info, pc)
	if err != nil {
		l.log.Warn("remote participant not shown", "identity", info.Identity, "err", err)
		return
	}
	// Layers of its tracks nobody here needs stop crossing the leg.
	p.OnPublisherLayers(func(trackID string, layers []bool) {
		l.write(signal.ClientMessage{Type: "relay_layers", TrackID: trackID, Layers: layers})
	})
	l.mu.Lock()
	l.proxies[info.Identity] = p
	l.mu.Unlock()
}

// onTrack publishes a track of the serving node's participant (the
// downTrack's stream ID is its publisher) on the participant's proxy.
func (l *link) onTrack(ctx context.Context, remote *webrtc.TrackRemote) {
	publisher := remote.StreamID()
	trackID, layer, layered := sfu.ParseRelayLayerTrackID(remote.ID())
	deadline := time.Now().Add(proxyWait)
	for {
		l.mu.Lock()
		p := l.proxies[publisher]
		info, known := l.tracks[trackID]
		l.mu.Unlock()
		if p != nil {
			if !known {
				info = sfu.TrackInfo{ID: trackID}
			}
			var err error
			if layered {
				err = p.PublishRemoteLayer(remote, trackID, layer, info)
			} else {
				err = p.PublishRemote(remote, info)
			}
			if err != nil {
				l.log.Warn("relayed track not published", "track", remote.ID(), "err", err)
				break
			}
			l.log.Debug("relayed track published", "track", remote.ID(), "publisher", publisher, "kind", remote.Kind().String())
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			l.log.Warn("relayed track of an unknown participant dropped", "track", remote.ID(), "publisher", publisher)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for { // drain, so the receiver does not block
		if _, _, err := remote.ReadRTP(); err != nil {
			return
		}
	}
}

// onData relays a data message of the serving node's participant (the
// SFU's envelope: its identity and its message) to this node's.
func (l *link) onData(raw []byte) {
	var env struct {
		From    string          `json:"from"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.From == "" {
		l.log.Debug("relayed data message dropped: not an envelope", "err", err)
		return
	}
	l.mu.Lock()
	p := l.proxies[env.From]
	l.mu.Unlock()
	if p == nil {
		l.log.Debug("relayed data message of an unknown participant dropped", "from", env.From)
		return
	}
	p.SendRemoteData(env.Payload)
}

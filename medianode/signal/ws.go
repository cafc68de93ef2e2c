package signal

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/medianode/sfu"
)

// ClientMessage is what a WebSocket client sends. Type selects the fields
// that apply: offer/answer (SDP), candidate, announce_track (TrackID,
// Source), mute (TrackID, Muted), layer (TrackID, Layer -1–2),
// client_stats (BytesReceived, FramesDecoded), leave.
type ClientMessage struct {
	Type          string                   `json:"type"`
	SDP           string                   `json:"sdp,omitempty"`
	Candidate     *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	TrackID       string                   `json:"track_id,omitempty"`
	Source        sfu.TrackSource          `json:"source,omitempty"`
	Muted         bool                     `json:"muted,omitempty"`
	Layer         *int                     `json:"layer,omitempty"`
	BytesReceived uint64                   `json:"bytes_received,omitempty"`
	FramesDecoded uint64                   `json:"frames_decoded,omitempty"`
	// Video is the "subscription" message's switch: false stops receiving
	// video (audio-only), true receives it again.
	Video *bool `json:"video,omitempty"`
	// Layers, in "relay_layers" (relay legs only), says which simulcast
	// layers of TrackID the pulling node needs: [q, h, f].
	Layers []bool `json:"layers,omitempty"`
}

// ServerMessage is what the node sends: joined (Participant, Participants,
// Tracks, ICEServers), offer, answer, candidate, and the sfu.Event types.
type ServerMessage struct {
	Type         string                   `json:"type"`
	SDP          string                   `json:"sdp,omitempty"`
	Candidate    *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	Participant  *sfu.ParticipantInfo     `json:"participant,omitempty"`
	Participants []sfu.ParticipantInfo    `json:"participants,omitempty"`
	Tracks       []sfu.TrackInfo          `json:"tracks,omitempty"`
	ICEServers   []webrtc.ICEServer       `json:"ice_servers,omitempty"`
	Track        *sfu.TrackInfo           `json:"track,omitempty"`
	Speakers     []string                 `json:"speakers,omitempty"`
	Reason       string                   `json:"reason,omitempty"`
	Message      string                   `json:"message,omitempty"`
	Room         string                   `json:"room,omitempty"`
	// Resumed, in "joined", says the connection was attached to the
	// grant's live session (?resume=1): keep the PeerConnection and
	// restart ICE. False after a resume request: the session was gone and
	// this is a fresh join.
	Resumed bool `json:"resumed,omitempty"`
	// Code, in "error", is a stable error code (codes.go); Request is the
	// type of the client message that was refused, if one was; TrackID
	// names the refused track (track_refused).
	Code    string `json:"code,omitempty"`
	Request string `json:"request,omitempty"`
	TrackID string `json:"track_id,omitempty"`
	// Layers, in "publisher_layers", says which simulcast layers of the
	// track TrackID to send: [rid q, rid h, rid f].
	Layers []bool `json:"layers,omitempty"`
}

// wsConn is the sfu.Signal of one WebSocket: a bounded send queue drained
// by one writer goroutine; a client too slow to keep up is disconnected.
type wsConn struct {
	ws     *websocket.Conn
	out    chan ServerMessage
	once   sync.Once
	closed chan struct{}

	// Until "joined" is sent, SFU messages wait in held so the client
	// always sees joined first.
	holdMu sync.Mutex
	held   []ServerMessage
	open   bool
}

// release sends joined, then everything held back, and stops holding.
func (c *wsConn) release(joined ServerMessage) {
	c.holdMu.Lock()
	held := c.held
	c.held, c.open = nil, true
	c.holdMu.Unlock()
	_ = c.enqueue(joined)
	for _, m := range held {
		_ = c.enqueue(m)
	}
}

const (
	sendQueue    = 256
	writeTimeout = 10 * time.Second
	pongTimeout  = 30 * time.Second
)

func (c *wsConn) send(m ServerMessage) error {
	c.holdMu.Lock()
	if !c.open {
		c.held = append(c.held, m)
		c.holdMu.Unlock()
		return nil
	}
	c.holdMu.Unlock()
	return c.enqueue(m)
}

func (c *wsConn) enqueue(m ServerMessage) error {
	select {
	case <-c.closed:
		return websocket.ErrCloseSent
	default:
	}
	select {
	case c.out <- m:
		return nil
	default:
		c.Close("client too slow")
		return fmt.Errorf("send queue full")
	}
}

func (c *wsConn) SendOffer(d webrtc.SessionDescription) error {
	return c.send(ServerMessage{Type: "offer", SDP: d.SDP})
}

func (c *wsConn) SendAnswer(d webrtc.SessionDescription) error {
	return c.send(ServerMessage{Type: "answer", SDP: d.SDP})
}

func (c *wsConn) SendCandidate(ci webrtc.ICECandidateInit) error {
	return c.send(ServerMessage{Type: "candidate", Candidate: &ci})
}

func (c *wsConn) SendEvent(ev sfu.Event) error {
	return c.send(ServerMessage{Type: ev.Type, Participant: ev.Participant, Track: ev.Track, Speakers: ev.Speakers, Reason: ev.Reason, Message: ev.Message,
		Code: ev.Code, TrackID: ev.TrackID, Layers: ev.Layers})
}

func (c *wsConn) Close(reason string) {
	c.once.Do(func() {
		close(c.closed)
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, truncate(reason, 120)),
			time.Now().Add(time.Second))
		_ = c.ws.Close()
	})
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// writeLoop owns all writes to the socket.
func (c *wsConn) writeLoop() {
	ping := time.NewTicker(pongTimeout / 2)
	defer ping.Stop()
	for {
		select {
		case <-c.closed:
			return
		case m := <-c.out:
			_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := c.ws.WriteJSON(m); err != nil {
				c.Close("write failed")
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
				c.Close("ping failed")
				return
			}
		}
	}
}

// serveWS upgrades GET /rtc?access_token=<grant> and runs the session.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	claims, status, err := s.authenticate(r, grant.ActionSubscribe)
	if err != nil && status == http.StatusForbidden {
		// A publish-only grant may still join; only an invalid grant fails.
		claims, status, err = s.authenticate(r, grant.ActionPublish)
	}
	if err != nil {
		httpError(w, status, err.Error())
		return
	}
	if claims.Role == grant.RoleRelay {
		if err := s.Relay.check(r, claims.Subject, claims.ID); err != nil {
			httpError(w, http.StatusForbidden, "relay leg refused: "+err.Error())
			return
		}
	}
	if err := s.SFU.CheckJoin(claims.ID, claims.Room, claims.Subject, sfu.KindFull); err != nil {
		httpError(w, joinErrorStatus(err), err.Error())
		return
	}
	up := websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096, CheckOrigin: s.checkOrigin}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade already answered
	}
	ws.SetReadLimit(MaxMessageBytes)
	c := &wsConn{ws: ws, out: make(chan ServerMessage, sendQueue), closed: make(chan struct{})}
	go c.writeLoop()

	jp := sfu.JoinParams{
		Room: claims.Room, Identity: claims.Subject, Name: claims.Name, Role: string(claims.Role),
		Permissions: permissionsOf(claims), Kind: sfu.KindFull, Signal: c,
		GrantID: claims.ID, GrantExpiry: grantExpiry(claims), Issuer: claims.Issuer,
		// ?audio_only=1: join as an audio-only listener (no video sent to it).
		AudioOnly: r.URL.Query().Get("audio_only") == "1",
		// An audio space's grant: audio in and out only.
		AudioSpace: claims.AudioOnly,
		// A relay grant: another media node pulls this room's local
		// tracks for its own participants (cascading, medianode/cascade).
		Relay: claims.Role == grant.RoleRelay,
	}
	if s.Hooks != nil {
		jp.Data = s.Hooks.SessionData(claims, sfu.KindFull)
	}
	// ?resume=1: attach to this grant's live session (its signaling
	// connection dropped); if there is none, join afresh and say so.
	var p *sfu.Participant
	resumed := false
	if r.URL.Query().Get("resume") == "1" {
		if rp, err := s.SFU.Resume(claims.Room, claims.Subject, claims.ID, c); err == nil {
			p, resumed = rp, true
		}
	}
	if p == nil {
		p, err = s.SFU.Join(jp)
		if err != nil {
			c.release(ServerMessage{Type: sfu.EventError, Message: err.Error(), Code: joinCode(err)})
			time.Sleep(50 * time.Millisecond)
			c.Close(err.Error())
			return
		}
	}
	joined := ServerMessage{Type: "joined", Room: claims.Room, Participant: ptr(p.Info()), Resumed: resumed}
	joined.Participants, joined.Tracks = p.Room().Roster(p)
	if s.ICE != nil {
		joined.ICEServers = s.ICE.ICEServers(claims.Subject)
	}
	c.release(joined)
	if resumed {
		p.ResendOffer()
	}
	if left := s.readLoop(c, p); left {
		p.Close("left")
		return
	}
	// The socket dropped without a leave: keep the session for a resume.
	p.Detach(c, "signaling connection lost")
}

func ptr[T any](v T) *T { return &v }

func (s *Server) checkOrigin(r *http.Request) bool {
	if len(s.AllowedOrigins) == 0 {
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser (another media node's relay leg, an SDK): no page to protect
	}
	for _, o := range s.AllowedOrigins {
		if o == origin {
			return true
		}
	}
	return false
}

// readLoop handles client messages until the socket closes or the
// participant leaves, and reports whether the session should end (a
// leave, a clean close, a protocol violation) rather than wait for a
// resume. Malformed messages get an error reply; they never end the
// session.
func (s *Server) readLoop(c *wsConn, p *sfu.Participant) bool {
	_ = c.ws.SetReadDeadline(time.Now().Add(pongTimeout))
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(time.Now().Add(pongTimeout)) })
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			// A clean close (the tab closed: 1000, 1001) or an oversized
			// frame ends the session; anything else (no close frame, a
			// reset, a read timeout) is a lost connection, kept for a
			// resume.
			return errors.Is(err, websocket.ErrReadLimit) ||
				websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway)
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(pongTimeout))
		m, err := DecodeClientMessage(data)
		if err != nil {
			_ = c.send(ServerMessage{Type: sfu.EventError, Message: err.Error(), Code: CodeInvalidMessage})
			continue
		}
		if m.Type == "leave" {
			return true
		}
		if err := s.handle(c, p, m); err != nil {
			_ = c.send(ServerMessage{Type: sfu.EventError, Message: m.Type + ": " + err.Error(), Code: requestCode(m.Type, err), Request: m.Type})
		}
	}
}

func (s *Server) handle(c *wsConn, p *sfu.Participant, m ClientMessage) error {
	switch m.Type {
	case "offer":
		if m.SDP == "" {
			return fmt.Errorf("sdp is empty")
		}
		if err := checkSDP(m.SDP); err != nil {
			return fmt.Errorf("malformed SDP: %w", err)
		}
		// The participant sends the answer itself (Signal.SendAnswer),
		// ahead of any offer of its own that follows.
		_, err := p.HandleOffer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP})
		return err
	case "answer":
		if m.SDP == "" {
			return fmt.Errorf("sdp is empty")
		}
		return p.HandleAnswer(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP})
	case "candidate":
		if m.Candidate == nil {
			return fmt.Errorf("candidate is missing")
		}
		return p.AddCandidate(*m.Candidate)
	case "announce_track":
		switch m.Source {
		case sfu.SourceCamera, sfu.SourceMicrophone, sfu.SourceScreen, sfu.SourceScreenAudio:
		default:
			return fmt.Errorf("source must be camera, microphone, screen or screen_audio")
		}
		if m.TrackID == "" || len(m.TrackID) > 128 {
			return fmt.Errorf("track_id must be 1 to 128 bytes")
		}
		p.AnnounceTrack(m.TrackID, m.Source)
		return nil
	case "mute":
		return p.SetTrackMuted(m.TrackID, m.Muted)
	case "subscription":
		p.SetVideoReceive(*m.Video)
		return nil
	case "layer":
		if m.Layer == nil {
			return fmt.Errorf("layer is missing")
		}
		return p.SetLayer(m.TrackID, *m.Layer)
	case "relay_layers":
		return p.SetRelayLayers(m.TrackID, m.Layers)
	case "client_stats":
		if s.Hooks != nil {
			s.Hooks.ClientReport(p, m.BytesReceived, m.FramesDecoded)
		}
		return nil
	default:
		return fmt.Errorf("unknown message type %q", m.Type)
	}
}

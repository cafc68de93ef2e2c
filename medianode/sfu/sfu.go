package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// Limits bound what one node accepts; zero means the default.
type Limits struct {
	// MaxRooms is the most rooms open at once (default 1000).
	MaxRooms int
	// MaxParticipantsPerRoom (default 100).
	MaxParticipantsPerRoom int
	// MaxTracksPerParticipant counts published tracks (default 8).
	MaxTracksPerParticipant int
	// MaxDataMessageBytes bounds one data-channel message (default 64 KiB).
	MaxDataMessageBytes int
	// ResumeGrace is how long a full session whose signaling connection
	// dropped is kept for the client to resume it (default 20 s).
	ResumeGrace time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxRooms <= 0 {
		l.MaxRooms = 1000
	}
	if l.MaxParticipantsPerRoom <= 0 {
		l.MaxParticipantsPerRoom = 100
	}
	if l.MaxTracksPerParticipant <= 0 {
		l.MaxTracksPerParticipant = 8
	}
	if l.MaxDataMessageBytes <= 0 {
		l.MaxDataMessageBytes = 64 << 10
	}
	if l.ResumeGrace <= 0 {
		l.ResumeGrace = 20 * time.Second
	}
	return l
}

// Errors returned by Join and the admin calls.
var (
	ErrTooManyRooms        = errors.New("this node has reached its room limit")
	ErrRoomFull            = errors.New("the room has reached its participant limit")
	ErrParticipantNotFound = errors.New("no such participant in the room")
	ErrRoomNotFound        = errors.New("no such room on this node")
	ErrTrackNotFound       = errors.New("no such track in the room")
	ErrClosed              = errors.New("the SFU is shutting down")
	// ErrGrantInUse refuses a second live session with one join grant
	// (its jti): a grant admits one connection, which a reconnect of the
	// same identity in the same room replaces.
	ErrGrantInUse = errors.New("this join grant is already in use by a live session; ask the orchestrator for another")
	// ErrIdentityInUse refuses a session whose identity is connected in
	// the room with another grant: it never replaces someone else.
	ErrIdentityInUse = errors.New("this identity is already connected in the room with another grant")
	// ErrGrantRevoked refuses a grant revoked by a removal.
	ErrGrantRevoked = errors.New("this join grant was revoked: the participant was removed from the room")
)

// SessionEnd tells the node layer that a participant session ended, with
// its figures, so it can emit a usage receipt.
type SessionEnd func(p *Participant)

// Config configures an SFU.
type Config struct {
	// API makes the PeerConnections of WebSocket participants; ViewerAPI,
	// if set, those of WHIP and WHEP sessions (NewAPIs).
	API       *webrtc.API
	ViewerAPI *webrtc.API
	// LinkAPI, if set, makes the pulling ends of cascade relay legs
	// (APIs.Link; default ViewerAPI, which is right only for a node that
	// never serves a leg to the node it pulls from).
	LinkAPI *webrtc.API
	Limits  Limits
	// OnSessionEnd is called once per participant after it left.
	OnSessionEnd SessionEnd
	// NewMeter returns the measurements sink of a new session (optional).
	NewMeter func(p *Participant) Measurements
	// OnSessionEvent, if set, is called (synchronously, in order per
	// session) with each join, leave, lost connection and track
	// published or unpublished.
	OnSessionEvent func(SessionEvent)
	Logger         *slog.Logger
	Registry       prometheus.Registerer
	// Batcher, if set, brackets each packet's fan-out (Hold before the
	// first subscriber's write, Release after the last) so the media
	// socket sends it with one system call (udpbatch.Conn).
	Batcher Batcher
}

// Batcher defers a socket's sends between Hold and the matching Release
// (udpbatch.Conn implements it).
type Batcher interface {
	Hold()
	Release()
}

type noBatcher struct{}

func (noBatcher) Hold()    {}
func (noBatcher) Release() {}

// SFU is a set of rooms on one media node.
type SFU struct {
	api     *webrtc.API
	viewer  *webrtc.API // WHIP and WHEP sessions
	link    *webrtc.API // pulling ends of relay legs
	limits  Limits
	onEnd   SessionEnd
	newMtr  func(p *Participant) Measurements
	onEvent func(SessionEvent)
	log     *slog.Logger
	metrics *metrics
	batch   Batcher

	mu     sync.Mutex
	rooms  map[string]*Room
	closed bool

	grantMu sync.Mutex
	live    map[string]*Participant // by grant ID (jti)
	revoked map[string]time.Time    // grant ID → when the grant expires
}

// checkGrant tells whether a session with grantID may start for identity
// in room (see ErrGrantInUse and ErrGrantRevoked). An empty grantID (a
// grant without jti) is never tracked.
func (s *SFU) checkGrant(grantID, room, identity string, kind Kind) error {
	if grantID == "" {
		return nil
	}
	s.grantMu.Lock()
	defer s.grantMu.Unlock()
	now := time.Now()
	for id, until := range s.revoked {
		if now.After(until) {
			delete(s.revoked, id) // expired grants are refused by the verifier anyway
		}
	}
	if _, ok := s.revoked[grantID]; ok {
		return ErrGrantRevoked
	}
	if old, ok := s.live[grantID]; ok {
		if kind == KindFull && old.kind == KindFull && old.room.name == room && old.identity == identity {
			return nil // a reconnect: the room replaces the old session
		}
		return ErrGrantInUse
	}
	return nil
}

// CheckJoin reports the error Join would return for the grant and
// identity now (ErrGrantRevoked, ErrGrantInUse, ErrIdentityInUse), so a
// signaling layer can refuse before upgrading a connection. Join checks
// again.
func (s *SFU) CheckJoin(grantID, room, identity string, kind Kind) error {
	if err := s.checkGrant(grantID, room, identity, kind); err != nil {
		return err
	}
	if r, ok := s.Room(room); ok {
		if old, ok := r.Participant(identity); ok && old.grantID != grantID {
			return ErrIdentityInUse
		}
	}
	return nil
}

// trackGrant records p as its grant's live session.
func (s *SFU) trackGrant(p *Participant) {
	if p.grantID == "" {
		return
	}
	s.grantMu.Lock()
	s.live[p.grantID] = p
	s.grantMu.Unlock()
}

// untrackGrant forgets p as its grant's live session.
func (s *SFU) untrackGrant(p *Participant) {
	s.grantMu.Lock()
	if s.live[p.grantID] == p {
		delete(s.live, p.grantID)
	}
	s.grantMu.Unlock()
}

// Revoke ends p's session and refuses its grant until the grant expires
// (a removal, as opposed to a leave).
func (p *Participant) Revoke(reason string) {
	s := p.room.sfu
	if p.grantID != "" {
		until := p.grantExpiry
		if until.IsZero() {
			until = time.Now().Add(24 * time.Hour)
		}
		s.grantMu.Lock()
		s.revoked[p.grantID] = until
		s.grantMu.Unlock()
	}
	p.log.Info("grant revoked", "reason", reason)
	p.Close(reason)
}

// New returns an SFU. Its metrics are registered on cfg.Registry when set.
func New(cfg Config) (*SFU, error) {
	if cfg.API == nil {
		return nil, fmt.Errorf("sfu: a webrtc API is required (NewAPI)")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	if cfg.ViewerAPI == nil {
		cfg.ViewerAPI = cfg.API
	}
	if cfg.LinkAPI == nil {
		cfg.LinkAPI = cfg.ViewerAPI
	}
	if cfg.Batcher == nil {
		cfg.Batcher = noBatcher{}
	}
	s := &SFU{batch: cfg.Batcher, api: cfg.API, viewer: cfg.ViewerAPI, link: cfg.LinkAPI, limits: cfg.Limits.withDefaults(), onEnd: cfg.OnSessionEnd, newMtr: cfg.NewMeter, onEvent: cfg.OnSessionEvent,
		log: cfg.Logger.With("component", "sfu"), metrics: m, rooms: map[string]*Room{},
		live: map[string]*Participant{}, revoked: map[string]time.Time{}}
	return s, nil
}

// Limits returns the effective limits.
func (s *SFU) Limits() Limits { return s.limits }

// room returns the named room, creating it if create is set.
func (s *SFU) room(name string, create bool) (*Room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if r, ok := s.rooms[name]; ok {
		return r, nil
	}
	if !create {
		return nil, ErrRoomNotFound
	}
	if len(s.rooms) >= s.limits.MaxRooms {
		return nil, ErrTooManyRooms
	}
	r := newRoom(s, name)
	s.rooms[name] = r
	s.metrics.rooms.Set(float64(len(s.rooms)))
	return r, nil
}

// Room returns a room by name.
func (s *SFU) Room(name string) (*Room, bool) {
	r, err := s.room(name, false)
	return r, err == nil
}

// removeRoom drops an empty room.
func (s *SFU) removeRoom(r *Room) {
	s.mu.Lock()
	if s.rooms[r.name] == r {
		delete(s.rooms, r.name)
	}
	s.metrics.rooms.Set(float64(len(s.rooms)))
	s.mu.Unlock()
}

// Rooms returns the open rooms' names, sorted.
func (s *SFU) Rooms() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.rooms))
	for n := range s.rooms {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Load is what the node reports to orchestrators.
type Load struct {
	Rooms        int
	Participants int
	// EgressKbps is the forwarded bitrate over the last second, in kbit/s.
	EgressKbps uint64
}

// Load returns the current load.
func (s *SFU) Load() Load {
	s.mu.Lock()
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	l := Load{Rooms: len(rooms)}
	for _, r := range rooms {
		for _, p := range r.Participants() {
			if p.kind != KindRemote { // other nodes' participants are their load
				l.Participants++
			}
		}
	}
	l.EgressKbps = uint64(s.metrics.egress.bitsPerSecond() / 1000)
	return l
}

// Close ends every session and refuses new ones. It waits up to timeout
// for participants to leave cleanly.
func (s *SFU) Close(timeout time.Duration) {
	s.mu.Lock()
	s.closed = true
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		for _, r := range rooms {
			r.End("node shutting down")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		s.log.Warn("rooms did not close in time", "timeout", timeout)
	}
}

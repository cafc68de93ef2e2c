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
)

// SessionEnd tells the node layer that a participant session ended, with
// its figures, so it can emit a usage receipt.
type SessionEnd func(p *Participant)

// Config configures an SFU.
type Config struct {
	API    *webrtc.API
	Limits Limits
	// OnSessionEnd is called once per participant after it left.
	OnSessionEnd SessionEnd
	// NewMeter returns the measurements sink of a new session (optional).
	NewMeter func(p *Participant) Measurements
	Logger   *slog.Logger
	Registry prometheus.Registerer
}

// SFU is a set of rooms on one media node.
type SFU struct {
	api     *webrtc.API
	limits  Limits
	onEnd   SessionEnd
	newMtr  func(p *Participant) Measurements
	log     *slog.Logger
	metrics *metrics

	mu     sync.Mutex
	rooms  map[string]*Room
	closed bool
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
	s := &SFU{api: cfg.API, limits: cfg.Limits.withDefaults(), onEnd: cfg.OnSessionEnd, newMtr: cfg.NewMeter,
		log: cfg.Logger.With("component", "sfu"), metrics: m, rooms: map[string]*Room{}}
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
		l.Participants += len(r.Participants())
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

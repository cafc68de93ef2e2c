package session

import (
	"errors"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/chroom/chroom/grant"
)

// Room modes (RoomOptions.Mode).
const (
	// ModeCall is a call: everyone may publish as their role allows.
	ModeCall = "call"
	// ModeAudioSpace is an audio-only room with a stage: what its
	// participants send and receive is audio (and data).
	ModeAudioSpace = "audio_space"
)

// Limits of RoomOptions.
const (
	MaxRoomMetadataBytes = 4096
	MaxRoomParticipants  = 10000
	// DefaultEmptyTimeout is how long a room an app created is kept while
	// nobody is in it (LiveKit's default, 5 min).
	DefaultEmptyTimeout = 5 * time.Minute
	MaxEmptyTimeout     = 7 * 24 * time.Hour
	// joinPending is how long a grant nobody connected with yet counts as
	// a participant for MaxParticipants.
	joinPending = 30 * time.Second
)

// RoomOptions are what an app set for a room (POST /v1/rooms): kept
// durably (RoomStore) until the room has been empty for EmptyTimeout.
type RoomOptions struct {
	Name string `json:"name"`
	// Mode is ModeCall (default) or ModeAudioSpace.
	Mode string `json:"mode"`
	// MaxParticipants bounds the people in the room at once (0:
	// unbounded); joins past it are refused with ErrRoomFull.
	MaxParticipants int `json:"max_participants,omitempty"`
	// EmptyTimeout: the options are forgotten once the room has had
	// nobody in it for this long (0: DefaultEmptyTimeout).
	EmptyTimeout time.Duration `json:"empty_timeout,omitempty"`
	// Metadata is the app's, free-form (≤ 4 KiB), given to every client.
	Metadata string `json:"metadata,omitempty"`
	// RealtimeText turns live text (T.140 over the data channel) on in
	// the clients.
	RealtimeText bool `json:"realtime_text,omitempty"`
	// App is the API key's app that created the room.
	App       string    `json:"app,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Validate checks the options an app sent; the error says what is wrong.
func (o RoomOptions) Validate() error {
	switch o.Mode {
	case "", ModeCall, ModeAudioSpace:
	default:
		return fmt.Errorf("mode %q: use %q or %q", o.Mode, ModeCall, ModeAudioSpace)
	}
	if o.MaxParticipants < 0 || o.MaxParticipants > MaxRoomParticipants {
		return fmt.Errorf("max_participants %d: 0 (no limit) to %d", o.MaxParticipants, MaxRoomParticipants)
	}
	if o.EmptyTimeout < 0 || o.EmptyTimeout > MaxEmptyTimeout {
		return fmt.Errorf("empty_timeout %s: 0 (the default, %s) to %s", o.EmptyTimeout, DefaultEmptyTimeout, MaxEmptyTimeout)
	}
	if len(o.Metadata) > MaxRoomMetadataBytes || !utf8.ValidString(o.Metadata) {
		return fmt.Errorf("metadata: at most %d bytes of UTF-8", MaxRoomMetadataBytes)
	}
	return nil
}

// RoomStore keeps room options durably; a Store that implements it gets
// them (the orchestrator's store does).
type RoomStore interface {
	PutRoom(RoomOptions) error
	DeleteRoom(name string) error
}

// ErrRoomFull: the room has its MaxParticipants already.
var ErrRoomFull = errors.New("room full")

// SetOptions creates or replaces a room's options (persisted first, so a
// store error leaves nothing changed). CreatedAt is kept from an earlier
// version, else set to now; Mode "" becomes ModeCall.
func (b *Book) SetOptions(o RoomOptions) (RoomOptions, error) {
	if err := o.Validate(); err != nil {
		return RoomOptions{}, err
	}
	if o.Mode == "" {
		o.Mode = ModeCall
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := b.options[o.Name]; ok {
		o.CreatedAt = old.CreatedAt
	} else {
		o.CreatedAt = b.p.Clock()
	}
	if rs, ok := b.p.Store.(RoomStore); ok {
		if err := rs.PutRoom(o); err != nil {
			return RoomOptions{}, fmt.Errorf("save room %s: %w", o.Name, err)
		}
	}
	if b.options == nil {
		b.options = map[string]RoomOptions{}
	}
	b.options[o.Name] = o
	return o, nil
}

// Options returns a room's options, if an app set them.
func (b *Book) Options(name string) (RoomOptions, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.options[name]
	return o, ok
}

// DeleteOptions forgets a room's options (the room was ended).
func (b *Book) DeleteOptions(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.deleteOptions(name)
}

func (b *Book) deleteOptions(name string) error {
	if _, ok := b.options[name]; !ok {
		return nil
	}
	if rs, ok := b.p.Store.(RoomStore); ok {
		if err := rs.DeleteRoom(name); err != nil {
			return fmt.Errorf("delete room %s: %w", name, err)
		}
	}
	delete(b.options, name)
	return nil
}

// RestoreOptions loads stored room options (at start).
func (b *Book) RestoreOptions(opts []RoomOptions) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.options == nil {
		b.options = map[string]RoomOptions{}
	}
	for _, o := range opts {
		b.options[o.Name] = o
	}
}

// RoomSummary is a room as GET /v1/rooms lists it.
type RoomSummary struct {
	Name string
	// Options are the app's, if it created the room.
	Options *RoomOptions
	// Participants counts the people in the room now (connected, or
	// granted within the last 30 s and not yet connected); relay legs
	// and QoS probes are not people.
	Participants int
	Nodes        []string
	CreatedAt    time.Time
}

// Rooms lists the rooms this orchestrator knows — live ones and those an
// app created — sorted by name; app non-empty keeps the rooms app created
// or holds grants in.
func (b *Book) Rooms(app string) []RoomSummary {
	now := b.p.Clock()
	b.mu.Lock()
	defer b.mu.Unlock()
	byName := map[string]*RoomSummary{}
	for name, r := range b.rooms {
		mine := app == ""
		for _, m := range r.members {
			mine = mine || m.App == app
		}
		if !mine {
			continue
		}
		byName[name] = &RoomSummary{Name: name, Participants: b.present(r, now, ""), Nodes: append([]string(nil), r.nodes...), CreatedAt: r.createdAt}
	}
	for name, o := range b.options {
		if app != "" && o.App != app && byName[name] == nil {
			continue
		}
		s := byName[name]
		if s == nil {
			s = &RoomSummary{Name: name, CreatedAt: o.CreatedAt}
			byName[name] = s
		}
		oc := o
		s.Options = &oc
		if o.CreatedAt.Before(s.CreatedAt) {
			s.CreatedAt = o.CreatedAt
		}
	}
	out := make([]RoomSummary, 0, len(byName))
	for _, s := range byName {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// present counts the distinct people in r other than except; b.mu held.
func (b *Book) present(r *room, now time.Time, except string) int {
	seen := map[string]bool{}
	for _, m := range r.members {
		if m.Role == grant.RoleRelay || m.Probe || m.Identity == except {
			continue
		}
		if !m.ExpiresAt.After(now) {
			continue
		}
		connected := !m.LiveSince.IsZero()
		pending := m.ConnectedAt.IsZero() && now.Sub(m.IssuedAt) < joinPending
		if connected || pending {
			seen[m.Identity] = true
		}
	}
	return len(seen)
}

// checkCapacity refuses a join to a full room (b.mu held).
func (b *Book) checkCapacity(r *room, roomName, identity string, now time.Time) error {
	o, ok := b.options[roomName]
	if !ok || o.MaxParticipants <= 0 {
		return nil
	}
	if n := b.present(r, now, identity); n >= o.MaxParticipants {
		return fmt.Errorf("%w: room %s has %d of its %d places taken", ErrRoomFull, roomName, n, o.MaxParticipants)
	}
	return nil
}

// pruneOptions forgets the options of rooms nobody has been in for their
// EmptyTimeout (b.mu held). A store error keeps them for the next Prune.
func (b *Book) pruneOptions(now time.Time) {
	for name, o := range b.options {
		timeout := o.EmptyTimeout
		if timeout <= 0 {
			timeout = DefaultEmptyTimeout
		}
		last := o.CreatedAt
		if r, ok := b.rooms[name]; ok {
			if b.present(r, now, "") > 0 {
				continue
			}
			for _, m := range r.members {
				for _, t := range []time.Time{m.IssuedAt, m.DisconnectedAt} {
					if t.After(last) {
						last = t
					}
				}
			}
		}
		if now.Sub(last) > timeout {
			_ = b.deleteOptions(name)
		}
	}
}

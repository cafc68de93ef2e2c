package sfu

import (
	"encoding/json"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/chroom/chroom/noderpc"
)

// Room is a set of participants that see and hear each other.
type Room struct {
	sfu  *SFU
	name string

	mu           sync.Mutex
	participants map[string]*Participant
	tracks       map[string]*publishedTrack // by track ID
	speakers     []string
	ended        bool
	stop         chan struct{}
	wg           sync.WaitGroup
}

func newRoom(s *SFU, name string) *Room {
	r := &Room{sfu: s, name: name, participants: map[string]*Participant{}, tracks: map[string]*publishedTrack{}, stop: make(chan struct{})}
	r.wg.Add(1)
	go r.speakerLoop()
	return r
}

// Name returns the room name.
func (r *Room) Name() string { return r.name }

// Participants returns the participants, sorted by join time then identity.
func (r *Room) Participants() []*Participant {
	r.mu.Lock()
	out := make([]*Participant, 0, len(r.participants))
	for _, p := range r.participants {
		out = append(out, p)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].joinedAt.Equal(out[j].joinedAt) {
			return out[i].joinedAt.Before(out[j].joinedAt)
		}
		return out[i].identity < out[j].identity
	})
	return out
}

// IssuedBy reports whether the orchestrator with node ID issuer signed
// the grant of a session in the room: only those orchestrators may
// administer it (after a takeover both the old and the new owner have
// sessions there).
func (r *Room) IssuedBy(issuer string) bool {
	for _, p := range r.Participants() {
		if p.issuer == issuer {
			return true
		}
	}
	return false
}

// Participant returns one participant by identity.
func (r *Room) Participant(identity string) (*Participant, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.participants[identity]
	return p, ok
}

// Tracks describes the published tracks, sorted by ID.
func (r *Room) Tracks() []TrackInfo {
	r.mu.Lock()
	out := make([]TrackInfo, 0, len(r.tracks))
	for _, t := range r.tracks {
		t.mu.RLock()
		out = append(out, t.info)
		t.mu.RUnlock()
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// add inserts p, replacing (and closing) an earlier session with the same
// identity and grant, as a reconnect would; the same identity with
// another grant is refused (ErrIdentityInUse).
func (r *Room) add(p *Participant) error {
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		return ErrRoomNotFound
	}
	old := r.participants[p.identity]
	if old != nil && old.grantID != p.grantID {
		r.mu.Unlock()
		return ErrIdentityInUse
	}
	if old != nil && (old.kind == KindRemote) != (p.kind == KindRemote) {
		// A participant of another node and one of this node never
		// replace each other.
		r.mu.Unlock()
		return ErrIdentityInUse
	}
	if old == nil && p.local() && r.localCountLocked() >= r.sfu.limits.MaxParticipantsPerRoom {
		r.mu.Unlock()
		return ErrRoomFull
	}
	r.participants[p.identity] = p
	r.mu.Unlock()
	if old != nil {
		old.Close("replaced by a new session") // its slot is reused: no gauge change
	} else if p.kind != KindRemote {
		r.sfu.metrics.participants.Inc()
	}
	return nil
}

// localCountLocked counts the sessions of this node's own participants
// (not relay legs, not other nodes' participants); r.mu is held. The
// per-room cap bounds them: a cascaded room's capacity is the sum of its
// nodes'.
func (r *Room) localCountLocked() int {
	n := 0
	for _, p := range r.participants {
		if p.local() {
			n++
		}
	}
	return n
}

// remove drops p and closes the room when it has no participant of this
// node left: the relay legs and other nodes' participants still in it
// are closed then (a cascade serves this node's people; without them the
// other nodes unlink).
func (r *Room) remove(p *Participant) {
	r.mu.Lock()
	if r.participants[p.identity] == p {
		delete(r.participants, p.identity)
		if p.kind != KindRemote {
			r.sfu.metrics.participants.Dec()
		}
	}
	// Only the call that ends the room closes it: p may be removed twice
	// (a close racing a drain), and the room may have ended already.
	empty := r.localCountLocked() == 0 && !r.ended
	var rest []*Participant
	if empty {
		r.ended = true
		for _, o := range r.participants {
			rest = append(rest, o)
		}
	}
	r.mu.Unlock()
	if empty {
		close(r.stop)
		r.sfu.removeRoom(r)
		for _, o := range rest {
			go o.Close("no participant of this node is left in the room")
		}
	}
}

// Done is closed when the room has ended.
func (r *Room) Done() <-chan struct{} { return r.stop }

// broadcast sends ev to every participant except the one named in except.
func (r *Room) broadcast(ev Event, except string) {
	for _, p := range r.Participants() {
		if p.identity != except {
			p.sendEvent(ev)
		}
	}
}

// relayData sends a data-channel message from one participant to all
// others that may subscribe.
func (r *Room) relayData(from string, payload []byte) {
	msg := dataEnvelope{From: from}
	if json.Valid(payload) {
		msg.Payload = payload
	} else {
		raw, _ := json.Marshal(string(payload))
		msg.Payload = raw
	}
	out, err := json.Marshal(msg)
	if err != nil {
		return
	}
	sender, _ := r.Participant(from)
	for _, p := range r.Participants() {
		if p.identity != from && p.perms.CanSubscribe && (sender == nil || p.mayReceiveFrom(sender)) {
			p.sendData(out)
		}
	}
	r.sfu.metrics.dataMessages.Inc()
}

// SendServerData sends an app's data message (payload: one JSON value)
// to the room's participants on this node that may subscribe, or only to
// those in to; the envelope's from is "" and server true. It returns how
// many it was sent to.
func (r *Room) SendServerData(payload []byte, to []string) int {
	out, err := json.Marshal(dataEnvelope{Server: true, Payload: payload})
	if err != nil {
		return 0
	}
	n := 0
	for _, p := range r.Participants() {
		if _, perms := p.Permissions(); p.relay || p.kind == KindRemote || !perms.CanSubscribe || (len(to) > 0 && !slices.Contains(to, p.identity)) {
			continue
		}
		if p.sendData(out) {
			n++
		}
	}
	r.sfu.metrics.dataMessages.Inc()
	return n
}

// dataEnvelope is what subscribers receive on the data channel: the
// sender's identity and its message as sent (JSON, or a JSON string).
type dataEnvelope struct {
	From string `json:"from"`
	// Server marks a message the app sent through its orchestrator
	// (SendServerData); From is then "".
	Server  bool            `json:"server,omitempty"`
	Payload json.RawMessage `json:"payload"`
}

// publish registers a new published track and subscribes everyone.
func (r *Room) publish(t *publishedTrack) {
	r.mu.Lock()
	r.tracks[t.info.ID] = t
	r.mu.Unlock()
	r.sfu.metrics.tracks.Inc()
	for _, p := range r.Participants() {
		if p != t.publisher && p.mayReceiveFrom(t.publisher) {
			p.subscribeTo(t)
		}
	}
	t.mu.RLock()
	info := t.info // a copy: the event is encoded later, while mutes may change t.info
	t.mu.RUnlock()
	r.broadcast(Event{Type: EventTrackPublished, Track: &info, remote: t.publisher.kind == KindRemote}, "")
	t.publisher.sessionEvent(noderpc.SessionTrackPublished, &info, "")
}

// unpublish removes a track from the room and from every subscriber.
func (r *Room) unpublish(t *publishedTrack) {
	r.mu.Lock()
	if r.tracks[t.info.ID] != t {
		r.mu.Unlock()
		return
	}
	delete(r.tracks, t.info.ID)
	r.mu.Unlock()
	t.publisher.mu.Lock()
	if t.publisher.published[t.info.ID] == t {
		delete(t.publisher.published, t.info.ID)
	}
	t.publisher.mu.Unlock()
	r.sfu.metrics.tracks.Dec()
	t.close()
	for _, p := range r.Participants() {
		p.unsubscribeFrom(t.info.ID)
	}
	t.mu.RLock()
	info := t.info
	t.mu.RUnlock()
	r.broadcast(Event{Type: EventTrackUnpublished, Track: &info, remote: t.publisher.kind == KindRemote}, "")
	t.publisher.sessionEvent(noderpc.SessionTrackUnpublished, &info, "")
}

// track returns a published track by ID.
func (r *Room) track(id string) (*publishedTrack, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.tracks[id]
	return t, ok
}

// End removes every participant and closes the room.
func (r *Room) End(reason string) {
	for _, p := range r.Participants() {
		p.sendEvent(Event{Type: EventRoomEnded, Reason: reason})
		p.Close(reason)
	}
	r.wg.Wait()
}

// speakerLoop publishes the active speakers (loudest three, by the RFC
// 6464 audio level of their microphone tracks) every 500 ms when they
// change.
func (r *Room) speakerLoop() {
	defer r.wg.Done()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
		}
		type lv struct {
			id    string
			level float64
		}
		var levels []lv
		r.mu.Lock()
		for _, t := range r.tracks {
			if t.info.Kind == "audio" && !t.info.Muted {
				if l := t.audioLv.level(); l > 30 {
					levels = append(levels, lv{t.info.Publisher, l})
				}
			}
		}
		r.mu.Unlock()
		sort.Slice(levels, func(i, j int) bool {
			if levels[i].level != levels[j].level {
				return levels[i].level > levels[j].level
			}
			return levels[i].id < levels[j].id
		})
		speakers := []string{}
		for i := 0; i < len(levels) && i < 3; i++ {
			speakers = append(speakers, levels[i].id)
		}
		r.mu.Lock()
		changed := !equalStrings(speakers, r.speakers)
		r.speakers = speakers
		r.mu.Unlock()
		if changed {
			r.sfu.log.Debug("speakers", "room", r.name, "speakers", speakers)
			r.broadcast(Event{Type: EventSpeakers, Speakers: speakers}, "")
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

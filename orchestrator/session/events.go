package session

import (
	"errors"
	"fmt"
	"time"

	"github.com/chroom/chroom/noderpc"
)

// Event is what a media node reports about a session (Media Node RPC
// PushSessionEvents; the types are noderpc.Session*).
type Event struct {
	Type, Room, Identity, GrantID string
	// At is when it happened on the node.
	At                              time.Time
	TrackID, TrackKind, TrackSource string
	Reason                          string
}

// ErrForeignEvent: the event names a grant this orchestrator did not
// issue, or one for another room, identity or media node. A media node
// cannot report for sessions it does not serve; such events are dropped.
var ErrForeignEvent = errors.New("not a grant of this orchestrator for that media node")

// Apply records what media node from reports: a join counts a connection,
// opens it (LiveSince) and sets ConnectedAt (the first one counts); a
// leave or lost connection closes the open connection, adding its time to
// ConnectedMs, and sets DisconnectedAt (the latest counts). An event sent
// twice changes nothing the second time except the join count, which only
// widens the session IDs the check tries. Track events change nothing
// here.
// It returns the record after the event. Errors: ErrForeignEvent, or the
// store's (the event was not recorded and should be sent again).
func (b *Book) Apply(from string, e Event) (Record, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.sessions[e.GrantID]
	if !ok || s.NodeID != from || s.Room != e.Room || s.Identity != e.Identity {
		return Record{}, fmt.Errorf("%w: %s event for grant %s (room %q, identity %q) from %s", ErrForeignEvent, e.Type, e.GrantID, e.Room, e.Identity, from)
	}
	next := *s
	switch e.Type {
	case noderpc.SessionJoined:
		next.Joins++
		if next.ConnectedAt.IsZero() {
			next.ConnectedAt = e.At
		}
		if next.LiveSince.IsZero() {
			next.LiveSince = e.At
		}
	case noderpc.SessionLeft, noderpc.SessionConnectionAborted:
		if !next.LiveSince.IsZero() {
			if d := e.At.Sub(next.LiveSince).Milliseconds(); d > 0 {
				next.ConnectedMs += d
			}
			next.LiveSince = time.Time{}
		}
		if next.DisconnectedAt.IsZero() || e.At.After(next.DisconnectedAt) {
			next.DisconnectedAt = e.At
		}
	}
	if next.Joins != s.Joins || next.ConnectedMs != s.ConnectedMs || !next.LiveSince.Equal(s.LiveSince) ||
		!next.ConnectedAt.Equal(s.ConnectedAt) || !next.DisconnectedAt.Equal(s.DisconnectedAt) {
		if err := b.save(next); err != nil {
			return Record{}, err
		}
		*s = next
	}
	return next, nil
}

package grant

import "fmt"

// Role is what a participant is in a room (DESIGN.md §3). The role decides
// the default permissions; the grant carries the permissions themselves.
type Role string

// The roles a grant may carry, in increasing order of power.
const (
	// RoleViewer only receives media: a live-stream or WHEP viewer.
	RoleViewer Role = "viewer"
	// RoleParticipant sends camera, microphone and data, and receives.
	RoleParticipant Role = "participant"
	// RolePresenter is a participant who may also share a screen.
	RolePresenter Role = "presenter"
	// RoleHost may do everything, including room administration (promote and
	// demote, mute, remove, end the room).
	RoleHost Role = "host"
	// RoleRelay is a cascade relay leg (DESIGN.md §4 Cascading): another
	// media node that receives the room's local tracks, data and events to
	// serve its own participants. Only an orchestrator's relay grants carry
	// it (Media Node RPC LinkRoom); ParseRole refuses it, so no join asks
	// for it.
	RoleRelay Role = "relay"
)

// ParseRole returns the Role named by s, one of "host", "presenter",
// "participant" or "viewer" (exact, lower case).
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !r.Valid() || r == RoleRelay {
		return "", fmt.Errorf("unknown role %q: want host, presenter, participant or viewer", s)
	}
	return r, nil
}

// Valid reports whether r is one of the five defined roles (the four a
// join may ask for, and RoleRelay).
func (r Role) Valid() bool {
	switch r {
	case RoleHost, RolePresenter, RoleParticipant, RoleViewer, RoleRelay:
		return true
	}
	return false
}

// Permissions are the capabilities a grant carries. They travel as the
// claims can_publish, can_subscribe, can_publish_data, can_publish_screen and
// can_admin; a claim that is absent is false.
type Permissions struct {
	// CanPublish allows publishing media tracks (camera, microphone). It is
	// required for any publishing, screen share included.
	CanPublish bool `json:"can_publish"`
	// CanSubscribe allows receiving other participants' tracks.
	CanSubscribe bool `json:"can_subscribe"`
	// CanPublishData allows sending on data channels (chat, files, text).
	CanPublishData bool `json:"can_publish_data"`
	// CanPublishScreen additionally allows publishing screen-share tracks.
	CanPublishScreen bool `json:"can_publish_screen"`
	// CanAdmin allows room administration.
	CanAdmin bool `json:"can_admin"`
	// CanPublishSources, if not empty, are the only track sources the
	// participant may publish ("camera", "microphone", "screen",
	// "screen_audio"); the flags above still apply.
	CanPublishSources []string `json:"can_publish_sources,omitempty"`
	// Hidden: the others in the room are not told of the participant; it
	// may subscribe but the media node refuses its media and data.
	Hidden bool `json:"hidden,omitempty"`
}

// DefaultPermissions returns the permissions a role gets unless the
// orchestrator decides otherwise:
//
//	viewer       subscribe
//	participant  publish (camera, microphone), subscribe, data
//	presenter    participant + screen share
//	host         everything, including admin
//	relay        subscribe (the relay receives data messages too)
//
// An invalid role gets no permissions.
func DefaultPermissions(r Role) Permissions {
	switch r {
	case RoleViewer, RoleRelay:
		return Permissions{CanSubscribe: true}
	case RoleParticipant:
		return Permissions{CanPublish: true, CanSubscribe: true, CanPublishData: true}
	case RolePresenter:
		return Permissions{CanPublish: true, CanSubscribe: true, CanPublishData: true, CanPublishScreen: true}
	case RoleHost:
		return Permissions{CanPublish: true, CanSubscribe: true, CanPublishData: true, CanPublishScreen: true, CanAdmin: true}
	}
	return Permissions{}
}

// Action is something a grant holder asks a media node to do.
type Action string

// The actions a media node checks with Claims.Allow.
const (
	// ActionPublish is publishing a camera or microphone track.
	ActionPublish Action = "publish"
	// ActionPublishScreen is publishing a screen-share track; it needs both
	// CanPublish and CanPublishScreen.
	ActionPublishScreen Action = "publish_screen"
	// ActionSubscribe is receiving other participants' tracks.
	ActionSubscribe Action = "subscribe"
	// ActionPublishData is sending on a data channel.
	ActionPublishData Action = "publish_data"
	// ActionAdmin is a room administration command.
	ActionAdmin Action = "admin"
)

// Allow reports whether the grant lets its holder perform action in room.
// It returns nil if so, an error wrapping ErrWrongRoom if the grant names
// another room, and an error wrapping ErrNotPermitted if the permission is
// missing or the action is unknown. Call it only on claims that Verify
// returned.
func (c *Claims) Allow(room string, action Action) error {
	if c == nil {
		return fmt.Errorf("%w: no grant", ErrNotPermitted)
	}
	if room != c.Room {
		return fmt.Errorf("%w: grant names room %q, not %q", ErrWrongRoom, c.Room, room)
	}
	var ok bool
	switch action {
	case ActionPublish:
		ok = c.CanPublish
	case ActionPublishScreen:
		ok = c.CanPublish && c.CanPublishScreen
	case ActionSubscribe:
		ok = c.CanSubscribe
	case ActionPublishData:
		ok = c.CanPublishData
	case ActionAdmin:
		ok = c.CanAdmin
	default:
		return fmt.Errorf("%w: unknown action %q", ErrNotPermitted, action)
	}
	if !ok {
		return fmt.Errorf("%w: %s is not allowed for %q (role %s) in room %q", ErrNotPermitted, action, c.Subject, c.Role, c.Room)
	}
	return nil
}

// Package session is the orchestrator's core (DESIGN.md §3): the rooms it
// owns and the media node each is placed on, every join grant it issued
// (a session record: identity, role, principal, connect and disconnect
// times from the media node's session events), bans, host succession and
// the check of usage receipts against those records.
//
// It holds state and rules only. It does no network I/O, reads time only
// from its Clock and persists through the Store it is given, so it is
// tested without sockets; orchestrator/api (HTTP) and orchestrator/node
// (wiring, background loops) are its driver — the split of etcd raft's
// RawNode (core) and its application loop (driver).
package session

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/orchestrator/selector"
)

// Defaults of Params.
const (
	DefaultGrantTTL      = 6 * time.Hour
	DefaultLoadFreshness = 15 * time.Second
	// DefaultKeep is how long a record outlives its grant, so receipts cut
	// at the end of a session can still be checked.
	DefaultKeep = time.Hour
	// AnonymousPrefix starts every identity the orchestrator assigns to an
	// anonymous join; app identities are "<app>:<id>".
	AnonymousPrefix = "guest-"
)

// Clock returns the current time.
type Clock func() time.Time

// Record is one issued join grant: the orchestrator's own record of a
// session, which receipts are checked against.
type Record struct {
	// JTI is the grant ID; Room, Identity and NodeID its room, subject and
	// audience.
	JTI, Room, Identity, NodeID string
	Role                        grant.Role
	// App is the API key's app that asked for the grant; empty for an
	// anonymous join.
	App string `json:",omitempty"`
	// BillApp is the on-chain app (x/incentives) whose escrow pays for
	// the session: the grant's "app" claim and its receipts' app_id.
	// Empty: the orchestrator's operator pays.
	BillApp string `json:",omitempty"`
	// ClientIP is the address the join came from.
	ClientIP            string `json:",omitempty"`
	IssuedAt, ExpiresAt time.Time
	// ConnectedAt and DisconnectedAt come from the media node's session
	// events (zero until reported): the first join, the latest leave.
	ConnectedAt, DisconnectedAt time.Time
	// Joins counts the joins (connections) reported; ConnectedMs is the
	// time of the closed connections, ms; LiveSince is when the open
	// connection joined (zero when none is open).
	Joins       uint32    `json:",omitempty"`
	ConnectedMs int64     `json:",omitempty"`
	LiveSince   time.Time `json:",omitzero"`
	// CreditedMs is the time of the receipts countersigned for this grant,
	// ms: never more than the connected time observed (Checker).
	CreditedMs int64 `json:",omitempty"`
	// ClientKey is the Ed25519 key the grant binds (cnf), if the client
	// sent one; StatementSeq and ClientElapsedMs are from its last valid
	// usage statement. An attested session is credited no more time than
	// the client's statements attest.
	ClientKey       []byte `json:",omitempty"`
	StatementSeq    uint64 `json:",omitempty"`
	ClientElapsedMs int64  `json:",omitempty"`
	// Statement and StatementSig are the client's last valid usage
	// statement and its signature: receipts carry them to the chain.
	Statement    *format.UsageStatement `json:",omitempty"`
	StatementSig []byte                 `json:",omitempty"`
	// LastStats is when the client last reported stats; BytesReceived and
	// FramesDecoded its cumulative figures then.
	LastStats                    time.Time
	BytesReceived, FramesDecoded uint64
	// Probe marks a QoS probe's grant (api.Server.ProbeGrants): its
	// receipts are acknowledged to the media node like any other, so the
	// node cannot tell, but never countersigned nor submitted — a probe
	// is not work for the chain to pay, nor client evidence of quality
	// (Checker returns ErrProbeSession).
	Probe bool `json:",omitempty"`
	// Hidden: the session is hidden from the others in the room (an app's
	// recorder, a moderator watching); it may not publish.
	Hidden bool `json:",omitempty"`
}

// Anonymous reports whether the record's identity was assigned to an
// anonymous join (no API key).
func (r Record) Anonymous() bool { return IsAnonymous(r.Identity) }

// IsAnonymous reports whether identity is not an app's ("<app>:<id>").
func IsAnonymous(identity string) bool { return !strings.Contains(identity, ":") }

// Ban refuses joins to Room matching Key until Until. Key is
// "id:<identity>" or, for anonymous principals known only by their
// address, "ip:<address>".
type Ban struct {
	Room, Key string
	Until     time.Time
}

// Store persists records and bans; each call is one durable transaction.
// orchestrator/store implements it.
type Store interface {
	PutSession(Record) error
	PutBan(Ban) error
}

// Nodes lists the media nodes rooms may be placed on.
type Nodes interface {
	// Candidates returns the ACTIVE media nodes with their last load
	// reports (Load nil if none).
	Candidates() []selector.Candidate
}

// Params configure a Book.
type Params struct {
	// Store persists records and bans (nil: kept in memory only).
	Store Store
	// Nodes are the placement candidates (required for Place).
	Nodes Nodes
	// Clock is the time source (default time.Now).
	Clock Clock
	// GrantTTL is a grant's lifetime (DefaultGrantTTL).
	GrantTTL time.Duration
	// LoadFreshness: a room stays on its node while the node's last load
	// report is younger than this; new rooms go only to such nodes
	// (DefaultLoadFreshness).
	LoadFreshness time.Duration
	// Keep is how long records outlive their grants (DefaultKeep).
	Keep time.Duration
	// Rand, if set, replaces the selector's random choice (tests).
	Rand func(n int) int
	// ChainID is the chain client usage statements are signed for.
	ChainID string
}

// Book is the state of the rooms this orchestrator owns. Its methods are
// safe for concurrent use.
type Book struct {
	p   Params
	sel *selector.Selector

	mu       sync.Mutex
	rooms    map[string]*room
	sessions map[string]*Record              // by grant ID
	bans     map[string]map[string]time.Time // room → key → until
	// down are nodes this orchestrator found unreachable (MarkDown), by
	// ID, with when: not candidates until they report load after that.
	down map[string]time.Time
	// options are the rooms' options apps set (rooms.go), by room name.
	options map[string]RoomOptions
}

type room struct {
	hash []byte // format.RoomHash of the name, as receipts carry it
	// nodeID is the room's first node; nodes every node it is placed on
	// (cascading), nodeID first, in the order they were added.
	nodeID    string
	nodes     []string
	createdAt time.Time
	members   []*Record // in issue order
}

// addNode places the room on id too (a no-op if it is there).
func (r *room) addNode(id string) {
	for _, n := range r.nodes {
		if n == id {
			return
		}
	}
	r.nodes = append(r.nodes, id)
}

func (r *room) hasNode(id string) bool {
	for _, n := range r.nodes {
		if n == id {
			return true
		}
	}
	return false
}

// New returns an empty Book.
func New(p Params) *Book {
	if p.Clock == nil {
		p.Clock = time.Now
	}
	if p.GrantTTL <= 0 {
		p.GrantTTL = DefaultGrantTTL
	}
	if p.LoadFreshness <= 0 {
		p.LoadFreshness = DefaultLoadFreshness
	}
	if p.Keep <= 0 {
		p.Keep = DefaultKeep
	}
	return &Book{
		p:        p,
		sel:      &selector.Selector{StaleAfter: p.LoadFreshness, Now: p.Clock, Rand: p.Rand},
		rooms:    map[string]*room{},
		sessions: map[string]*Record{},
		bans:     map[string]map[string]time.Time{},
	}
}

// Now is the Book's clock.
func (b *Book) Now() time.Time { return b.p.Clock() }

// GrantTTL is the lifetime of the grants it records.
func (b *Book) GrantTTL() time.Duration { return b.p.GrantTTL }

// Restore reloads records and bans saved before a restart. Records whose
// grants expired more than Keep ago and bans no longer in force are
// skipped. A room returns to the node of its latest grant.
func (b *Book) Restore(records []Record, bans []Ban) {
	now := b.p.Clock()
	b.mu.Lock()
	defer b.mu.Unlock()
	sort.SliceStable(records, func(i, j int) bool { return records[i].IssuedAt.Before(records[j].IssuedAt) })
	for i := range records {
		rec := records[i]
		if now.Sub(rec.ExpiresAt) > b.p.Keep {
			continue
		}
		r, ok := b.rooms[rec.Room]
		if !ok {
			r = &room{hash: format.RoomHash(rec.Room), nodeID: rec.NodeID, createdAt: rec.IssuedAt}
			b.rooms[rec.Room] = r
		}
		if rec.Role != grant.RoleRelay {
			r.nodeID = rec.NodeID // records are in issue order: the latest wins
		}
		r.addNode(rec.NodeID)
		r.members = append(r.members, &rec)
		b.sessions[rec.JTI] = &rec
	}
	for _, ban := range bans {
		if ban.Until.After(now) {
			b.setBan(ban)
		}
	}
}

func (b *Book) setBan(ban Ban) {
	m := b.bans[ban.Room]
	if m == nil {
		m = map[string]time.Time{}
		b.bans[ban.Room] = m
	}
	if ban.Until.After(m[ban.Key]) {
		m[ban.Key] = ban.Until
	}
}

// Place returns the media node of room, choosing one when the room is new
// or its node is no longer a candidate, is draining or has not reported
// load within LoadFreshness; a new room goes to the node its first
// participant measured nearest (rtts, see selector.Select), else by
// region. started is true when the room is new. Errors:
// selector.ErrNoNode.
func (b *Book) Place(roomName, region string, rtts selector.RTTs) (nodeID string, started bool, err error) {
	return b.PlaceFor(roomName, Want{Region: region, RTTs: rtts})
}

// Want is what a joining client says about where it is.
type Want struct {
	// Region is its region (ISO 3166-1 alpha-2, optional sub-region);
	// RegionAsked says the client named it (not the orchestrator's
	// default), which may spread a live room to a node there.
	Region      string
	RegionAsked bool
	// RTTs are its measured round-trip times by node ID (ms).
	RTTs selector.RTTs
}

// Cascading thresholds (DESIGN.md §3 placement, §4 cascading).
const (
	// SpreadGainMs: a participant joining a live room is placed on
	// another node when it measured that node at least this much nearer
	// than every node the room is on (the nodes then relay the room).
	SpreadGainMs = 30.0
	// SpillHeadroom: a room node with no more headroom than this (the
	// selector's Headroom) takes no more of the room; the room spills
	// onto another node.
	SpillHeadroom = 0.10
)

// PlaceFor returns the media node for a participant joining room. A new
// room (or one whose nodes are all gone: not candidates, draining, or
// silent for LoadFreshness) goes to the node the client measured nearest
// (selector.Select), else by region; started is then true for a new room.
// A live room keeps its participants on its nodes — the one the client
// measured nearest among them — unless:
//   - the client measured another node SpreadGainMs nearer than all of
//     the room's, or answered none of the room's nodes' pings but another
//     node's, or named a region none of the room's nodes is in and a node
//     there can take it (spread); or
//   - the room's nodes are full (SpillHeadroom): it spills onto the best
//     other node.
//
// A room on several nodes is cascaded: the orchestrator links its nodes
// (api: LinkRoom) as sessions join. Errors: selector.ErrNoNode.
func (b *Book) PlaceFor(roomName string, w Want) (nodeID string, started bool, err error) {
	cands := b.candidates()
	live := b.liveNodes(roomName, cands)
	if len(live) == 0 {
		c, err := b.sel.Select(cands, w.Region, w.RTTs)
		if err != nil {
			return "", false, err
		}
		now := b.p.Clock()
		b.mu.Lock()
		defer b.mu.Unlock()
		if r, ok := b.rooms[roomName]; ok {
			r.nodeID = c.ID
			r.nodes = []string{c.ID} // the old nodes are gone
			return c.ID, false, nil
		}
		b.rooms[roomName] = &room{hash: format.RoomHash(roomName), nodeID: c.ID, nodes: []string{c.ID}, createdAt: now}
		return c.ID, true, nil
	}
	best, bestRTT, measured := live[0], 0.0, false
	for _, c := range live {
		if ms, ok := w.RTTs[c.ID]; ok && ms > 0 && (!measured || ms < bestRTT) {
			best, bestRTT, measured = c, ms, true
		}
	}
	if !measured && countryOf(w.Region) != "" {
		for _, c := range live { // unmeasured: the room's node in the client's country
			if countryOf(c.Region) == countryOf(w.Region) {
				best = c
				break
			}
		}
	}
	spread := func(c selector.Candidate) (string, bool, error) {
		b.mu.Lock()
		defer b.mu.Unlock()
		r, ok := b.rooms[roomName]
		if !ok {
			return "", false, fmt.Errorf("room %s was pruned while placing", roomName)
		}
		r.addNode(c.ID)
		return c.ID, false, nil
	}
	var others []selector.Candidate
	for _, c := range cands {
		if !containsCandidate(live, c.ID) {
			others = append(others, c)
		}
	}
	if len(others) > 0 {
		if pick, err := b.sel.Select(others, w.Region, w.RTTs); err == nil {
			ms, pickMeasured := w.RTTs[pick.ID]
			switch {
			case pickMeasured && measured && bestRTT-ms >= SpreadGainMs:
				return spread(pick)
			case pickMeasured && !measured:
				// The room's nodes are first in the client's shortlist
				// (Shortlist): it pinged them and none answered.
				return spread(pick)
			case !pickMeasured && len(w.RTTs) == 0 && w.RegionAsked && countryOf(w.Region) != "" &&
				countryOf(pick.Region) == countryOf(w.Region) && !anyInCountry(live, countryOf(w.Region)):
				return spread(pick)
			}
		}
	}
	if selector.Headroom(best) > SpillHeadroom {
		return best.ID, false, nil
	}
	for _, c := range live {
		if selector.Headroom(c) > SpillHeadroom {
			return c.ID, false, nil
		}
	}
	if pick, err := b.sel.Select(others, w.Region, w.RTTs); err == nil && selector.Headroom(pick) > SpillHeadroom {
		return spread(pick)
	}
	return best.ID, false, nil // all full: the room's own node decides (it refuses when full)
}

func containsCandidate(cs []selector.Candidate, id string) bool {
	for _, c := range cs {
		if c.ID == id {
			return true
		}
	}
	return false
}

func anyInCountry(cs []selector.Candidate, country string) bool {
	for _, c := range cs {
		if countryOf(c.Region) == country {
			return true
		}
	}
	return false
}

// countryOf is the ISO 3166-1 part of a region ("US" of "US-CA").
func countryOf(region string) string {
	c, _, _ := strings.Cut(region, "-")
	return strings.ToUpper(c)
}

// Shortlist returns the media nodes a client joining room should measure
// its round-trip time to before it joins: selector.Shortlist's, and for a
// live room (placed is then true) the room's nodes first — the client is
// placed on the nearest of them unless another is much nearer, or the
// only one that answered (PlaceFor). Errors: selector.ErrNoNode.
func (b *Book) Shortlist(roomName, region string) (nodes []selector.Candidate, placed bool, err error) {
	cands := b.candidates()
	live := b.liveNodes(roomName, cands)
	more, err := b.sel.Shortlist(cands, region)
	if len(live) == 0 {
		return more, false, err
	}
	nodes = append(nodes, live...)
	for _, c := range more {
		if !containsCandidate(nodes, c.ID) && len(nodes) < selector.MaxShortlist+len(live) {
			nodes = append(nodes, c)
		}
	}
	return nodes, true, nil
}

// candidates are the placement candidates minus the nodes marked down
// that have not reported load since.
func (b *Book) candidates() []selector.Candidate {
	if b.p.Nodes == nil {
		return nil
	}
	all := b.p.Nodes.Candidates()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.down) == 0 {
		return all
	}
	out := all[:0:0]
	for _, c := range all {
		if at, ok := b.down[c.ID]; ok {
			if c.Load == nil || !c.Load.ReportedAt.After(at) {
				continue
			}
			delete(b.down, c.ID) // it reported since: back
		}
		out = append(out, c)
	}
	return out
}

// MarkDown records that node did not answer this orchestrator's probe:
// until it reports load again, no room is placed on it and the rooms on it
// move to another node at their next join (Place). A client that found
// its node unreachable asks for this (the join's unreachable_node); the
// orchestrator's own probe decides.
func (b *Book) MarkDown(nodeID string) {
	now := b.p.Clock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down == nil {
		b.down = map[string]time.Time{}
	}
	b.down[nodeID] = now
}

// liveNodes are the nodes room is placed on that are candidates, not
// draining and have reported load within LoadFreshness, in the room's
// order (its first node first).
func (b *Book) liveNodes(roomName string, cands []selector.Candidate) []selector.Candidate {
	now := b.p.Clock()
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.rooms[roomName]
	if !ok {
		return nil
	}
	var out []selector.Candidate
	for _, id := range r.nodes {
		for _, c := range cands {
			if c.ID == id && c.Load != nil && !c.Load.Draining && now.Sub(c.Load.ReportedAt) <= b.p.LoadFreshness {
				out = append(out, c)
			}
		}
	}
	return out
}

// Nodes returns the media nodes room is placed on, its first node first.
func (b *Book) Nodes(roomName string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.rooms[roomName]
	if !ok {
		return nil
	}
	return append([]string(nil), r.nodes...)
}

// ServingNodes returns the nodes of Nodes that are candidates now (not
// marked down, reporting, not draining): the ones to ask about the room.
func (b *Book) ServingNodes(roomName string) []string {
	var out []string
	for _, c := range b.liveNodes(roomName, b.candidates()) {
		out = append(out, c.ID)
	}
	return out
}

// LiveNodes returns the media nodes where room has a connected session of
// a participant (relay legs aside), as the nodes' session events report,
// sorted: the nodes a cascade must link.
func (b *Book) LiveNodes(roomName string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.rooms[roomName]
	if !ok {
		return nil
	}
	var out []string
	for _, m := range r.members {
		if m.Role != grant.RoleRelay && !m.LiveSince.IsZero() && !slices.Contains(out, m.NodeID) {
			out = append(out, m.NodeID)
		}
	}
	sort.Strings(out)
	return out
}

// Adopt records a room this Book has no record of as already open on
// nodes (first the node to place new participants on): a room another
// orchestrator placed before this one took it over (rendezvous takeover,
// DESIGN.md §3). It returns false, changing nothing, when the Book
// already knows the room or nodes is empty.
func (b *Book) Adopt(roomName string, nodes []string) bool {
	if len(nodes) == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.rooms[roomName]; ok {
		return false
	}
	r := &room{hash: format.RoomHash(roomName), nodeID: nodes[0], createdAt: b.p.Clock()}
	for _, n := range nodes {
		r.addNode(n)
	}
	b.rooms[roomName] = r
	return true
}

// Node returns the media node of a room this Book knows.
func (b *Book) Node(roomName string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.rooms[roomName]
	if !ok {
		return "", false
	}
	return r.nodeID, true
}

// Quota bounds an app's live grants; zero fields are unbounded.
type Quota struct {
	// MaxRooms is how many rooms the app may have live grants in.
	MaxRooms int
	// MaxSessions is how many live grants the app may hold.
	MaxSessions int
}

// Admission asks for a grant.
type Admission struct {
	// Room must have been placed (Place) on NodeID.
	Room, NodeID string
	// Identity is the grant's subject, already bound to its principal
	// (AnonymousPrefix… or "<app>:<id>").
	Identity string
	// App is the API key's app; empty for an anonymous join.
	App string
	// BillApp is the on-chain app billed for the session (Record.BillApp).
	BillApp string
	// IP is the client's address (bans of anonymous principals).
	IP string
	// Role is the role asked for; empty: the default (see Admit).
	Role grant.Role
	// Quota bounds App's grants.
	Quota Quota
	// ClientKey, if set, is the client's Ed25519 public key (32 bytes) the
	// grant binds: its session is then attested.
	ClientKey []byte
	// Probe marks a QoS probe's grant (Record.Probe).
	Probe bool
	// Hidden asks for a hidden session (Record.Hidden); apps only.
	Hidden bool
}

// Errors of Admit.
var (
	// ErrBanned: the identity (or, for an anonymous join, the address)
	// was removed from the room with a ban still in force; see BanError.
	ErrBanned = errors.New("banned from the room")
	// ErrQuota: the app would pass its Quota.
	ErrQuota = errors.New("quota exceeded")
	// ErrRoleNotAllowed: host or presenter asked for an anonymous join.
	ErrRoleNotAllowed = errors.New("role not allowed")
)

// BanError is ErrBanned with the end of the ban.
type BanError struct{ Until time.Time }

func (e *BanError) Error() string {
	return "removed from the room; joining again is refused until " + e.Until.UTC().Format(time.RFC3339)
}

// Unwrap makes errors.Is(err, ErrBanned) hold.
func (e *BanError) Unwrap() error { return ErrBanned }

// Admit records a new grant and returns its record (a new random JTI,
// IssuedAt now, ExpiresAt now + GrantTTL). Rules, in order:
//   - a ban of the identity in the room, or for an anonymous join of its
//     address, refuses it (*BanError);
//   - an anonymous join may not ask for host or presenter
//     (ErrRoleNotAllowed);
//   - an app's join may not pass its Quota (ErrQuota);
//   - a room whose options set MaxParticipants takes no one past it
//     (ErrRoomFull; QoS probes are not counted nor refused);
//   - in an audio space (ModeAudioSpace) an anonymous join may only
//     listen (viewer; ErrRoleNotAllowed otherwise), and a join that asks
//     no role listens too, unless it is an app's first (the host);
//   - with no role asked, an app's first grant in the room hosts and every
//     other grant is a participant; anonymous joins never host.
//
// The record is persisted (Store.PutSession) before it is added, so a
// store error (returned as is) leaves no trace.
func (b *Book) Admit(a Admission) (Record, error) {
	now := b.p.Clock()
	anonymous := a.App == ""
	if anonymous && (a.Role == grant.RoleHost || a.Role == grant.RolePresenter) {
		return Record{}, fmt.Errorf("%w: anonymous joins may be participants or viewers only", ErrRoleNotAllowed)
	}
	jti, err := NewID()
	if err != nil {
		return Record{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.rooms[a.Room]
	if !ok || !r.hasNode(a.NodeID) {
		return Record{}, fmt.Errorf("room %s is not placed on media node %s", a.Room, a.NodeID)
	}
	keys := []string{"id:" + a.Identity}
	if anonymous {
		keys = append(keys, "ip:"+a.IP)
	}
	if until, banned := b.bannedUntil(a.Room, now, keys...); banned {
		return Record{}, &BanError{Until: until}
	}
	if !anonymous {
		if err := b.checkQuota(a, now); err != nil {
			return Record{}, err
		}
	}
	if !a.Probe {
		if err := b.checkCapacity(r, a.Room, a.Identity, now); err != nil {
			return Record{}, err
		}
	}
	role := a.Role
	if role == grant.RoleRelay {
		return Record{}, fmt.Errorf("%w: relay grants are issued by AdmitRelay only", ErrRoleNotAllowed)
	}
	space := b.options[a.Room].Mode == ModeAudioSpace
	if space && anonymous && role != "" && role != grant.RoleViewer {
		return Record{}, fmt.Errorf("%w: in an audio space anonymous joins listen (viewer); the host invites to the stage", ErrRoleNotAllowed)
	}
	if role == "" {
		role = grant.RoleParticipant
		if space {
			role = grant.RoleViewer // a listener; the host invites to the stage
		}
		// An app's first (visible) participant hosts; a hidden session
		// (a recorder, say) never does, nor counts as first.
		first := true
		for _, m := range r.members {
			first = first && (m.Hidden || m.Role == grant.RoleRelay || m.Probe)
		}
		if !anonymous && first && !a.Hidden {
			role = grant.RoleHost
		}
	}
	rec := &Record{JTI: jti, Room: a.Room, Identity: a.Identity, NodeID: a.NodeID, Role: role, App: a.App, BillApp: a.BillApp, ClientIP: a.IP,
		IssuedAt: now, ExpiresAt: now.Add(b.p.GrantTTL), ClientKey: a.ClientKey, Probe: a.Probe, Hidden: a.Hidden && !anonymous}
	if err := b.save(*rec); err != nil {
		return Record{}, err
	}
	r.members = append(r.members, rec)
	b.sessions[jti] = rec
	return *rec, nil
}

func (b *Book) save(rec Record) error {
	if b.p.Store == nil {
		return nil
	}
	if err := b.p.Store.PutSession(rec); err != nil {
		return fmt.Errorf("save session %s: %w", rec.JTI, err)
	}
	return nil
}

// checkQuota is called with b.mu held.
func (b *Book) checkQuota(a Admission, now time.Time) error {
	q := a.Quota
	if q.MaxRooms <= 0 && q.MaxSessions <= 0 {
		return nil
	}
	sessions, rooms, inRoom := 0, 0, false
	for name, r := range b.rooms {
		live := false
		for _, m := range r.members {
			if m.App == a.App && m.ExpiresAt.After(now) {
				sessions++
				live = true
			}
		}
		if live {
			rooms++
			inRoom = inRoom || name == a.Room
		}
	}
	if q.MaxSessions > 0 && sessions >= q.MaxSessions {
		return fmt.Errorf("%w: the API key of %s has %d live grants, its limit", ErrQuota, a.App, sessions)
	}
	if q.MaxRooms > 0 && !inRoom && rooms >= q.MaxRooms {
		return fmt.Errorf("%w: the API key of %s has live grants in %d rooms, its limit", ErrQuota, a.App, rooms)
	}
	return nil
}

// bannedUntil returns the latest ban on any of keys in room still in
// force; b.mu held.
func (b *Book) bannedUntil(roomName string, now time.Time, keys ...string) (time.Time, bool) {
	var latest time.Time
	for _, k := range keys {
		if until, ok := b.bans[roomName][k]; ok && until.After(now) && until.After(latest) {
			latest = until
		}
	}
	return latest, !latest.IsZero()
}

// Session returns a copy of the record of grant jti.
func (b *Book) Session(jti string) (Record, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.sessions[jti]
	if !ok {
		return Record{}, false
	}
	return *s, true
}

// SetRole records identity's new role on each of its grants in room
// (persisted). Anonymous identities cannot become host or presenter
// (ErrRoleNotAllowed).
func (b *Book) SetRole(roomName, identity string, role grant.Role) error {
	if IsAnonymous(identity) && (role == grant.RoleHost || role == grant.RolePresenter) {
		return fmt.Errorf("%w: anonymous participants cannot be made host or presenter", ErrRoleNotAllowed)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.rooms[roomName]
	if !ok {
		return nil
	}
	for _, m := range r.members {
		if m.Identity == identity && m.Role != role {
			next := *m
			next.Role = role
			if err := b.save(next); err != nil {
				return err
			}
			*m = next
		}
	}
	return nil
}

// Hidden reports whether identity's sessions in room are hidden (its
// latest grant's Record.Hidden).
func (b *Book) Hidden(roomName, identity string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.rooms[roomName]
	if !ok {
		return false
	}
	hidden := false
	for _, m := range r.members {
		if m.Identity == identity {
			hidden = m.Hidden
		}
	}
	return hidden
}

// SetHidden records that identity's sessions in room are hidden or shown
// (PATCH … permission.hidden), so its next grant and role changes keep it.
func (b *Book) SetHidden(roomName, identity string, hidden bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.rooms[roomName]
	if !ok {
		return nil
	}
	for _, m := range r.members {
		if m.Identity == identity && m.Hidden != hidden {
			next := *m
			next.Hidden = hidden
			if err := b.save(next); err != nil {
				return err
			}
			*m = next
		}
	}
	return nil
}

// Ban refuses joins of identity to room until its last grant there
// expires (at least GrantTTL from now), and for an anonymous identity
// also joins from the addresses it joined from. The bans are persisted;
// until is when they end.
func (b *Book) Ban(roomName, identity string) (until time.Time, err error) {
	now := b.p.Clock()
	until = now.Add(b.p.GrantTTL)
	b.mu.Lock()
	defer b.mu.Unlock()
	var ips []string
	if r, ok := b.rooms[roomName]; ok {
		for _, m := range r.members {
			if m.Identity != identity {
				continue
			}
			if m.ExpiresAt.After(until) {
				until = m.ExpiresAt
			}
			if m.App == "" && m.ClientIP != "" {
				ips = append(ips, m.ClientIP)
			}
		}
	}
	bans := []Ban{{Room: roomName, Key: "id:" + identity, Until: until}}
	for _, ip := range ips {
		bans = append(bans, Ban{Room: roomName, Key: "ip:" + ip, Until: until})
	}
	for _, ban := range bans {
		if b.p.Store != nil {
			if err := b.p.Store.PutBan(ban); err != nil {
				return time.Time{}, fmt.Errorf("save ban: %w", err)
			}
		}
		b.setBan(ban)
	}
	return until, nil
}

// Stats records a client's cumulative stats report on its grant's record
// (persisted). Figures below those already recorded are ignored (the
// counters only grow).
func (b *Book) Stats(jti string, bytesReceived, framesDecoded uint64) error {
	now := b.p.Clock()
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.sessions[jti]
	if !ok {
		return fmt.Errorf("no session %s", jti)
	}
	next := *s
	next.LastStats = now
	next.BytesReceived = max(next.BytesReceived, bytesReceived)
	next.FramesDecoded = max(next.FramesDecoded, framesDecoded)
	if err := b.save(next); err != nil {
		return err
	}
	*s = next
	return nil
}

// StatementSlack is how far a usage statement's elapsed time may run ahead
// of the orchestrator's clock since the grant was issued.
const StatementSlack = 10 * time.Second

// Errors of Statement.
var (
	// ErrNotAttested: the grant binds no client key, so it takes unsigned
	// stats (Stats) only.
	ErrNotAttested = errors.New("the grant binds no client key")
	// ErrBadStatement: the statement's signature, sequence number or
	// elapsed time is wrong.
	ErrBadStatement = errors.New("invalid usage statement")
)

// Statement records a client's signed usage statement on its grant's
// record (persisted) after checking it: the record binds a client key
// (else ErrNotAttested) and sig is that key's signature of st for the
// Book's chain; st.Seq is above the last statement's; st.ElapsedMs is not
// below the last statement's and not ahead of the time since the grant
// was issued by more than StatementSlack. Errors other than the store's
// wrap ErrBadStatement.
func (b *Book) Statement(st *format.UsageStatement, sig []byte) error {
	now := b.p.Clock()
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.sessions[st.GrantId]
	if !ok {
		return fmt.Errorf("no session %s", st.GrantId)
	}
	if len(s.ClientKey) == 0 {
		return ErrNotAttested
	}
	switch {
	case !st.Verify(s.ClientKey, b.p.ChainID, sig):
		return fmt.Errorf("%w: the signature does not verify with the key the grant binds", ErrBadStatement)
	case st.Seq <= s.StatementSeq:
		return fmt.Errorf("%w: seq %d is not above the last one (%d)", ErrBadStatement, st.Seq, s.StatementSeq)
	case int64(st.ElapsedMs) < s.ClientElapsedMs:
		return fmt.Errorf("%w: elapsed_ms %d is below the last statement's %d", ErrBadStatement, st.ElapsedMs, s.ClientElapsedMs)
	case st.ElapsedMs > uint64(max(now.Sub(s.IssuedAt)+StatementSlack, 0).Milliseconds()):
		return fmt.Errorf("%w: elapsed_ms %d is more than the time since the grant was issued", ErrBadStatement, st.ElapsedMs)
	}
	next := *s
	next.StatementSeq, next.ClientElapsedMs, next.LastStats = st.Seq, int64(st.ElapsedMs), now
	next.Statement, next.StatementSig = st, sig
	next.BytesReceived = max(next.BytesReceived, st.BytesReceived)
	next.FramesDecoded = max(next.FramesDecoded, st.FramesDecoded)
	if err := b.save(next); err != nil {
		return err
	}
	*s = next
	return nil
}

// Names returns the rooms' names, sorted.
func (b *Book) Names() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, 0, len(b.rooms))
	for n := range b.rooms {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Prune forgets records whose grants expired more than Keep ago, bans no
// longer in force and rooms left without records. (The store keeps its
// own copies until it prunes them itself.)
func (b *Book) Prune() {
	now := b.p.Clock()
	b.mu.Lock()
	defer b.mu.Unlock()
	for jti, s := range b.sessions {
		if now.Sub(s.ExpiresAt) > b.p.Keep {
			delete(b.sessions, jti)
		}
	}
	for roomName, m := range b.bans {
		for k, until := range m {
			if !until.After(now) {
				delete(m, k)
			}
		}
		if len(m) == 0 {
			delete(b.bans, roomName)
		}
	}
	b.pruneOptions(now)
	for name, r := range b.rooms {
		live := r.members[:0]
		for _, s := range r.members {
			if _, ok := b.sessions[s.JTI]; ok {
				live = append(live, s)
			}
		}
		clear(r.members[len(live):])
		r.members = live
		if len(live) == 0 {
			delete(b.rooms, name)
		}
	}
}

// Present is a participant as its media node lists it.
type Present struct {
	Identity string
	Role     grant.Role
	JoinedAt time.Time
}

// Successor returns who becomes host of a room whose participants are ps
// (DESIGN.md §3 roles): nobody if one of them hosts; otherwise the
// longest present (ties: smallest identity) that may host — WHEP
// sessions (identity containing '#') and anonymous identities never do.
func Successor(ps []Present) (identity string, ok bool) {
	var best *Present
	for i := range ps {
		p := &ps[i]
		if p.Role == grant.RoleHost {
			return "", false
		}
		if strings.Contains(p.Identity, "#") || IsAnonymous(p.Identity) {
			continue
		}
		if best == nil || p.JoinedAt.Before(best.JoinedAt) || (p.JoinedAt.Equal(best.JoinedAt) && p.Identity < best.Identity) {
			best = p
		}
	}
	if best == nil {
		return "", false
	}
	return best.Identity, true
}

// NewID returns 128 random bits, hex.
func NewID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// RelayIdentityPrefix starts the identity of a relay grant: "relay:" and
// the pulling media node's ID.
const RelayIdentityPrefix = "relay:"

// AdmitRelay records a relay grant for a cascade relay leg (DESIGN.md §4):
// media node puller pulls room from media node server, both of them nodes
// the room is placed on. The leg is a session of server's, billed to
// billApp like the participants it serves; receipts for it are checked as
// any session's. Errors: the room is not placed on both nodes, or the
// store's.
func (b *Book) AdmitRelay(roomName, server, puller, billApp string) (Record, error) {
	if server == puller {
		return Record{}, fmt.Errorf("a media node does not relay to itself")
	}
	now := b.p.Clock()
	jti, err := NewID()
	if err != nil {
		return Record{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.rooms[roomName]
	if !ok || !r.hasNode(server) || !r.hasNode(puller) {
		return Record{}, fmt.Errorf("room %s is not placed on both media nodes %s and %s", roomName, server, puller)
	}
	rec := &Record{JTI: jti, Room: roomName, Identity: RelayIdentityPrefix + puller, NodeID: server, Role: grant.RoleRelay, BillApp: billApp,
		IssuedAt: now, ExpiresAt: now.Add(b.p.GrantTTL)}
	if err := b.save(*rec); err != nil {
		return Record{}, err
	}
	r.members = append(r.members, rec)
	b.sessions[jti] = rec
	return *rec, nil
}

// RelayPendingFor is how long a relay grant that has not connected yet
// counts as a leg on its way (RelayLive).
const RelayPendingFor = 30 * time.Second

// RelayLive reports whether a relay leg from server to puller in room is
// connected, or was granted less than RelayPendingFor ago and has not
// connected yet.
func (b *Book) RelayLive(roomName, server, puller string) bool {
	now := b.p.Clock()
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.rooms[roomName]
	if !ok {
		return false
	}
	for _, m := range r.members {
		if m.Role != grant.RoleRelay || m.NodeID != server || m.Identity != RelayIdentityPrefix+puller {
			continue
		}
		if !m.LiveSince.IsZero() || (m.ConnectedAt.IsZero() && now.Sub(m.IssuedAt) < RelayPendingFor) {
			return true
		}
	}
	return false
}

// NodeOf returns the media node of identity's latest grant in room (a
// cascaded room's participants are on different nodes), or fallback if
// the Book has none.
func (b *Book) NodeOf(roomName, identity, fallback string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.rooms[roomName]
	if !ok {
		return fallback
	}
	for i := len(r.members) - 1; i >= 0; i-- {
		if m := r.members[i]; m.Identity == identity && m.Role != grant.RoleRelay {
			return m.NodeID
		}
	}
	return fallback
}

// BillApp is the on-chain app billed for room's first grant (what its
// relay legs are billed to when no join names one), "" if none.
func (b *Book) BillApp(roomName string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r, ok := b.rooms[roomName]; ok {
		for _, m := range r.members {
			if m.Role != grant.RoleRelay {
				return m.BillApp
			}
		}
	}
	return ""
}

// RelayRecords returns the relay grants of room (AdmitRelay), in issue
// order.
func (b *Book) RelayRecords(roomName string) []Record {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.rooms[roomName]
	if !ok {
		return nil
	}
	var out []Record
	for _, m := range r.members {
		if m.Role == grant.RoleRelay {
			out = append(out, *m)
		}
	}
	return out
}

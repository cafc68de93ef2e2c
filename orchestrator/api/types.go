// Package api is the orchestrator's public HTTP API (DESIGN.md §3): join
// grants, room administration, client stats, node info, health and the
// OpenAPI document at /v1/openapi.json.
package api

import (
	"context"

	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/orchestrator/selector"
	"github.com/chroom/chroom/orchestrator/session"
)

// NodeInfo is a registry node as the API needs it.
type NodeInfo struct {
	ID, Type, Status, Operator, Moniker, Region string
	Endpoints                                   []string
	MaxSessions                                 uint32
	MaxEgressKbps                               uint64
	Quality                                     float64
}

// Directory is the orchestrator's view of x/registry.
type Directory interface {
	// ActiveMediaNodes and ActiveOrchestrators list ACTIVE nodes.
	ActiveMediaNodes() []NodeInfo
	ActiveOrchestrators() []NodeInfo
	Node(id string) (NodeInfo, bool)
	Ready() bool
}

// Loads gives media nodes' last signed load reports.
type Loads interface {
	Load(nodeID string) (*selector.Load, bool)
}

// Participant is a participant as a media node reports it.
type Participant struct {
	Identity       string  `json:"identity"`
	Name           string  `json:"name,omitempty"`
	Role           string  `json:"role"`
	JoinedAtUnixMs int64   `json:"joined_at_unix_ms"`
	Tracks         []Track `json:"tracks"`
	// Metadata and Attributes are the app's (PATCH …/participants/{identity}).
	Metadata   string            `json:"metadata,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// ParticipantUpdate changes a participant: nil fields stay; Attributes
// are merged (an empty value deletes its key).
type ParticipantUpdate struct {
	Name, Metadata *string
	Attributes     map[string]string
}

// ParticipantAdmin is the rest of the Media Node RPC room administration
// (UpdateParticipant, SendData, UpdateSubscriptions); an Admin that
// implements it serves PATCH …/participants/{identity}, POST …/data and
// POST …/subscriptions (501 otherwise).
type ParticipantAdmin interface {
	UpdateParticipant(ctx context.Context, nodeID, room, identity string, u ParticipantUpdate) (Participant, error)
	SendData(ctx context.Context, nodeID, room string, payload []byte, to []string) (delivered int, err error)
	UpdateSubscriptions(ctx context.Context, nodeID, room, identity string, trackIDs []string, subscribe bool) error
}

// Track is a published track.
type Track struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Source string `json:"source"`
	Muted  bool   `json:"muted"`
}

// Admin carries out room administration on a media node (Media Node RPC).
type Admin interface {
	ListParticipants(ctx context.Context, nodeID, room string) ([]Participant, error)
	MuteTrack(ctx context.Context, nodeID, room, identity, trackID string, muted bool) error
	RemoveParticipant(ctx context.Context, nodeID, room, identity string) error
	SetRole(ctx context.Context, nodeID, room, identity string, role grant.Role, perms grant.Permissions) error
	EndRoom(ctx context.Context, nodeID, room string) error
}

// Linker asks media nodes to cascade a room (Media Node RPC LinkRoom); an
// Admin that implements it links the nodes of rooms that span several.
type Linker interface {
	// LinkRoom asks media node nodeID to pull room from media node peerID
	// (signaling WebSocket peerSignalURL) with relayGrant.
	LinkRoom(ctx context.Context, nodeID, room, peerID, peerSignalURL, relayGrant string) error
}

// RoomFinder asks media nodes whether a room is open on them (Media Node
// RPC FindRoom); an Admin that implements it lets this orchestrator take
// over rooms another orchestrator placed (rendezvous takeover).
type RoomFinder interface {
	// FindRoom returns how many of room's participants media node nodeID
	// serves itself (0: not open there).
	FindRoom(ctx context.Context, nodeID, room string) (int, error)
}

// Rewards reads an operator's claimable rewards from the chain.
type Rewards interface {
	Claimable(ctx context.Context, operator string) (amount string, denom string, err error)
}

// Peers reports which orchestrators answer their health checks.
type Peers interface {
	Healthy(id string) bool
}

// Candidates adapts a Directory and Loads to the placement candidates of
// session.Nodes: ACTIVE media nodes with their last load reports.
func Candidates(dir Directory, loads Loads) session.Nodes { return candidates{dir, loads} }

type candidates struct {
	dir   Directory
	loads Loads
}

func (c candidates) Candidates() []selector.Candidate {
	if c.dir == nil {
		return nil
	}
	var out []selector.Candidate
	for _, n := range c.dir.ActiveMediaNodes() {
		cand := selector.Candidate{ID: n.ID, Region: n.Region, Quality: n.Quality, MaxSessions: n.MaxSessions, MaxEgressKbps: n.MaxEgressKbps}
		if c.loads != nil {
			if l, ok := c.loads.Load(n.ID); ok {
				cand.Load = l
			}
		}
		out = append(out, cand)
	}
	return out
}

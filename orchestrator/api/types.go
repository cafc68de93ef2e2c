// Package api is the orchestrator's public HTTP API (DESIGN.md §3): join
// grants, room administration, client stats, node info, health and the
// OpenAPI document at /v1/openapi.json.
package api

import (
	"context"
	"time"

	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/orchestrator/selector"
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

// Rewards reads an operator's claimable rewards from the chain.
type Rewards interface {
	Claimable(ctx context.Context, operator string) (amount string, denom string, err error)
}

// Peers reports which orchestrators answer their health checks.
type Peers interface {
	Healthy(id string) bool
}

// Session is one issued join grant: the orchestrator's own record that
// receipts are checked against.
type Session struct {
	JTI, Room, Identity, NodeID string
	Role                        grant.Role
	// App is the API key's app that asked for the grant; empty for an
	// anonymous join.
	App string `json:",omitempty"`
	// ClientIP is the address the join came from.
	ClientIP            string `json:",omitempty"`
	IssuedAt, ExpiresAt time.Time
	// ConnectedAt and DisconnectedAt come from the media node's session
	// events (zero until reported).
	ConnectedAt, DisconnectedAt time.Time
	// LastStats is when the client last reported stats.
	LastStats                    time.Time
	BytesReceived, FramesDecoded uint64
}

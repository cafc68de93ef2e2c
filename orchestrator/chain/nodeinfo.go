package chain

import (
	sdk "github.com/cosmos/cosmos-sdk/types"

	registrytypes "github.com/chroom/chroom/x/registry/types"
)

// Node types and statuses of NodeInfo, as the orchestrator names them.
const (
	TypeMedia        = "media"
	TypeOrchestrator = "orchestrator"

	StatusActive    = "active"
	StatusJailed    = "jailed"
	StatusUnbonding = "unbonding"
)

// NodeInfo is a registered node as the rest of the orchestrator sees it:
// plain Go values, no chain types.
type NodeInfo struct {
	ID, Type, Status, Operator, Moniker, Region string
	// Endpoints are the registered URLs, in order.
	Endpoints []string
	// MaxSessions and MaxEgressKbps are the capacity: for a media node the
	// part of its declared capacity its stake backs (when the view's
	// source reads params, as Client does).
	MaxSessions   uint32
	MaxEgressKbps uint64
	// Quality is the registry's quality score, 0–1.
	Quality float64
}

func toNodeInfo(n registrytypes.Node) NodeInfo {
	typ := TypeMedia
	if n.NodeType == registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR {
		typ = TypeOrchestrator
	}
	status := map[registrytypes.NodeStatus]string{
		registrytypes.NodeStatus_NODE_STATUS_ACTIVE: StatusActive, registrytypes.NodeStatus_NODE_STATUS_JAILED: StatusJailed,
		registrytypes.NodeStatus_NODE_STATUS_UNBONDING: StatusUnbonding,
	}[n.Status]
	q, _ := n.Stats.QualityScore.Float64()
	return NodeInfo{ID: n.Id, Type: typ, Status: status, Operator: n.Operator, Moniker: n.Moniker, Region: n.Region,
		Endpoints: n.Endpoints, MaxSessions: n.Capacity.MaxSessions, MaxEgressKbps: n.Capacity.MaxEgressKbps, Quality: q}
}

// ActiveNodes returns the ACTIVE nodes of type typ (TypeMedia or
// TypeOrchestrator), in the chain's order.
func (v *View) ActiveNodes(typ string) []NodeInfo {
	t := registrytypes.NodeType_NODE_TYPE_MEDIA
	if typ == TypeOrchestrator {
		t = registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR
	}
	var out []NodeInfo
	for _, n := range v.Nodes(Active(t)) {
		out = append(out, toNodeInfo(n))
	}
	return out
}

// NodeInfo returns the node with ID id, whatever its status.
func (v *View) NodeInfo(id string) (NodeInfo, bool) {
	n, ok := v.Node(id)
	if !ok {
		return NodeInfo{}, false
	}
	return toNodeInfo(n), true
}

// ParseFees parses a fee amount such as "500uchr" (empty: none) for
// SubmitterConfig.Fees. Errors name what is wrong.
func ParseFees(s string) (sdk.Coins, error) {
	return sdk.ParseCoinsNormalized(s)
}

// ParseGasPrices parses gas prices such as "0.01uchr" (empty: none) for
// SubmitterConfig.GasPrices. Errors name what is wrong.
func ParseGasPrices(s string) (sdk.DecCoins, error) {
	return sdk.ParseDecCoins(s)
}

// AllNodes returns every registered node (any status), in the chain's order.
func (v *View) AllNodes() []NodeInfo {
	var out []NodeInfo
	for _, n := range v.Nodes(nil) {
		out = append(out, toNodeInfo(n))
	}
	return out
}

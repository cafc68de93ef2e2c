package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module name.
	ModuleName = "verification"
	// StoreKey is the KV store key.
	StoreKey = ModuleName
)

// Store prefixes. Never renumber.
var (
	ParamsKey              = collections.NewPrefix(0)
	ReplayMarkersKey       = collections.NewPrefix(1)
	NodeTalliesKey         = collections.NewPrefix(2)
	OrchestratorTalliesKey = collections.NewPrefix(3)
	EpochTotalsKey         = collections.NewPrefix(4)
	EquivocationsKey       = collections.NewPrefix(5)
	ProbeAssignmentsKey    = collections.NewPrefix(6)
	ProbesKey              = collections.NewPrefix(7)
	NodeHealthKey          = collections.NewPrefix(8)
	QualityHistoryKey      = collections.NewPrefix(9)
)

// ProbeJailReason is the reason recorded when failed QoS probes jail a node.
const ProbeJailReason = "failed QoS probes"

// EquivocationReason is the reason recorded in a node's slash history.
const EquivocationReason = "equivocation"

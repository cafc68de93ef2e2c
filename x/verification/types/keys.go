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
)

// EquivocationReason is the reason recorded in a node's slash history.
const EquivocationReason = "equivocation"

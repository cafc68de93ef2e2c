package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module name; also its module account, which holds
	// every node's stake.
	ModuleName = "registry"
	// StoreKey is the KV store key.
	StoreKey = ModuleName
)

// Store prefixes. Never renumber: they are part of the on-disk state.
var (
	ParamsKey          = collections.NewPrefix(0)
	NodesKey           = collections.NewPrefix(1)
	NodesByOperatorKey = collections.NewPrefix(2)
	NodesByCountryKey  = collections.NewPrefix(3)
	NodesByStatusKey   = collections.NewPrefix(4)
	NodesByTypeKey     = collections.NewPrefix(5)
	UnbondingQueueKey  = collections.NewPrefix(6)
)

// Limits on node metadata, checked on every message.
const (
	// MaxMonikerLength is the longest moniker, in bytes (as x/staking).
	MaxMonikerLength = 70
	// MaxEndpoints is the most endpoints a node may list.
	MaxEndpoints = 16
	// MaxEndpointLength is the longest endpoint URL, in bytes.
	MaxEndpointLength = 512
	// MaxSlashHistory is how many slash records a node keeps (newest last).
	MaxSlashHistory = 16
	// MaxReasonLength bounds a slash or jail reason, in bytes.
	MaxReasonLength = 64
)

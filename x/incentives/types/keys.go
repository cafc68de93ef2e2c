package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module name; its module account holds the reward
	// pool and every unclaimed reward.
	ModuleName = "incentives"
	// StoreKey is the KV store key.
	StoreKey = ModuleName
)

// Store prefixes. Never renumber.
var (
	ParamsKey         = collections.NewPrefix(0)
	PoolKey           = collections.NewPrefix(1)
	ClaimableKey      = collections.NewPrefix(2)
	EpochFeesKey      = collections.NewPrefix(3)
	SummariesKey      = collections.NewPrefix(4)
	PendingKey        = collections.NewPrefix(5)
	TotalClaimableKey = collections.NewPrefix(6)
	AppsKey           = collections.NewPrefix(7)
	EscrowedKey       = collections.NewPrefix(8)
)

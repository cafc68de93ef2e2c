package types

import (
	"time"

	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
)

// Default params.
const (
	// DefaultStakeDenom is the denom stake is bonded in.
	DefaultStakeDenom = "uchr"
	// DefaultUnbondingPeriod keeps a deregistered node's stake slashable
	// for a week, long enough to submit equivocation evidence.
	DefaultUnbondingPeriod = 7 * 24 * time.Hour
	// DefaultJailDuration is how long a slashed node waits before unjailing.
	DefaultJailDuration = 24 * time.Hour
	// DefaultMaxUnbondingPerBlock bounds end-blocker work per block.
	DefaultMaxUnbondingPerBlock = 100
	// MaxMaxUnbondingPerBlock is the highest max_unbonding_per_block
	// governance may set.
	MaxMaxUnbondingPerBlock = 10_000
)

var (
	// DefaultMinStakeMediaNode is 1 CHR.
	DefaultMinStakeMediaNode = sdk.NewCoin(DefaultStakeDenom, sdkmath.NewInt(1_000_000))
	// DefaultMinStakeOrchestrator is 5 CHR: orchestrators countersign the
	// receipts that rewards are paid on.
	DefaultMinStakeOrchestrator = sdk.NewCoin(DefaultStakeDenom, sdkmath.NewInt(5_000_000))
)

// DefaultParams returns the default x/registry params.
func DefaultParams() Params {
	return Params{
		MinStakeMediaNode:    DefaultMinStakeMediaNode,
		MinStakeOrchestrator: DefaultMinStakeOrchestrator,
		UnbondingPeriod:      DefaultUnbondingPeriod,
		JailDuration:         DefaultJailDuration,
		MaxUnbondingPerBlock: DefaultMaxUnbondingPerBlock,
	}
}

// Validate checks the params: valid minimum stakes in one denom, positive
// durations, and 1 ≤ max_unbonding_per_block ≤ 10000.
func (p Params) Validate() error {
	if err := p.MinStakeMediaNode.Validate(); err != nil {
		return errorsmod.Wrapf(ErrInvalidParams, "min_stake_media_node: %s", err)
	}
	if err := p.MinStakeOrchestrator.Validate(); err != nil {
		return errorsmod.Wrapf(ErrInvalidParams, "min_stake_orchestrator: %s", err)
	}
	if p.MinStakeMediaNode.Denom != p.MinStakeOrchestrator.Denom {
		return errorsmod.Wrapf(ErrInvalidParams, "min_stake_media_node denom %q differs from min_stake_orchestrator denom %q",
			p.MinStakeMediaNode.Denom, p.MinStakeOrchestrator.Denom)
	}
	if p.UnbondingPeriod <= 0 {
		return errorsmod.Wrapf(ErrInvalidParams, "unbonding_period must be positive, got %s", p.UnbondingPeriod)
	}
	if p.JailDuration <= 0 {
		return errorsmod.Wrapf(ErrInvalidParams, "jail_duration must be positive, got %s", p.JailDuration)
	}
	if p.MaxUnbondingPerBlock == 0 || p.MaxUnbondingPerBlock > MaxMaxUnbondingPerBlock {
		return errorsmod.Wrapf(ErrInvalidParams, "max_unbonding_per_block must be in [1, %d], got %d",
			MaxMaxUnbondingPerBlock, p.MaxUnbondingPerBlock)
	}
	return nil
}

// StakeDenom is the denom nodes bond.
func (p Params) StakeDenom() string { return p.MinStakeMediaNode.Denom }

// MinStake returns the minimum stake of a node type.
func (p Params) MinStake(t NodeType) sdk.Coin {
	if t == NodeType_NODE_TYPE_ORCHESTRATOR {
		return p.MinStakeOrchestrator
	}
	return p.MinStakeMediaNode
}

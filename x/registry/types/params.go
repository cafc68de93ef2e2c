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
	// DefaultStakePerSession is 0.01 CHR: the minimum media node stake (1
	// CHR) backs 100 concurrent sessions, 5 CHR back 500.
	DefaultStakePerSession = sdk.NewCoin(DefaultStakeDenom, sdkmath.NewInt(10_000))
	// DefaultStakePerEgressMbps is 0.005 CHR: 1 CHR backs 200 Mbit/s, 5
	// CHR back 1 Gbit/s.
	DefaultStakePerEgressMbps = sdk.NewCoin(DefaultStakeDenom, sdkmath.NewInt(5_000))
)

// DefaultParams returns the default x/registry params.
func DefaultParams() Params {
	return Params{
		MinStakeMediaNode:    DefaultMinStakeMediaNode,
		MinStakeOrchestrator: DefaultMinStakeOrchestrator,
		UnbondingPeriod:      DefaultUnbondingPeriod,
		JailDuration:         DefaultJailDuration,
		MaxUnbondingPerBlock: DefaultMaxUnbondingPerBlock,
		StakePerSession:      DefaultStakePerSession,
		StakePerEgressMbps:   DefaultStakePerEgressMbps,
	}
}

// Validate checks the params: valid minimum stakes in one denom, positive
// durations, 1 ≤ max_unbonding_per_block ≤ 10000, and stake_per_session and
// stake_per_egress_mbps either zero or valid coins of the stake denom.
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
	for _, b := range []struct {
		name string
		c    sdk.Coin
	}{{"stake_per_session", p.StakePerSession}, {"stake_per_egress_mbps", p.StakePerEgressMbps}} {
		if isZeroCoin(b.c) {
			continue
		}
		if err := b.c.Validate(); err != nil {
			return errorsmod.Wrapf(ErrInvalidParams, "%s: %s", b.name, err)
		}
		if b.c.Denom != p.StakeDenom() {
			return errorsmod.Wrapf(ErrInvalidParams, "%s denom %q is not the stake denom %q", b.name, b.c.Denom, p.StakeDenom())
		}
	}
	return nil
}

// isZeroCoin reports whether c has no amount (unset, as in genesis files
// from before the param existed, or zero).
func isZeroCoin(c sdk.Coin) bool { return c.Amount.IsNil() || c.Amount.IsZero() }

// BackedCapacity returns the part of a media node's declared capacity its
// stake backs: max_sessions up to floor(stake / stake_per_session) and
// max_egress_kbps up to floor(stake × 1000 / stake_per_egress_mbps); a zero
// param leaves that limit as declared. x/verification credits receipts
// against this capacity only, so capacity declared beyond the stake earns
// nothing. Integer arithmetic; deterministic.
func (p Params) BackedCapacity(n Node) Capacity {
	c := n.Capacity
	stake := n.Stake.Amount
	if stake.IsNil() || n.Stake.Denom != p.StakeDenom() {
		stake = sdkmath.ZeroInt()
	}
	if !isZeroCoin(p.StakePerSession) {
		if backed := stake.Quo(p.StakePerSession.Amount); backed.LT(sdkmath.NewIntFromUint64(uint64(c.MaxSessions))) {
			c.MaxSessions = uint32(backed.Uint64())
		}
	}
	if !isZeroCoin(p.StakePerEgressMbps) {
		if backed := stake.MulRaw(1000).Quo(p.StakePerEgressMbps.Amount); backed.LT(sdkmath.NewIntFromUint64(c.MaxEgressKbps)) {
			c.MaxEgressKbps = backed.Uint64()
		}
	}
	return c
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

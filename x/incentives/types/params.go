package types

import (
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
)

// Defaults.
const (
	// DefaultEpochIdentifier is the x/epochs epoch rewards follow.
	DefaultEpochIdentifier = "chroom"
	// DefaultMaxPayoutsPerBlock bounds payout work per block.
	DefaultMaxPayoutsPerBlock = 500
	// RewardDenom is the denom of emission, fees and rewards.
	RewardDenom = "uchr"
)

var (
	// DefaultEmissionPerEpoch is 100 CHR per epoch.
	DefaultEmissionPerEpoch = sdk.NewCoin(RewardDenom, sdkmath.NewInt(100_000_000))
	// DefaultOrchestratorShare gives orchestrators 10% of each budget.
	DefaultOrchestratorShare = sdkmath.LegacyNewDecWithPrec(10, 2)
)

// DefaultParams returns the default params.
func DefaultParams() Params {
	return Params{
		EpochIdentifier:    DefaultEpochIdentifier,
		EmissionPerEpoch:   DefaultEmissionPerEpoch,
		OrchestratorShare:  DefaultOrchestratorShare,
		MaxPayoutsPerBlock: DefaultMaxPayoutsPerBlock,
	}
}

// Validate checks the params.
func (p Params) Validate() error {
	if p.EpochIdentifier == "" {
		return errorsmod.Wrap(ErrInvalidParams, "epoch_identifier is empty")
	}
	if err := p.EmissionPerEpoch.Validate(); err != nil || p.EmissionPerEpoch.Denom != RewardDenom {
		return errorsmod.Wrapf(ErrInvalidParams, "emission_per_epoch must be a valid amount of %s, got %s", RewardDenom, p.EmissionPerEpoch)
	}
	s := p.OrchestratorShare
	if s.IsNil() || s.IsNegative() || s.GT(sdkmath.LegacyOneDec()) {
		return errorsmod.Wrapf(ErrInvalidParams, "orchestrator_share must be in [0, 1], got %s", s)
	}
	if p.MaxPayoutsPerBlock == 0 || p.MaxPayoutsPerBlock > 100_000 {
		return errorsmod.Wrapf(ErrInvalidParams, "max_payouts_per_block must be in [1, 100000], got %d", p.MaxPayoutsPerBlock)
	}
	return nil
}

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
	// DefaultFeeBurnFraction burns half of every epoch's fees.
	DefaultFeeBurnFraction = sdkmath.LegacyNewDecWithPrec(50, 2)
	// DefaultEmissionPerFee mints 0.4 uchr per uchr of fees (up to
	// emission_per_epoch): paying fees returns at most 1 − 0.5 + 0.4 = 0.9
	// of them at full quality.
	DefaultEmissionPerFee = sdkmath.LegacyNewDecWithPrec(40, 2)
)

// DefaultParams returns the default params.
func DefaultParams() Params {
	return Params{
		EpochIdentifier:    DefaultEpochIdentifier,
		EmissionPerEpoch:   DefaultEmissionPerEpoch,
		OrchestratorShare:  DefaultOrchestratorShare,
		MaxPayoutsPerBlock: DefaultMaxPayoutsPerBlock,
		FeeBurnFraction:    DefaultFeeBurnFraction,
		EmissionPerFee:     DefaultEmissionPerFee,
	}
}

// Emission is an epoch's emission for fees of that epoch:
// min(emission_per_epoch, floor(emission_per_fee × fees)), or
// emission_per_epoch when emission_per_fee is zero.
func (p Params) Emission(fees sdkmath.Int) sdkmath.Int {
	m := p.EmissionPerFee
	if m.IsNil() || m.IsZero() {
		return p.EmissionPerEpoch.Amount
	}
	return sdkmath.MinInt(p.EmissionPerEpoch.Amount, m.MulInt(fees).TruncateInt())
}

// Burn is the part of fees burned: floor(fee_burn_fraction × fees).
func (p Params) Burn(fees sdkmath.Int) sdkmath.Int {
	b := p.FeeBurnFraction
	if b.IsNil() || b.IsZero() {
		return sdkmath.ZeroInt()
	}
	return b.MulInt(fees).TruncateInt()
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
	b, m := p.FeeBurnFraction, p.EmissionPerFee
	if b.IsNil() || b.IsNegative() || b.GT(sdkmath.LegacyOneDec()) {
		return errorsmod.Wrapf(ErrInvalidParams, "fee_burn_fraction must be in [0, 1], got %s", b)
	}
	if m.IsNil() || m.IsNegative() {
		return errorsmod.Wrapf(ErrInvalidParams, "emission_per_fee must be ≥ 0, got %s", m)
	}
	// m < b: a party paying itself fees for fake sessions gets back at
	// most (1 − b + m) of them (1 − b + m/q̄ against honest quality q̄).
	if m.IsPositive() && !m.LT(b) {
		return errorsmod.Wrapf(ErrInvalidParams, "emission_per_fee (%s) must be below fee_burn_fraction (%s), or fake usage would pay", m, b)
	}
	return nil
}

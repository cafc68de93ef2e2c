package types

import (
	errorsmod "cosmossdk.io/errors"
	sdk "github.com/cosmos/cosmos-sdk/types"
)

// DefaultGenesis returns default params and an empty pool.
func DefaultGenesis() *GenesisState {
	return &GenesisState{Params: DefaultParams(), Pool: sdk.NewInt64Coin(RewardDenom, 0)}
}

// Validate checks params, amounts and uniqueness.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	if err := gs.Pool.Validate(); err != nil || gs.Pool.Denom != RewardDenom {
		return errorsmod.Wrapf(ErrInvalidGenesis, "pool must be a valid amount of %s", RewardDenom)
	}
	seen := map[string]bool{}
	for i, c := range gs.Claimables {
		if _, err := sdk.AccAddressFromBech32(c.Operator); err != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "claimables[%d]: %s", i, err)
		}
		if seen[c.Operator] {
			return errorsmod.Wrapf(ErrInvalidGenesis, "claimables[%d]: %s appears twice", i, c.Operator)
		}
		seen[c.Operator] = true
		if err := c.Amount.Validate(); err != nil || c.Amount.Denom != RewardDenom || !c.Amount.IsPositive() {
			return errorsmod.Wrapf(ErrInvalidGenesis, "claimables[%d]: amount must be a positive amount of %s", i, RewardDenom)
		}
	}
	for i, s := range gs.Summaries {
		if s.Epoch <= 0 || s.MediaWeight.IsNil() {
			return errorsmod.Wrapf(ErrInvalidGenesis, "summaries[%d] is malformed", i)
		}
	}
	for i, f := range gs.Fees {
		if f.Epoch <= 0 || f.Amount.Validate() != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "fees[%d] is malformed", i)
		}
	}
	return nil
}

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
	apps := map[string]bool{}
	for i, a := range gs.Apps {
		if err := ValidateAppID(a.AppId); err != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "apps[%d]: %s", i, err)
		}
		if apps[a.AppId] {
			return errorsmod.Wrapf(ErrInvalidGenesis, "apps[%d]: %s appears twice", i, a.AppId)
		}
		apps[a.AppId] = true
		if _, err := sdk.AccAddressFromBech32(a.Owner); err != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "apps[%d].owner: %s", i, err)
		}
		for _, c := range []sdk.Coin{a.Balance, a.Spent} {
			if c.Validate() != nil || c.Denom != RewardDenom {
				return errorsmod.Wrapf(ErrInvalidGenesis, "apps[%d]: balance and spent must be amounts of %s", i, RewardDenom)
			}
		}
		if orchs, err := NormalizeOrchestrators(a.OrchestratorIds); err != nil || len(orchs) != len(a.OrchestratorIds) {
			return errorsmod.Wrapf(ErrInvalidGenesis, "apps[%d].orchestrator_ids must be sorted, unique, at most %d", i, MaxAppOrchestrators)
		}
	}
	return nil
}

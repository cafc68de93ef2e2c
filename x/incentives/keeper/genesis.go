package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/chroom/chroom/x/incentives/types"
)

// InitGenesis validates and loads gs. The epoch identifier must exist in
// x/epochs (whose genesis runs first), and the module account must hold
// pool + Σ claimable + Σ app balances.
func (k Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return err
	}
	if _, err := k.epochs.GetEpochInfo(sdk.UnwrapSDKContext(ctx), gs.Params.EpochIdentifier); err != nil {
		return errorsmod.Wrapf(types.ErrInvalidGenesis, "x/epochs genesis has no %q epoch; add it to epochs.epochs", gs.Params.EpochIdentifier)
	}
	if err := k.params.Set(ctx, gs.Params); err != nil {
		return err
	}
	if err := k.pool.Set(ctx, gs.Pool.Amount); err != nil {
		return err
	}
	total := sdkmath.ZeroInt()
	for _, c := range gs.Claimables {
		addr, err := k.addressCodec.StringToBytes(c.Operator)
		if err != nil {
			return err
		}
		if err := k.claimable.Set(ctx, addr, c.Amount.Amount); err != nil {
			return err
		}
		total = total.Add(c.Amount.Amount)
	}
	if err := k.totalClaimable.Set(ctx, total); err != nil {
		return err
	}
	for _, s := range gs.Summaries {
		if err := k.summaries.Set(ctx, s.Epoch, s); err != nil {
			return err
		}
		if s.Phase != types.PayoutPhase_PAYOUT_PHASE_DONE {
			if err := k.pending.Set(ctx, s.Epoch); err != nil {
				return err
			}
		}
	}
	for _, f := range gs.Fees {
		if err := k.fees.Set(ctx, f.Epoch, f.Amount.Amount); err != nil {
			return err
		}
	}
	for _, a := range gs.Apps {
		if err := k.setApp(ctx, a, a.Balance.Amount); err != nil {
			return err
		}
	}
	if err := k.PoolInvariant(ctx); err != nil {
		return errorsmod.Wrap(types.ErrInvalidGenesis, err.Error())
	}
	return nil
}

// ExportGenesis exports the whole state in key order.
func (k Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	p, err := k.params.Get(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := k.Pool(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: p, Pool: sdk.NewCoin(types.RewardDenom, pool)}
	err = k.claimable.Walk(ctx, nil, func(addr sdk.AccAddress, v sdkmath.Int) (bool, error) {
		gs.Claimables = append(gs.Claimables, types.Claimable{Operator: addr.String(), Amount: sdk.NewCoin(types.RewardDenom, v)})
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	err = k.summaries.Walk(ctx, nil, func(_ int64, s types.EpochSummary) (bool, error) {
		gs.Summaries = append(gs.Summaries, s)
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	err = k.fees.Walk(ctx, nil, func(e int64, v sdkmath.Int) (bool, error) {
		gs.Fees = append(gs.Fees, types.EpochFees{Epoch: e, Amount: sdk.NewCoin(types.RewardDenom, v)})
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	err = k.apps.Walk(ctx, nil, func(_ string, a types.App) (bool, error) {
		gs.Apps = append(gs.Apps, a)
		return false, nil
	})
	return gs, err
}

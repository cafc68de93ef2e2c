package keeper

import (
	"context"
	"fmt"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/chroom/chroom/x/incentives/types"
)

// PoolInvariant checks pool + Σ claimable + Σ app balances = module
// balance (DESIGN.md §2) and that the kept totals equal their sums. It walks every claimable
// balance: for tests, genesis and simulations, not blockers.
func (k Keeper) PoolInvariant(ctx context.Context) error {
	pool, err := k.Pool(ctx)
	if err != nil {
		return err
	}
	sum := sdkmath.ZeroInt()
	err = k.claimable.Walk(ctx, nil, func(_ sdk.AccAddress, v sdkmath.Int) (bool, error) {
		sum = sum.Add(v)
		return false, nil
	})
	if err != nil {
		return err
	}
	total, err := k.TotalClaimable(ctx)
	if err != nil {
		return err
	}
	if !total.Equal(sum) {
		return fmt.Errorf("total claimable %s differs from the sum of claimable balances %s", total, sum)
	}
	escrow := sdkmath.ZeroInt()
	err = k.apps.Walk(ctx, nil, func(_ string, a types.App) (bool, error) {
		escrow = escrow.Add(a.Balance.Amount)
		return false, nil
	})
	if err != nil {
		return err
	}
	kept, err := k.Escrowed(ctx)
	if err != nil {
		return err
	}
	if !kept.Equal(escrow) {
		return fmt.Errorf("escrow total %s differs from the sum of app balances %s", kept, escrow)
	}
	balance := k.bank.GetBalance(ctx, authtypes.NewModuleAddress(types.ModuleName), types.RewardDenom)
	if !pool.Add(sum).Add(escrow).Equal(balance.Amount) {
		return fmt.Errorf("pool %s + claimable %s + app escrow %s != module balance %s", pool, sum, escrow, balance)
	}
	return nil
}

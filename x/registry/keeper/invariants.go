package keeper

import (
	"context"
	"fmt"

	sdkmath "cosmossdk.io/math"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/chroom/chroom/x/registry/types"
)

// StakeInvariant checks that the module account holds exactly the sum of
// every node's stake (ACTIVE, JAILED and UNBONDING) in the stake denom, and
// that every UNBONDING node is in the unbonding queue and nothing else is.
// It walks all nodes: for tests, genesis and simulations, not blockers.
func (k Keeper) StakeInvariant(ctx context.Context) error {
	params, err := k.params.Get(ctx)
	if err != nil {
		return err
	}
	total := sdkmath.ZeroInt()
	unbonding := 0
	err = k.IterateNodes(ctx, func(n types.Node) (bool, error) {
		total = total.Add(n.Stake.Amount)
		if n.Status == types.NodeStatus_NODE_STATUS_UNBONDING {
			unbonding++
			ok, err := k.unbondingQueue.Has(ctx, unbondingKey(n))
			if err != nil {
				return true, err
			}
			if !ok {
				return true, fmt.Errorf("unbonding node %s is missing from the unbonding queue", n.Id)
			}
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	queued, err := k.UnbondingQueueLength(ctx)
	if err != nil {
		return err
	}
	if queued != unbonding {
		return fmt.Errorf("unbonding queue holds %d entries but %d nodes are unbonding", queued, unbonding)
	}
	balance := k.bank.GetBalance(ctx, authtypes.NewModuleAddress(types.ModuleName), params.StakeDenom())
	if !balance.Amount.Equal(total) {
		return fmt.Errorf("registry module account holds %s but nodes' stake sums to %s%s", balance, total, params.StakeDenom())
	}
	return nil
}

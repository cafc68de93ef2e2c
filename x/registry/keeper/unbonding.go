package keeper

import (
	"context"
	"time"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/chroom/chroom/x/registry/types"
)

// EndBlocker completes due unbondings: for at most max_unbonding_per_block
// queue entries whose completion time is at or before the block time, it
// returns the node's remaining stake to its operator and removes the node
// from the registry. Entries beyond the bound wait for the next block, so
// the work per block is bounded whatever the queue length.
func (k Keeper) EndBlocker(ctx context.Context) error {
	params, err := k.params.Get(ctx)
	if err != nil {
		return err
	}
	_, err = k.CompleteUnbondings(ctx, params.MaxUnbondingPerBlock)
	return err
}

// CompleteUnbondings completes at most limit due unbondings (see
// EndBlocker) and returns how many it completed.
func (k Keeper) CompleteUnbondings(ctx context.Context, limit uint32) (int, error) {
	now := sdk.UnwrapSDKContext(ctx).BlockTime()
	var due []collections.Pair[time.Time, string]
	err := k.unbondingQueue.Walk(ctx, nil, func(key collections.Pair[time.Time, string]) (bool, error) {
		if key.K1().After(now) || uint32(len(due)) >= limit {
			return true, nil
		}
		due = append(due, key)
		return false, nil
	})
	if err != nil {
		return 0, err
	}
	for _, key := range due {
		if err := k.completeUnbonding(ctx, key); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

func (k Keeper) completeUnbonding(ctx context.Context, key collections.Pair[time.Time, string]) error {
	if err := k.unbondingQueue.Remove(ctx, key); err != nil {
		return err
	}
	node, err := k.GetNode(ctx, key.K2())
	if err != nil {
		return errorsmod.Wrapf(err, "unbonding queue entry %s", key.K2())
	}
	if node.Stake.IsPositive() {
		operator, err := sdk.AccAddressFromBech32(node.Operator)
		if err != nil {
			return err
		}
		if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, operator, sdk.NewCoins(node.Stake)); err != nil {
			return errorsmod.Wrapf(err, "return stake of node %s", node.Id)
		}
	}
	if err := k.nodes.Remove(ctx, node.Id); err != nil {
		return err
	}
	return emitUnbondingCompleted(ctx, node)
}

// UnbondingQueueLength returns the number of queued unbondings. It walks
// the queue: for tests and queries, not for blockers.
func (k Keeper) UnbondingQueueLength(ctx context.Context) (int, error) {
	n := 0
	err := k.unbondingQueue.Walk(ctx, nil, func(collections.Pair[time.Time, string]) (bool, error) {
		n++
		return false, nil
	})
	return n, err
}

// unbondingKey returns the unbonding queue key of an UNBONDING node.
func unbondingKey(n types.Node) collections.Pair[time.Time, string] {
	return collections.Join(n.UnbondingCompletionTime, n.Id)
}

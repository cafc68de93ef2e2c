package keeper

import (
	"context"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"

	"github.com/chroom/chroom/x/registry/types"
)

// InitGenesis validates gs, stores its params and nodes, and rebuilds the
// unbonding queue from the UNBONDING nodes. The module account's balance
// (set by x/bank's genesis, which runs first) must equal the sum of the
// nodes' stake, or the chain would start insolvent.
func (k Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return err
	}
	if err := k.params.Set(ctx, gs.Params); err != nil {
		return err
	}
	for _, n := range gs.Nodes {
		if err := k.setNode(ctx, n); err != nil {
			return err
		}
		if n.Status == types.NodeStatus_NODE_STATUS_UNBONDING {
			if err := k.unbondingQueue.Set(ctx, collections.Join(n.UnbondingCompletionTime, n.Id)); err != nil {
				return err
			}
		}
	}
	if err := k.StakeInvariant(ctx); err != nil {
		return errorsmod.Wrap(types.ErrInvalidGenesis, err.Error())
	}
	return nil
}

// ExportGenesis returns the params and every node, in node ID order.
func (k Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	params, err := k.params.Get(ctx)
	if err != nil {
		return nil, err
	}
	nodes := []types.Node{}
	err = k.IterateNodes(ctx, func(n types.Node) (bool, error) {
		nodes = append(nodes, n)
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return &types.GenesisState{Params: params, Nodes: nodes}, nil
}

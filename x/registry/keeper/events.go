package keeper

import (
	"context"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/gogoproto/proto"

	"github.com/chroom/chroom/x/registry/types"
)

// emit emits a typed proto event on the context's event manager.
func emit(ctx context.Context, ev proto.Message) error {
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(ev)
}

func emitNodeRegistered(ctx context.Context, n types.Node) error {
	return emit(ctx, &types.EventNodeRegistered{
		NodeId: n.Id, Operator: n.Operator, NodeType: n.NodeType, Region: n.Region, Stake: n.Stake,
	})
}

func emitNodeUpdated(ctx context.Context, n types.Node) error {
	return emit(ctx, &types.EventNodeUpdated{NodeId: n.Id, Operator: n.Operator})
}

func emitStakeAdded(ctx context.Context, n types.Node, amount sdk.Coin) error {
	return emit(ctx, &types.EventStakeAdded{NodeId: n.Id, Amount: amount, Total: n.Stake})
}

func emitNodeDeregistered(ctx context.Context, n types.Node) error {
	return emit(ctx, &types.EventNodeDeregistered{
		NodeId: n.Id, Operator: n.Operator, CompletionTime: n.UnbondingCompletionTime,
	})
}

func emitUnbondingCompleted(ctx context.Context, n types.Node) error {
	return emit(ctx, &types.EventUnbondingCompleted{NodeId: n.Id, Operator: n.Operator, Returned: n.Stake})
}

func emitNodeSlashed(ctx context.Context, n types.Node, fraction sdkmath.LegacyDec, burned sdk.Coin, reason string) error {
	return emit(ctx, &types.EventNodeSlashed{NodeId: n.Id, Fraction: fraction.String(), Burned: burned, Reason: reason})
}

func emitNodeJailed(ctx context.Context, n types.Node, reason string) error {
	return emit(ctx, &types.EventNodeJailed{NodeId: n.Id, JailedUntil: n.JailedUntil, Reason: reason})
}

func emitNodeUnjailed(ctx context.Context, n types.Node) error {
	return emit(ctx, &types.EventNodeUnjailed{NodeId: n.Id, Operator: n.Operator})
}

func emitParamsUpdated(ctx context.Context, authority string) error {
	return emit(ctx, &types.EventParamsUpdated{Authority: authority})
}

package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/chroom/chroom/x/registry/types"
)

type msgServer struct {
	k Keeper
}

var _ types.MsgServer = msgServer{}

// NewMsgServerImpl returns the x/registry Msg service. The rules live in
// the keeper; each method checks, calls the keeper, and answers.
func NewMsgServerImpl(k Keeper) types.MsgServer {
	return msgServer{k: k}
}

// RegisterNode implements types.MsgServer.
func (s msgServer) RegisterNode(ctx context.Context, msg *types.MsgRegisterNode) (*types.MsgRegisterNodeResponse, error) {
	id, err := s.k.RegisterNode(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgRegisterNodeResponse{NodeId: id}, nil
}

// UpdateNode implements types.MsgServer.
func (s msgServer) UpdateNode(ctx context.Context, msg *types.MsgUpdateNode) (*types.MsgUpdateNodeResponse, error) {
	if err := s.k.UpdateNode(ctx, msg); err != nil {
		return nil, err
	}
	return &types.MsgUpdateNodeResponse{}, nil
}

// AddStake implements types.MsgServer.
func (s msgServer) AddStake(ctx context.Context, msg *types.MsgAddStake) (*types.MsgAddStakeResponse, error) {
	total, err := s.k.AddStake(ctx, msg.Operator, msg.NodeId, msg.Amount)
	if err != nil {
		return nil, err
	}
	return &types.MsgAddStakeResponse{Total: total}, nil
}

// DeregisterNode implements types.MsgServer.
func (s msgServer) DeregisterNode(ctx context.Context, msg *types.MsgDeregisterNode) (*types.MsgDeregisterNodeResponse, error) {
	completion, err := s.k.DeregisterNode(ctx, msg.Operator, msg.NodeId)
	if err != nil {
		return nil, err
	}
	return &types.MsgDeregisterNodeResponse{CompletionTime: completion}, nil
}

// Unjail implements types.MsgServer.
func (s msgServer) Unjail(ctx context.Context, msg *types.MsgUnjail) (*types.MsgUnjailResponse, error) {
	if err := s.k.Unjail(ctx, msg.Operator, msg.NodeId); err != nil {
		return nil, err
	}
	return &types.MsgUnjailResponse{}, nil
}

// UpdateParams implements types.MsgServer. Only the authority (gov) may
// call it; the new params must validate.
func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if err := sdk.ValidateAuthority(sdk.UnwrapSDKContext(ctx), s.k.authority, msg.Authority); err != nil {
		return nil, err
	}
	current, err := s.k.Params(ctx)
	if err != nil {
		return nil, err
	}
	if msg.Params.StakeDenom() != current.StakeDenom() {
		return nil, errorsmod.Wrapf(types.ErrInvalidParams, "the stake denom cannot change (from %s to %s): nodes hold stake in it",
			current.StakeDenom(), msg.Params.StakeDenom())
	}
	if err := s.k.SetParams(ctx, msg.Params); err != nil {
		return nil, err
	}
	if err := emitParamsUpdated(ctx, msg.Authority); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, nil
}

package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/chroom/chroom/x/incentives/types"
)

type msgServer struct{ k Keeper }

var _ types.MsgServer = msgServer{}

// NewMsgServerImpl returns the x/incentives Msg service.
func NewMsgServerImpl(k Keeper) types.MsgServer { return msgServer{k: k} }

// FundPool implements types.MsgServer.
func (s msgServer) FundPool(ctx context.Context, msg *types.MsgFundPool) (*types.MsgFundPoolResponse, error) {
	if err := s.k.FundPool(ctx, msg.Funder, msg.Amount); err != nil {
		return nil, err
	}
	return &types.MsgFundPoolResponse{}, nil
}

// ClaimRewards implements types.MsgServer.
func (s msgServer) ClaimRewards(ctx context.Context, msg *types.MsgClaimRewards) (*types.MsgClaimRewardsResponse, error) {
	amount, err := s.k.ClaimRewards(ctx, msg.Operator)
	if err != nil {
		return nil, err
	}
	return &types.MsgClaimRewardsResponse{Amount: amount}, nil
}

// UpdateParams implements types.MsgServer (gov only).
func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	if err := sdk.ValidateAuthority(sdkCtx, s.k.authority, msg.Authority); err != nil {
		return nil, err
	}
	current, err := s.k.Params(ctx)
	if err != nil {
		return nil, err
	}
	if msg.Params.EpochIdentifier != current.EpochIdentifier {
		return nil, errorsmod.Wrapf(types.ErrInvalidParams, "epoch_identifier cannot change (from %q to %q): epoch numbers in state refer to it",
			current.EpochIdentifier, msg.Params.EpochIdentifier)
	}
	if err := s.k.SetParams(ctx, msg.Params); err != nil {
		return nil, err
	}
	if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventParamsUpdated{Authority: msg.Authority}); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, nil
}

// CreateApp implements types.MsgServer.
func (s msgServer) CreateApp(ctx context.Context, msg *types.MsgCreateApp) (*types.MsgCreateAppResponse, error) {
	if err := s.k.CreateApp(ctx, msg.Owner, msg.AppId, msg.OrchestratorIds); err != nil {
		return nil, err
	}
	return &types.MsgCreateAppResponse{}, nil
}

// FundApp implements types.MsgServer.
func (s msgServer) FundApp(ctx context.Context, msg *types.MsgFundApp) (*types.MsgFundAppResponse, error) {
	bal, err := s.k.FundApp(ctx, msg.Funder, msg.AppId, msg.Amount)
	if err != nil {
		return nil, err
	}
	return &types.MsgFundAppResponse{Balance: bal}, nil
}

// WithdrawApp implements types.MsgServer.
func (s msgServer) WithdrawApp(ctx context.Context, msg *types.MsgWithdrawApp) (*types.MsgWithdrawAppResponse, error) {
	bal, err := s.k.WithdrawApp(ctx, msg.Owner, msg.AppId, msg.Amount)
	if err != nil {
		return nil, err
	}
	return &types.MsgWithdrawAppResponse{Balance: bal}, nil
}

// UpdateApp implements types.MsgServer.
func (s msgServer) UpdateApp(ctx context.Context, msg *types.MsgUpdateApp) (*types.MsgUpdateAppResponse, error) {
	if err := s.k.UpdateApp(ctx, msg.Owner, msg.AppId, msg.OrchestratorIds); err != nil {
		return nil, err
	}
	return &types.MsgUpdateAppResponse{}, nil
}

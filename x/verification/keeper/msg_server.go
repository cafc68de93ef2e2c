package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/chroom/chroom/x/verification/types"
)

type msgServer struct{ k Keeper }

var _ types.MsgServer = msgServer{}

// NewMsgServerImpl returns the x/verification Msg service.
func NewMsgServerImpl(k Keeper) types.MsgServer { return msgServer{k: k} }

// SubmitReceipts implements types.MsgServer.
func (s msgServer) SubmitReceipts(ctx context.Context, msg *types.MsgSubmitReceipts) (*types.MsgSubmitReceiptsResponse, error) {
	accepted, rejected, err := s.k.SubmitReceipts(ctx, msg.Submitter, msg.Receipts)
	if err != nil {
		return nil, err
	}
	return &types.MsgSubmitReceiptsResponse{Accepted: accepted, Rejected: rejected}, nil
}

// SubmitEvidence implements types.MsgServer.
func (s msgServer) SubmitEvidence(ctx context.Context, msg *types.MsgSubmitEvidence) (*types.MsgSubmitEvidenceResponse, error) {
	slashed, bounty, err := s.k.SubmitEvidence(ctx, msg.Reporter, msg.ReceiptA, msg.ReceiptB)
	if err != nil {
		return nil, err
	}
	return &types.MsgSubmitEvidenceResponse{SlashedNodeIds: slashed, Bounty: bounty}, nil
}

// SubmitProbe implements types.MsgServer.
func (s msgServer) SubmitProbe(ctx context.Context, msg *types.MsgSubmitProbe) (*types.MsgSubmitProbeResponse, error) {
	q, err := s.k.SubmitProbe(ctx, msg.Submitter, msg.Probe)
	if err != nil {
		return nil, err
	}
	return &types.MsgSubmitProbeResponse{Quality: q}, nil
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

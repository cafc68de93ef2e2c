package keeper

import (
	"context"
	"errors"

	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chroom/chroom/x/incentives/types"
)

type queryServer struct{ k Keeper }

var _ types.QueryServer = queryServer{}

// NewQueryServer returns the x/incentives Query service.
func NewQueryServer(k Keeper) types.QueryServer { return queryServer{k: k} }

// Pool implements types.QueryServer.
func (q queryServer) Pool(ctx context.Context, _ *types.QueryPoolRequest) (*types.QueryPoolResponse, error) {
	pool, err := q.k.Pool(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	claimable, err := q.k.TotalClaimable(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryPoolResponse{
		Pool:          sdk.NewCoin(types.RewardDenom, pool),
		Claimable:     sdk.NewCoin(types.RewardDenom, claimable),
		ModuleBalance: q.k.bank.GetBalance(ctx, authtypes.NewModuleAddress(types.ModuleName), types.RewardDenom),
	}, nil
}

// EpochSummary implements types.QueryServer.
func (q queryServer) EpochSummary(ctx context.Context, req *types.QueryEpochSummaryRequest) (*types.QueryEpochSummaryResponse, error) {
	if req == nil || req.Epoch <= 0 {
		return nil, status.Error(codes.InvalidArgument, "epoch must be positive")
	}
	s, err := q.k.Summary(ctx, req.Epoch)
	if errors.Is(err, types.ErrSummaryNotFound) {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryEpochSummaryResponse{Summary: s}, nil
}

// Rewards implements types.QueryServer.
func (q queryServer) Rewards(ctx context.Context, req *types.QueryRewardsRequest) (*types.QueryRewardsResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	addr, err := q.k.addressCodec.StringToBytes(req.Operator)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "operator %q: %s", req.Operator, err)
	}
	c, err := q.k.Claimable(ctx, addr)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryRewardsResponse{Claimable: sdk.NewCoin(types.RewardDenom, c)}, nil
}

// Params implements types.QueryServer.
func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.k.params.Get(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

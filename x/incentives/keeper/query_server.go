package keeper

import (
	"context"
	"errors"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"
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
	escrowed, err := q.k.Escrowed(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryPoolResponse{
		Escrowed:      sdk.NewCoin(types.RewardDenom, escrowed),
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

// App implements types.QueryServer.
func (q queryServer) App(ctx context.Context, req *types.QueryAppRequest) (*types.QueryAppResponse, error) {
	if req == nil || req.AppId == "" {
		return nil, status.Error(codes.InvalidArgument, "app_id is required")
	}
	a, err := q.k.App(ctx, req.AppId)
	if errors.Is(err, types.ErrAppNotFound) {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryAppResponse{App: a}, nil
}

// Apps implements types.QueryServer (paginated, in app ID order).
func (q queryServer) Apps(ctx context.Context, req *types.QueryAppsRequest) (*types.QueryAppsResponse, error) {
	var page *query.PageRequest
	if req != nil {
		page = req.Pagination
	}
	apps, res, err := query.CollectionPaginate(ctx, q.k.apps, page,
		func(_ string, a types.App) (types.App, error) { return a, nil })
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryAppsResponse{Apps: apps, Pagination: res}, nil
}

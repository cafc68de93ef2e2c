package keeper

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/x/verification/types"
)

type queryServer struct{ k Keeper }

var _ types.QueryServer = queryServer{}

// NewQueryServer returns the x/verification Query service.
func NewQueryServer(k Keeper) types.QueryServer { return queryServer{k: k} }

// NodeEpoch implements types.QueryServer.
func (q queryServer) NodeEpoch(ctx context.Context, req *types.QueryNodeEpochRequest) (*types.QueryNodeEpochResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	if err := format.ValidateNodeID(req.NodeId); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if req.Epoch <= 0 {
		return nil, status.Errorf(codes.InvalidArgument, "epoch must be positive, got %d", req.Epoch)
	}
	t, err := q.k.NodeTally(ctx, req.Epoch, req.NodeId)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryNodeEpochResponse{Tally: t}, nil
}

// EpochTotals implements types.QueryServer.
func (q queryServer) EpochTotals(ctx context.Context, req *types.QueryEpochTotalsRequest) (*types.QueryEpochTotalsResponse, error) {
	if req == nil || req.Epoch <= 0 {
		return nil, status.Error(codes.InvalidArgument, "epoch must be positive")
	}
	t, err := q.k.EpochTotals(ctx, req.Epoch)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryEpochTotalsResponse{Totals: t}, nil
}

// Params implements types.QueryServer.
func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.k.params.Get(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

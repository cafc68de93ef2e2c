package keeper

import (
	"context"

	"cosmossdk.io/collections"
	"github.com/cosmos/cosmos-sdk/types/query"

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

// ProbeAssignments implements types.QueryServer.
func (q queryServer) ProbeAssignments(ctx context.Context, req *types.QueryProbeAssignmentsRequest) (*types.QueryProbeAssignmentsResponse, error) {
	if req == nil || req.Epoch <= 0 {
		return nil, status.Error(codes.InvalidArgument, "epoch must be positive")
	}
	list, page, err := query.CollectionPaginate(ctx, q.k.probeAssignments, req.Pagination,
		func(_ collections.Pair[int64, string], a types.ProbeAssignment) (types.ProbeAssignment, error) {
			return a, nil
		},
		query.WithCollectionPaginationPairPrefix[int64, string](req.Epoch))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	out := &types.QueryProbeAssignmentsResponse{Assignments: list, Pagination: page, Probes: []types.ProbeRecord{}}
	for _, a := range list {
		rec, err := q.k.probes.Get(ctx, collections.Join(a.Epoch, a.MediaNodeId))
		if err == nil {
			out.Probes = append(out.Probes, rec)
		} else if !isNotFound(err) {
			return nil, status.Error(codes.Internal, err.Error())
		}
	}
	return out, nil
}

// NodeHealth implements types.QueryServer.
func (q queryServer) NodeHealth(ctx context.Context, req *types.QueryNodeHealthRequest) (*types.QueryNodeHealthResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	if err := format.ValidateNodeID(req.NodeId); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	h, err := q.k.NodeHealth(ctx, req.NodeId)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	p, err := q.k.params.Get(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	out := &types.QueryNodeHealthResponse{Health: h, RecentProbes: []types.ProbeRecord{}, History: []types.QualityPoint{}}
	err = q.k.qualityHistory.Walk(ctx, collections.NewPrefixedPairRange[string, int64](req.NodeId).Descending(), func(_ collections.Pair[string, int64], pt types.QualityPoint) (bool, error) {
		out.History = append(out.History, pt)
		return len(out.History) >= int(p.QualityHistoryEpochs), nil
	})
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	// The node's probes of the last quality_history_epochs epochs.
	current, _, err := q.k.CurrentEpoch(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	for e := current; e >= 1 && e > current-int64(p.QualityHistoryEpochs); e-- {
		rec, err := q.k.probes.Get(ctx, collections.Join(e, req.NodeId))
		if err == nil {
			out.RecentProbes = append(out.RecentProbes, rec)
		} else if !isNotFound(err) {
			return nil, status.Error(codes.Internal, err.Error())
		}
	}
	return out, nil
}

package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	"cosmossdk.io/collections/indexes"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chroom/chroom/x/registry/types"
)

// MaxPageLimit is the largest page a Nodes or NodesByOperator query
// returns; larger limits are refused so query work stays bounded.
const MaxPageLimit = 1000

type queryServer struct {
	k Keeper
}

var _ types.QueryServer = queryServer{}

// NewQueryServer returns the x/registry Query service.
func NewQueryServer(k Keeper) types.QueryServer {
	return queryServer{k: k}
}

// Node implements types.QueryServer. Errors: InvalidArgument for a
// malformed node ID, NotFound for an unknown one.
func (q queryServer) Node(ctx context.Context, req *types.QueryNodeRequest) (*types.QueryNodeResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	if err := types.ValidateNodeID(req.NodeId); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	n, err := q.k.nodes.Get(ctx, req.NodeId)
	if errors.Is(err, collections.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "no node with id %s", req.NodeId)
	}
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryNodeResponse{Node: n}, nil
}

// Nodes implements types.QueryServer. It walks the most selective index
// the filters allow — region, then status, then type — and filters the
// rest, so a page costs O(limit) reads when the index matches well.
func (q queryServer) Nodes(ctx context.Context, req *types.QueryNodesRequest) (*types.QueryNodesResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	if err := checkPage(req.Pagination); err != nil {
		return nil, err
	}
	req.Pagination = defaultPage(req.Pagination)
	if req.NodeType != types.NodeType_NODE_TYPE_UNSPECIFIED {
		if err := types.ValidateNodeType(req.NodeType); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
	}
	if _, ok := types.NodeStatus_name[int32(req.Status)]; !ok {
		return nil, status.Errorf(codes.InvalidArgument, "status %d is not a node status", req.Status)
	}
	if req.Region != "" {
		if err := types.ValidateRegion(req.Region); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
	}
	match := func(n types.Node) bool {
		if req.NodeType != types.NodeType_NODE_TYPE_UNSPECIFIED && n.NodeType != req.NodeType {
			return false
		}
		if req.Status != types.NodeStatus_NODE_STATUS_UNSPECIFIED && n.Status != req.Status {
			return false
		}
		// A country filter also matches its sub-regions.
		if req.Region != "" && n.Region != req.Region && (req.Region != types.Country(req.Region) || types.Country(n.Region) != req.Region) {
			return false
		}
		return true
	}

	var (
		nodes   []types.Node
		pageRes *query.PageResponse
		err     error
	)
	switch {
	case req.Region != "":
		nodes, pageRes, err = paginateIndex(ctx, q.k, q.k.nodes.Indexes.Country, types.Country(req.Region), req.Pagination, match)
	case req.Status != types.NodeStatus_NODE_STATUS_UNSPECIFIED:
		nodes, pageRes, err = paginateIndex(ctx, q.k, q.k.nodes.Indexes.Status, int32(req.Status), req.Pagination, match)
	case req.NodeType != types.NodeType_NODE_TYPE_UNSPECIFIED:
		nodes, pageRes, err = paginateIndex(ctx, q.k, q.k.nodes.Indexes.Type, int32(req.NodeType), req.Pagination, match)
	default:
		nodes, pageRes, err = query.CollectionPaginate(ctx, q.k.nodes, req.Pagination,
			func(_ string, n types.Node) (types.Node, error) { return n, nil })
	}
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryNodesResponse{Nodes: nodes, Pagination: pageRes}, nil
}

// NodesByOperator implements types.QueryServer.
func (q queryServer) NodesByOperator(ctx context.Context, req *types.QueryNodesByOperatorRequest) (*types.QueryNodesByOperatorResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	if err := checkPage(req.Pagination); err != nil {
		return nil, err
	}
	req.Pagination = defaultPage(req.Pagination)
	operator, err := q.k.addressCodec.StringToBytes(req.Operator)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "operator %q: %s", req.Operator, err)
	}
	nodes, pageRes, err := paginateIndex(ctx, q.k, q.k.nodes.Indexes.Operator, sdk.AccAddress(operator), req.Pagination,
		func(types.Node) bool { return true })
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryNodesByOperatorResponse{Nodes: nodes, Pagination: pageRes}, nil
}

// Params implements types.QueryServer.
func (q queryServer) Params(ctx context.Context, req *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	p, err := q.k.params.Get(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

// defaultPage is used when a request has no pagination: the SDK default
// would also count the total, which walks the whole index.
func defaultPage(p *query.PageRequest) *query.PageRequest {
	if p == nil {
		return &query.PageRequest{Limit: query.DefaultLimit}
	}
	return p
}

func checkPage(p *query.PageRequest) error {
	if p != nil && p.Limit > MaxPageLimit {
		return status.Errorf(codes.InvalidArgument, "pagination limit %d is above the maximum of %d", p.Limit, MaxPageLimit)
	}
	return nil
}

// paginateIndex pages through the nodes a multi-index holds under ref,
// keeping those match accepts. Each node is read once.
func paginateIndex[R any](
	ctx context.Context,
	k Keeper,
	index *indexes.Multi[R, string, types.Node],
	ref R,
	page *query.PageRequest,
	match func(types.Node) bool,
) ([]types.Node, *query.PageResponse, error) {
	var current types.Node
	return query.CollectionFilteredPaginate(ctx, index, page,
		func(key collections.Pair[R, string], _ collections.NoValue) (bool, error) {
			n, err := k.nodes.Get(ctx, key.K2())
			if err != nil {
				return false, err
			}
			current = n
			return match(n), nil
		},
		func(key collections.Pair[R, string], _ collections.NoValue) (types.Node, error) {
			// The transform runs right after the predicate accepted key.
			if current.Id != key.K2() {
				return k.nodes.Get(ctx, key.K2())
			}
			return current, nil
		},
		query.WithCollectionPaginationPairPrefix[R, string](ref),
	)
}

package keeper_test

import (
	"testing"

	"github.com/cosmos/cosmos-sdk/types/query"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chroom/chroom/testutil/sample"
	"github.com/chroom/chroom/x/registry/keeper"
	"github.com/chroom/chroom/x/registry/types"
)

func nodeIDs(nodes []types.Node) []string {
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.Id
	}
	return ids
}

func TestQueries(t *testing.T) {
	f := newFixture(t)
	q := keeper.NewQueryServer(f.Keeper)
	de := f.register(t, 1, "DE")
	deBy := f.register(t, 2, "DE-BY")
	fr := f.register(t, 3, "FR")
	orch := sample.RegisterMediaNode(f.other, 4, "DE")
	orch.NodeType = types.NodeType_NODE_TYPE_ORCHESTRATOR
	orchRes, err := f.msgs.RegisterNode(f.Ctx, orch)
	require.NoError(t, err)
	_, err = f.Keeper.Slash(f.Ctx, fr, sample.Uchr(0).Amount.ToLegacyDec(), "test")
	require.NoError(t, err)

	t.Run("node", func(t *testing.T) {
		res, err := q.Node(f.Ctx, &types.QueryNodeRequest{NodeId: de})
		require.NoError(t, err)
		require.Equal(t, "DE", res.Node.Region)
		_, err = q.Node(f.Ctx, &types.QueryNodeRequest{NodeId: sample.NodeKey(77).ID})
		require.Equal(t, codes.NotFound, status.Code(err))
		_, err = q.Node(f.Ctx, &types.QueryNodeRequest{NodeId: "abc"})
		require.Equal(t, codes.InvalidArgument, status.Code(err))
	})

	tests := []struct {
		name string
		req  *types.QueryNodesRequest
		want []string
	}{
		{"all", &types.QueryNodesRequest{}, sortedIDs(de, deBy, fr, orchRes.NodeId)},
		{"country matches sub-regions", &types.QueryNodesRequest{Region: "DE"}, sortedIDs(de, deBy, orchRes.NodeId)},
		{"exact sub-region", &types.QueryNodesRequest{Region: "DE-BY"}, []string{deBy}},
		{"region and type", &types.QueryNodesRequest{Region: "DE", NodeType: types.NodeType_NODE_TYPE_MEDIA}, sortedIDs(de, deBy)},
		{"status", &types.QueryNodesRequest{Status: types.NodeStatus_NODE_STATUS_JAILED}, []string{fr}},
		{"status and type", &types.QueryNodesRequest{Status: types.NodeStatus_NODE_STATUS_ACTIVE, NodeType: types.NodeType_NODE_TYPE_ORCHESTRATOR}, []string{orchRes.NodeId}},
		{"type", &types.QueryNodesRequest{NodeType: types.NodeType_NODE_TYPE_MEDIA}, sortedIDs(de, deBy, fr)},
		{"no match", &types.QueryNodesRequest{Region: "JP"}, []string{}},
	}
	for _, tc := range tests {
		t.Run("nodes "+tc.name, func(t *testing.T) {
			res, err := q.Nodes(f.Ctx, tc.req)
			require.NoError(t, err)
			require.Equal(t, tc.want, append([]string{}, nodeIDs(res.Nodes)...))
		})
	}

	t.Run("nodes pages through a filtered index", func(t *testing.T) {
		var got []string
		var key []byte
		for {
			res, err := q.Nodes(f.Ctx, &types.QueryNodesRequest{Region: "DE", Pagination: &query.PageRequest{Key: key, Limit: 1}})
			require.NoError(t, err)
			got = append(got, nodeIDs(res.Nodes)...)
			key = res.Pagination.NextKey
			if key == nil {
				break
			}
		}
		require.Equal(t, sortedIDs(de, deBy, orchRes.NodeId), got)
	})

	t.Run("nodes rejects bad filters", func(t *testing.T) {
		for _, req := range []*types.QueryNodesRequest{
			{Region: "Germany"},
			{NodeType: 9},
			{Status: 9},
			{Pagination: &query.PageRequest{Limit: keeper.MaxPageLimit + 1}},
		} {
			_, err := q.Nodes(f.Ctx, req)
			require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", req)
		}
	})

	t.Run("nodes by operator", func(t *testing.T) {
		res, err := q.NodesByOperator(f.Ctx, &types.QueryNodesByOperatorRequest{Operator: f.operator.String()})
		require.NoError(t, err)
		require.Equal(t, sortedIDs(de, deBy, fr), nodeIDs(res.Nodes))
		_, err = q.NodesByOperator(f.Ctx, &types.QueryNodesByOperatorRequest{Operator: "bad"})
		require.Equal(t, codes.InvalidArgument, status.Code(err))
	})

	t.Run("params", func(t *testing.T) {
		res, err := q.Params(f.Ctx, &types.QueryParamsRequest{})
		require.NoError(t, err)
		require.Equal(t, types.DefaultParams(), res.Params)
	})
}

func sortedIDs(ids ...string) []string {
	out := append([]string{}, ids...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

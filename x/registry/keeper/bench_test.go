package keeper_test

import (
	"fmt"
	"testing"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	testkeeper "github.com/chroom/chroom/testutil/keeper"
	"github.com/chroom/chroom/testutil/sample"
	"github.com/chroom/chroom/x/registry/keeper"
	"github.com/chroom/chroom/x/registry/types"
)

// benchRegions spreads nodes over 20 countries, so one country holds 1/20
// of the registry.
var benchRegions = []string{"DE", "FR", "US", "GB", "JP", "BR", "IN", "CA", "AU", "NL",
	"SE", "PL", "ES", "IT", "KR", "SG", "ZA", "MX", "AR", "NG"}

// registryWithNodes loads n nodes through genesis; when unbonding, every
// node is UNBONDING and due at the genesis time.
func registryWithNodes(b *testing.B, n int, unbonding bool) *testkeeper.Registry {
	b.Helper()
	r := testkeeper.NewRegistry(b)
	gs := types.DefaultGenesis()
	for i := 0; i < n; i++ {
		k := sample.NodeKey(i)
		node := types.Node{
			Id: k.ID, NodeType: types.NodeType_NODE_TYPE_MEDIA, Operator: sample.AccAddress(i % 100).String(),
			Pubkey: k.PublicKey, Moniker: fmt.Sprintf("node-%d", i),
			Endpoints: []string{fmt.Sprintf("https://n%d.example.com", i), fmt.Sprintf("turn:n%d.example.com:3478", i)},
			Region:    benchRegions[i%len(benchRegions)], Capacity: types.Capacity{MaxSessions: 500, MaxEgressKbps: 1_000_000},
			Stake: sample.Uchr(1_000_000), Status: types.NodeStatus_NODE_STATUS_ACTIVE,
			Stats: types.NodeStats{QualityScore: sdkmath.LegacyOneDec()},
		}
		if unbonding {
			node.Status = types.NodeStatus_NODE_STATUS_UNBONDING
			node.UnbondingCompletionTime = testkeeper.GenesisTime
		}
		gs.Nodes = append(gs.Nodes, node)
	}
	r.Bank.Fund(authtypes.NewModuleAddress(types.ModuleName), sdk.NewCoins(sample.Uchr(int64(n)*1_000_000)))
	if err := r.Keeper.InitGenesis(r.Ctx, gs); err != nil {
		b.Fatal(err)
	}
	r.Commit() // measure reads of committed state, as on a running chain
	return r
}

// BenchmarkNodesQueryByRegion measures one 100-node page of ACTIVE media
// nodes in one country over 10,000 registered nodes (goal ≤ 10 ms).
func BenchmarkNodesQueryByRegion(b *testing.B) {
	r := registryWithNodes(b, 10_000, false)
	q := keeper.NewQueryServer(r.Keeper)
	req := &types.QueryNodesRequest{
		Region: "DE", Status: types.NodeStatus_NODE_STATUS_ACTIVE, NodeType: types.NodeType_NODE_TYPE_MEDIA,
		Pagination: &query.PageRequest{Limit: 100},
	}
	b.ResetTimer()
	for b.Loop() {
		res, err := q.Nodes(r.Ctx, req)
		if err != nil || len(res.Nodes) != 100 {
			b.Fatalf("got %d nodes, err %v", len(res.Nodes), err)
		}
	}
}

// BenchmarkUnbondingEndBlocker measures one end-blocker with 1,000 and
// 10,000 due entries in the unbonding queue: it completes
// max_unbonding_per_block (100) of them, so the time per block must not
// grow with the queue.
func BenchmarkUnbondingEndBlocker(b *testing.B) {
	for _, queued := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("queue=%d", queued), func(b *testing.B) {
			r := registryWithNodes(b, queued, true)
			// The in-memory bank is not rolled back with the cache
			// context: give the module account enough for every iteration.
			r.Bank.Fund(authtypes.NewModuleAddress(types.ModuleName), sdk.NewCoins(sample.Uchr(1<<50)))
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				ctx, _ := r.Ctx.CacheContext() // every iteration starts from the full queue
				b.StartTimer()
				if err := r.Keeper.EndBlocker(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			ctx, _ := r.Ctx.CacheContext()
			if err := r.Keeper.EndBlocker(ctx); err != nil {
				b.Fatal(err)
			}
			left, err := r.Keeper.UnbondingQueueLength(ctx)
			if err != nil || left != queued-types.DefaultMaxUnbondingPerBlock {
				b.Fatalf("queue holds %d after one block, want %d (err %v)", left, queued-types.DefaultMaxUnbondingPerBlock, err)
			}
		})
	}
}

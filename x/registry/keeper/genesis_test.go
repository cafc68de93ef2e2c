package keeper_test

import (
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"github.com/stretchr/testify/require"

	testkeeper "github.com/chroom/chroom/testutil/keeper"
	"github.com/chroom/chroom/testutil/sample"
	"github.com/chroom/chroom/x/registry/types"
)

func TestGenesisRoundTrip(t *testing.T) {
	f := newFixture(t)
	active := f.register(t, 1, "DE")
	jailed := f.register(t, 2, "FR")
	unbonding := f.register(t, 3, "US-CA")
	_ = active
	_, err := f.Keeper.Slash(f.Ctx, jailed, sdkmath.LegacyNewDecWithPrec(1, 2), "equivocation")
	require.NoError(t, err)
	_, err = f.msgs.DeregisterNode(f.Ctx, &types.MsgDeregisterNode{Operator: f.operator.String(), NodeId: unbonding})
	require.NoError(t, err)
	require.NoError(t, f.Keeper.RecordVerifiedWork(f.Ctx, active, 3, 2, 120, 1<<20))

	exported, err := f.Keeper.ExportGenesis(f.Ctx)
	require.NoError(t, err)
	require.Len(t, exported.Nodes, 3)
	require.NoError(t, exported.Validate())

	// Import into a fresh chain whose bank holds the same stake.
	g := testkeeper.NewRegistry(t)
	g.Bank.Fund(authtypes.NewModuleAddress(types.ModuleName), sdk.NewCoins(f.Bank.ModuleBalance(types.ModuleName, "uchr")))
	require.NoError(t, g.Keeper.InitGenesis(g.Ctx, exported))
	reexported, err := g.Keeper.ExportGenesis(g.Ctx)
	require.NoError(t, err)
	require.Equal(t, exported, reexported)
	require.NoError(t, g.Keeper.StakeInvariant(g.Ctx))

	// The unbonding queue was rebuilt: the stake returns on time.
	g.AdvanceTime(types.DefaultUnbondingPeriod)
	require.NoError(t, g.Keeper.EndBlocker(g.Ctx))
	require.Equal(t, sample.Uchr(5_000_000), g.Bank.GetBalance(g.Ctx, f.operator, "uchr"))
}

func TestInitGenesisRejects(t *testing.T) {
	valid := func() *types.GenesisState {
		k := sample.NodeKey(1)
		return &types.GenesisState{Params: types.DefaultParams(), Nodes: []types.Node{{
			Id: k.ID, NodeType: types.NodeType_NODE_TYPE_MEDIA, Operator: sample.AccAddress(1).String(), Pubkey: k.PublicKey,
			Moniker: "m", Endpoints: []string{"https://m.example.com"}, Region: "DE",
			Capacity: types.Capacity{MaxSessions: 1, MaxEgressKbps: 1}, Stake: sample.Uchr(1_000_000),
			Status: types.NodeStatus_NODE_STATUS_ACTIVE, Stats: types.NodeStats{QualityScore: sdkmath.LegacyOneDec()},
		}}}
	}
	tests := []struct {
		name   string
		mutate func(gs *types.GenesisState)
		expMsg string
	}{
		{"id does not match pubkey", func(gs *types.GenesisState) { gs.Nodes[0].Id = sample.NodeKey(2).ID }, "does not match pubkey"},
		{"duplicate node", func(gs *types.GenesisState) { gs.Nodes = append(gs.Nodes, gs.Nodes[0]) }, "appears twice"},
		{"unbonding without time", func(gs *types.GenesisState) { gs.Nodes[0].Status = types.NodeStatus_NODE_STATUS_UNBONDING }, "no unbonding_completion_time"},
		{"unspecified status", func(gs *types.GenesisState) { gs.Nodes[0].Status = types.NodeStatus_NODE_STATUS_UNSPECIFIED }, "is not a node status"},
		{"stake in another denom", func(gs *types.GenesisState) { gs.Nodes[0].Stake = sdk.NewInt64Coin("stake", 1) }, "valid amount of uchr"},
		{"quality above one", func(gs *types.GenesisState) { gs.Nodes[0].Stats.QualityScore = sdkmath.LegacyNewDec(2) }, "quality_score"},
		{"bad params", func(gs *types.GenesisState) { gs.Params.UnbondingPeriod = -time.Second }, "unbonding_period must be positive"},
		{"module account does not hold the stake", func(*types.GenesisState) {}, "registry module account holds 0uchr but nodes' stake sums to 1000000uchr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testkeeper.NewRegistry(t)
			gs := valid()
			tc.mutate(gs)
			err := r.Keeper.InitGenesis(r.Ctx, gs)
			require.ErrorContains(t, err, tc.expMsg)
		})
	}
}

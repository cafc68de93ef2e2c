// Package simulation holds the x/registry simulation: genesis and message
// factories for the SDK's simsx runner.
package simulation

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/testutil/simsx"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/module"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/x/registry/keeper"
	"github.com/chroom/chroom/x/registry/types"
)

// SimNodeKey derives a simulated node's key from its moniker, so other
// modules' factories can sign for any simulated node from chain state alone.
func SimNodeKey(moniker string) *format.NodeKey {
	seed := sha256.Sum256([]byte("chroom-sim-node-key/" + moniker))
	k, err := format.NodeKeyFromSeed(seed[:])
	if err != nil {
		panic(err)
	}
	return k
}

var simRegions = []string{"DE", "FR", "US-CA", "JP", "BR", "IN"}

// RandomizedGenState writes the default genesis with sim-sized durations,
// so unbonding and unjailing happen within a short simulation.
func RandomizedGenState(simState *module.SimulationState) {
	gs := types.DefaultGenesis()
	gs.Params.UnbondingPeriod = time.Duration(60+simState.Rand.Intn(600)) * time.Second
	gs.Params.JailDuration = time.Duration(30+simState.Rand.Intn(300)) * time.Second
	gs.Params.MaxUnbondingPerBlock = uint32(1 + simState.Rand.Intn(5))
	simState.GenState[types.ModuleName] = simState.Cdc.MustMarshalJSON(gs)
}

// PickNode returns a random node that keep accepts and whose operator is a
// simulation account, or skips.
func PickNode(ctx context.Context, k keeper.Keeper, testData *simsx.ChainDataSource, reporter simsx.SimulationReporter,
	keep func(types.Node) bool,
) (types.Node, simsx.SimAccount) {
	var nodes []types.Node
	err := k.IterateNodes(ctx, func(n types.Node) (bool, error) {
		if keep(n) && testData.HasAccount(n.Operator) {
			nodes = append(nodes, n)
		}
		return false, nil
	})
	if err != nil || len(nodes) == 0 {
		reporter.Skip("no matching node")
		return types.Node{}, simsx.SimAccount{}
	}
	n := nodes[testData.Rand().IntInRange(0, len(nodes))]
	return n, testData.GetAccount(reporter, n.Operator)
}

func notUnbonding(n types.Node) bool { return n.Status != types.NodeStatus_NODE_STATUS_UNBONDING }

// MsgRegisterNodeFactory registers a media node or orchestrator whose key
// derives from a random moniker.
func MsgRegisterNodeFactory(k keeper.Keeper) simsx.SimMsgFactoryFn[*types.MsgRegisterNode] {
	return func(ctx context.Context, testData *simsx.ChainDataSource, reporter simsx.SimulationReporter) ([]simsx.SimAccount, *types.MsgRegisterNode) {
		r := testData.Rand()
		params, err := k.Params(ctx)
		if err != nil {
			reporter.Skip(err.Error())
			return nil, nil
		}
		nodeType := types.NodeType_NODE_TYPE_MEDIA
		if r.IntInRange(0, 4) == 0 {
			nodeType = types.NodeType_NODE_TYPE_ORCHESTRATOR
		}
		stake := params.MinStake(nodeType).AddAmount(sdkmath.NewInt(int64(r.IntInRange(0, 1_000_000))))
		from := testData.AnyAccount(reporter, simsx.WithLiquidBalanceGTE(stake))
		if reporter.IsSkipped() {
			return nil, nil
		}
		// Reserve the stake so fees and other messages of this block
		// cannot spend it.
		if !from.LiquidBalance().BlockAmount(stake) {
			reporter.Skip("stake no longer available")
			return nil, nil
		}
		moniker := "sim-" + r.StringN(16)
		key := SimNodeKey(moniker)
		if has, _ := k.HasNode(ctx, key.ID); has {
			reporter.Skip("node key already registered")
			return nil, nil
		}
		return []simsx.SimAccount{from}, &types.MsgRegisterNode{
			Operator: from.AddressBech32, NodeType: nodeType, Pubkey: key.PublicKey, Moniker: moniker,
			Endpoints:     []string{fmt.Sprintf("https://%s.example.com", key.ID[:12]), fmt.Sprintf("turn:%s.example.com:3478", key.ID[:12])},
			Region:        simRegions[r.IntInRange(0, len(simRegions))],
			MaxSessions:   uint32(r.IntInRange(1, 1000)),
			MaxEgressKbps: uint64(r.IntInRange(10_000, 10_000_000)),
			Stake:         stake,
		}
	}
}

// MsgUpdateNodeFactory moves a node to another region.
func MsgUpdateNodeFactory(k keeper.Keeper) simsx.SimMsgFactoryFn[*types.MsgUpdateNode] {
	return func(ctx context.Context, testData *simsx.ChainDataSource, reporter simsx.SimulationReporter) ([]simsx.SimAccount, *types.MsgUpdateNode) {
		n, op := PickNode(ctx, k, testData, reporter, notUnbonding)
		if reporter.IsSkipped() {
			return nil, nil
		}
		return []simsx.SimAccount{op}, &types.MsgUpdateNode{
			Operator: n.Operator, NodeId: n.Id, Region: simRegions[testData.Rand().IntInRange(0, len(simRegions))],
		}
	}
}

// MsgAddStakeFactory bonds a little more stake to a node.
func MsgAddStakeFactory(k keeper.Keeper) simsx.SimMsgFactoryFn[*types.MsgAddStake] {
	return func(ctx context.Context, testData *simsx.ChainDataSource, reporter simsx.SimulationReporter) ([]simsx.SimAccount, *types.MsgAddStake) {
		n, op := PickNode(ctx, k, testData, reporter, notUnbonding)
		if reporter.IsSkipped() {
			return nil, nil
		}
		amount := op.LiquidBalance().RandSubsetCoin(reporter, n.Stake.Denom)
		if reporter.IsSkipped() || !amount.IsPositive() {
			reporter.Skip("no stake denom to add")
			return nil, nil
		}
		return []simsx.SimAccount{op}, &types.MsgAddStake{Operator: n.Operator, NodeId: n.Id, Amount: amount}
	}
}

// MsgDeregisterNodeFactory starts unbonding a node.
func MsgDeregisterNodeFactory(k keeper.Keeper) simsx.SimMsgFactoryFn[*types.MsgDeregisterNode] {
	return func(ctx context.Context, testData *simsx.ChainDataSource, reporter simsx.SimulationReporter) ([]simsx.SimAccount, *types.MsgDeregisterNode) {
		n, op := PickNode(ctx, k, testData, reporter, notUnbonding)
		if reporter.IsSkipped() {
			return nil, nil
		}
		return []simsx.SimAccount{op}, &types.MsgDeregisterNode{Operator: n.Operator, NodeId: n.Id}
	}
}

// MsgUnjailFactory unjails a node whose jail time is over and whose stake
// is still at the minimum.
func MsgUnjailFactory(k keeper.Keeper) simsx.SimMsgFactoryFn[*types.MsgUnjail] {
	return func(ctx context.Context, testData *simsx.ChainDataSource, reporter simsx.SimulationReporter) ([]simsx.SimAccount, *types.MsgUnjail) {
		params, err := k.Params(ctx)
		if err != nil {
			reporter.Skip(err.Error())
			return nil, nil
		}
		now := sdk.UnwrapSDKContext(ctx).BlockTime()
		n, op := PickNode(ctx, k, testData, reporter, func(n types.Node) bool {
			return n.Status == types.NodeStatus_NODE_STATUS_JAILED && !now.Before(n.JailedUntil) &&
				!n.Stake.IsLT(params.MinStake(n.NodeType))
		})
		if reporter.IsSkipped() {
			return nil, nil
		}
		return []simsx.SimAccount{op}, &types.MsgUnjail{Operator: n.Operator, NodeId: n.Id}
	}
}

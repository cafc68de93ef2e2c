// Package simulation holds the x/verification simulation: receipts signed
// with keys derived from simulated nodes' monikers, and equivocation.
package simulation

import (
	"context"

	"github.com/cosmos/cosmos-sdk/testutil/simsx"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/module"

	"github.com/chroom/chroom/format"
	registrykeeper "github.com/chroom/chroom/x/registry/keeper"
	registrysim "github.com/chroom/chroom/x/registry/simulation"
	registrytypes "github.com/chroom/chroom/x/registry/types"
	"github.com/chroom/chroom/x/verification/keeper"
	"github.com/chroom/chroom/x/verification/types"
)

// RandomizedGenState writes the default genesis with QoS probes on in
// most runs (nobody submits probes in a simulation: assignment, scoring,
// forfeits and jailing of unprobed nodes all run) and a random jail
// threshold.
func RandomizedGenState(simState *module.SimulationState) {
	gs := types.DefaultGenesis()
	if simState.Rand.Intn(4) > 0 {
		gs.Params.MaxProbesPerEpoch = uint32(1 + simState.Rand.Intn(types.RecommendedMaxProbesPerEpoch))
		gs.Params.ProbeJailEpochs = uint32(simState.Rand.Intn(5))
	}
	simState.GenState[types.ModuleName] = simState.Cdc.MustMarshalJSON(gs)
}

func active(t registrytypes.NodeType) func(registrytypes.Node) bool {
	return func(n registrytypes.Node) bool {
		return n.NodeType == t && n.Status == registrytypes.NodeStatus_NODE_STATUS_ACTIVE
	}
}

// receipt builds a receipt of a random session segment within one epoch.
func receipt(testData *simsx.ChainDataSource, media, orch registrytypes.Node, epoch, epochSeconds int64, now int64) format.UsageReceipt {
	r := testData.Rand()
	session := make([]byte, format.SessionIDBytes)
	for i := range session {
		session[i] = byte(r.IntInRange(0, 256))
	}
	maxSeconds := epochSeconds
	if maxSeconds > 600 || maxSeconds <= 0 {
		maxSeconds = 600
	}
	seconds := int64(r.IntInRange(1, int(maxSeconds)+1))
	maxBytes := media.Capacity.MaxEgressKbps * uint64(seconds) * 1000 / 8
	sent := uint64(r.IntInRange(1, 100_000))
	return format.UsageReceipt{
		SessionId: session, RoomHash: format.RoomHash(r.StringN(8)),
		MediaNodeId: media.Id, OrchestratorId: orch.Id, Epoch: epoch,
		StartUnixMs: now - seconds*1000, EndUnixMs: now,
		BytesIn: r.Uint64InRange(0, maxBytes/4+1), BytesOut: r.Uint64InRange(0, maxBytes/2+1),
		PacketsSent: sent, PacketsLost: r.Uint64InRange(0, sent/10+1), RttMsP50: uint32(r.IntInRange(5, 1200)),
	}
}

// MsgSubmitReceiptsFactory submits 1–10 receipts for a random active media
// node, countersigned by a random active orchestrator, by its operator;
// one in ten batches carries a receipt with a forged signature.
func MsgSubmitReceiptsFactory(k keeper.Keeper, reg registrykeeper.Keeper) simsx.SimMsgFactoryFn[*types.MsgSubmitReceipts] {
	return func(ctx context.Context, testData *simsx.ChainDataSource, reporter simsx.SimulationReporter) ([]simsx.SimAccount, *types.MsgSubmitReceipts) {
		orch, op := registrysim.PickNode(ctx, reg, testData, reporter, active(registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR))
		if reporter.IsSkipped() {
			return nil, nil
		}
		media, _ := registrysim.PickNode(ctx, reg, testData, reporter, active(registrytypes.NodeType_NODE_TYPE_MEDIA))
		if reporter.IsSkipped() {
			return nil, nil
		}
		epoch, epochSeconds, err := k.CurrentEpoch(ctx)
		if err != nil || epoch == 0 {
			reporter.Skip("no epoch yet")
			return nil, nil
		}
		sdkCtx := sdk.UnwrapSDKContext(ctx)
		mediaKey, orchKey := registrysim.SimNodeKey(media.Moniker), registrysim.SimNodeKey(orch.Moniker)
		r := testData.Rand()
		n := r.IntInRange(1, 11)
		msg := &types.MsgSubmitReceipts{Submitter: op.AddressBech32}
		for i := 0; i < n; i++ {
			rc := receipt(testData, media, orch, epoch, epochSeconds, sdkCtx.BlockTime().UnixMilli())
			s, err := format.SignReceipt(mediaKey, sdkCtx.ChainID(), rc)
			if err == nil {
				err = format.Countersign(orchKey, sdkCtx.ChainID(), s)
			}
			if err != nil {
				reporter.Skip(err.Error())
				return nil, nil
			}
			msg.Receipts = append(msg.Receipts, *s)
		}
		if r.IntInRange(0, 10) == 0 {
			msg.Receipts[0].MediaNodeSignature[0] ^= 1
		}
		return []simsx.SimAccount{op}, msg
	}
}

// MsgSubmitEvidenceFactory proves that a random active media node signed
// two conflicting receipts for one session; a random account reports it.
func MsgSubmitEvidenceFactory(k keeper.Keeper, reg registrykeeper.Keeper) simsx.SimMsgFactoryFn[*types.MsgSubmitEvidence] {
	return func(ctx context.Context, testData *simsx.ChainDataSource, reporter simsx.SimulationReporter) ([]simsx.SimAccount, *types.MsgSubmitEvidence) {
		media, _ := registrysim.PickNode(ctx, reg, testData, reporter, active(registrytypes.NodeType_NODE_TYPE_MEDIA))
		if reporter.IsSkipped() {
			return nil, nil
		}
		orch, _ := registrysim.PickNode(ctx, reg, testData, reporter, active(registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR))
		if reporter.IsSkipped() {
			return nil, nil
		}
		reporterAcc := testData.AnyAccount(reporter, simsx.WithSpendableBalance())
		if reporter.IsSkipped() {
			return nil, nil
		}
		epoch, epochSeconds, err := k.CurrentEpoch(ctx)
		if err != nil || epoch == 0 {
			reporter.Skip("no epoch yet")
			return nil, nil
		}
		sdkCtx := sdk.UnwrapSDKContext(ctx)
		a := receipt(testData, media, orch, epoch, epochSeconds, sdkCtx.BlockTime().UnixMilli())
		b := a
		b.BytesOut++
		key := registrysim.SimNodeKey(media.Moniker)
		sa, errA := format.SignReceipt(key, sdkCtx.ChainID(), a)
		sb, errB := format.SignReceipt(key, sdkCtx.ChainID(), b)
		if errA != nil || errB != nil {
			reporter.Skip("cannot sign")
			return nil, nil
		}
		return []simsx.SimAccount{reporterAcc}, &types.MsgSubmitEvidence{Reporter: reporterAcc.AddressBech32, ReceiptA: *sa, ReceiptB: *sb}
	}
}

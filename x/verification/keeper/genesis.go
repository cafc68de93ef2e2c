package keeper

import (
	"context"

	"cosmossdk.io/collections"

	"github.com/chroom/chroom/x/verification/types"
)

// InitGenesis validates and loads gs.
func (k Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return err
	}
	if err := k.params.Set(ctx, gs.Params); err != nil {
		return err
	}
	for _, m := range gs.ReplayMarkers {
		if err := k.replay.Set(ctx, collections.Join3(m.Epoch, m.MediaNodeId, m.SessionId), m.ReceiptHash); err != nil {
			return err
		}
	}
	for _, m := range gs.Equivocations {
		if err := k.equivocations.Set(ctx, collections.Join3(m.Epoch, m.MediaNodeId, m.SessionId)); err != nil {
			return err
		}
	}
	for _, t := range gs.NodeTallies {
		if err := k.nodeTallies.Set(ctx, collections.Join(t.Epoch, t.NodeId), t); err != nil {
			return err
		}
	}
	for _, t := range gs.OrchestratorTallies {
		if err := k.orchTallies.Set(ctx, collections.Join(t.Epoch, t.OrchestratorId), t); err != nil {
			return err
		}
	}
	for _, t := range gs.EpochTotals {
		if err := k.totals.Set(ctx, t.Epoch, t); err != nil {
			return err
		}
	}
	for _, a := range gs.ProbeAssignments {
		if err := k.probeAssignments.Set(ctx, collections.Join(a.Epoch, a.MediaNodeId), a); err != nil {
			return err
		}
	}
	for _, r := range gs.Probes {
		if err := k.probes.Set(ctx, collections.Join(r.Result.Epoch, r.Result.MediaNodeId), r); err != nil {
			return err
		}
	}
	for _, h := range gs.NodeHealth {
		if err := k.nodeHealth.Set(ctx, h.NodeId, h); err != nil {
			return err
		}
	}
	for _, pt := range gs.QualityHistory {
		if err := k.qualityHistory.Set(ctx, collections.Join(pt.NodeId, pt.Epoch), pt); err != nil {
			return err
		}
	}
	return nil
}

// ExportGenesis exports the whole state in key order.
func (k Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	p, err := k.params.Get(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: p}
	err = k.replay.Walk(ctx, nil, func(key markerKey, hash []byte) (bool, error) {
		gs.ReplayMarkers = append(gs.ReplayMarkers, types.ReplayMarker{Epoch: key.K1(), MediaNodeId: key.K2(), SessionId: key.K3(), ReceiptHash: hash})
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	err = k.equivocations.Walk(ctx, nil, func(key markerKey) (bool, error) {
		gs.Equivocations = append(gs.Equivocations, types.ReplayMarker{Epoch: key.K1(), MediaNodeId: key.K2(), SessionId: key.K3()})
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	err = k.nodeTallies.Walk(ctx, nil, func(_ collections.Pair[int64, string], t types.NodeEpochTally) (bool, error) {
		gs.NodeTallies = append(gs.NodeTallies, t)
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	err = k.orchTallies.Walk(ctx, nil, func(_ collections.Pair[int64, string], t types.OrchestratorEpochTally) (bool, error) {
		gs.OrchestratorTallies = append(gs.OrchestratorTallies, t)
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	err = k.totals.Walk(ctx, nil, func(_ int64, t types.EpochTotals) (bool, error) {
		gs.EpochTotals = append(gs.EpochTotals, t)
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	err = k.probeAssignments.Walk(ctx, nil, func(_ collections.Pair[int64, string], a types.ProbeAssignment) (bool, error) {
		gs.ProbeAssignments = append(gs.ProbeAssignments, a)
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	err = k.probes.Walk(ctx, nil, func(_ collections.Pair[int64, string], r types.ProbeRecord) (bool, error) {
		gs.Probes = append(gs.Probes, r)
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	err = k.nodeHealth.Walk(ctx, nil, func(_ string, h types.NodeHealth) (bool, error) {
		gs.NodeHealth = append(gs.NodeHealth, h)
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	err = k.qualityHistory.Walk(ctx, nil, func(_ collections.Pair[string, int64], pt types.QualityPoint) (bool, error) {
		gs.QualityHistory = append(gs.QualityHistory, pt)
		return false, nil
	})
	return gs, err
}

package keeper_test

import (
	"testing"
	"time"

	errorsmod "cosmossdk.io/errors"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	testkeeper "github.com/chroom/chroom/testutil/keeper"
	"github.com/chroom/chroom/testutil/sample"
	"github.com/chroom/chroom/x/verification/types"
)

// acceptMarkers submits, for each epoch in perEpoch, that many receipts
// (the epochs must be current or previous at f.Epochs.Current).
func (f *fixture) acceptMarkers(t *testing.T, perEpoch map[int64]int) int {
	t.Helper()
	var batch []format.SignedReceipt
	session := 1
	for epoch := int64(1); epoch <= f.Epochs.Current; epoch++ {
		for i := 0; i < perEpoch[epoch]; i++ {
			batch = append(batch, f.signed(epoch, session))
			session++
		}
	}
	res := f.submit(t, batch...)
	require.Len(t, res.Accepted, len(batch), "rejected: %v", res.Rejected)
	require.Equal(t, len(batch), f.markers(t))
	return len(batch)
}

func TestEndBlockerPrunesReplayMarkers(t *testing.T) {
	tests := []struct {
		name string
		// submitAt is the current epoch when the markers are written.
		submitAt int64
		perEpoch map[int64]int
		// current is the epoch while the end-blockers run.
		current int64
		limit   uint32
		blocks  int
		setup   func(t *testing.T, f *fixture)
		want    int
	}{
		{name: "epoch e kept while e is current", submitAt: 1, perEpoch: map[int64]int{1: 3}, current: 1, blocks: 1, want: 3},
		{name: "epoch e kept while e+1 is current", submitAt: 1, perEpoch: map[int64]int{1: 3}, current: 2, blocks: 1, want: 3},
		{name: "epoch e deleted once e+2 is current", submitAt: 1, perEpoch: map[int64]int{1: 3}, current: 3, blocks: 1, want: 0},
		{name: "epoch e deleted long after", submitAt: 1, perEpoch: map[int64]int{1: 3}, current: 50, blocks: 1, want: 0},
		{name: "only the stale epoch is deleted", submitAt: 2, perEpoch: map[int64]int{1: 2, 2: 3}, current: 3, blocks: 1, want: 3},
		{name: "two stale epochs", submitAt: 2, perEpoch: map[int64]int{1: 2, 2: 3}, current: 4, blocks: 1, want: 0},
		{name: "bounded: 5 stale, 2 per block, one block", submitAt: 1, perEpoch: map[int64]int{1: 5}, current: 3, limit: 2, blocks: 1, want: 3},
		{name: "bounded: 5 stale, 2 per block, two blocks", submitAt: 1, perEpoch: map[int64]int{1: 5}, current: 3, limit: 2, blocks: 2, want: 1},
		{name: "bounded: 5 stale, 2 per block, three blocks", submitAt: 1, perEpoch: map[int64]int{1: 5}, current: 3, limit: 2, blocks: 3, want: 0},
		{name: "bounded: stops at the first newer marker", submitAt: 2, perEpoch: map[int64]int{1: 1, 2: 3}, current: 3, limit: 2, blocks: 5, want: 3},
		{name: "before epoch counting nothing is pruned", submitAt: 1, perEpoch: map[int64]int{1: 3}, current: 0, blocks: 1, want: 3},
		{
			name: "missing epoch identifier: no prune, no halt", submitAt: 1, perEpoch: map[int64]int{1: 3}, current: 5, blocks: 1, want: 3,
			setup: func(t *testing.T, f *fixture) {
				p := types.DefaultParams()
				p.EpochIdentifier = "no-such-epoch"
				require.NoError(t, f.Verification.SetParams(f.Ctx, p))
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.Epochs.Current = tc.submitAt
			f.acceptMarkers(t, tc.perEpoch)
			if tc.limit > 0 {
				p := types.DefaultParams()
				p.MaxPrunePerBlock = tc.limit
				require.NoError(t, f.Verification.SetParams(f.Ctx, p))
			}
			if tc.setup != nil {
				tc.setup(t, f)
			}
			f.Epochs.Current = tc.current
			for i := 0; i < tc.blocks; i++ {
				f.NextBlock(5 * time.Second)
				require.NoError(t, f.Verification.EndBlocker(f.Ctx), "end-blocker of block %d", i+1)
			}
			require.Equal(t, tc.want, f.markers(t), "replay markers left after %d block(s) at epoch %d", tc.blocks, tc.current)
		})
	}
}

func TestPruneReplayMarkersReturnsCount(t *testing.T) {
	f := newFixture(t)
	f.Epochs.Current = 2
	f.acceptMarkers(t, map[int64]int{1: 4, 2: 2})
	n, err := f.Verification.PruneReplayMarkers(f.Ctx, 1, 3)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	n, err = f.Verification.PruneReplayMarkers(f.Ctx, 1, 3)
	require.NoError(t, err)
	require.Equal(t, 1, n, "only one epoch-1 marker was left")
	require.Equal(t, 2, f.markers(t), "epoch-2 markers stay")
}

// TestPrunedReceiptNeverAcceptedAgain follows one receipt through its
// life: accepted, duplicate while its epoch is submittable, pruned, then
// stale forever.
func TestPrunedReceiptNeverAcceptedAgain(t *testing.T) {
	f := newFixture(t)
	r := f.signed(1, 1)
	steps := []struct {
		name       string
		current    int64
		wantReason types.RejectReason
		wantMarker int
	}{
		{name: "accepted in its epoch", current: 1, wantMarker: 1},
		{name: "duplicate in the same epoch", current: 1, wantReason: types.RejectReason_REJECT_REASON_DUPLICATE, wantMarker: 1},
		{name: "duplicate in the next epoch", current: 2, wantReason: types.RejectReason_REJECT_REASON_DUPLICATE, wantMarker: 1},
		{name: "stale after pruning", current: 3, wantReason: types.RejectReason_REJECT_REASON_STALE_EPOCH, wantMarker: 0},
		{name: "stale much later", current: 9, wantReason: types.RejectReason_REJECT_REASON_STALE_EPOCH, wantMarker: 0},
	}
	for _, s := range steps {
		f.Epochs.Current = s.current
		f.NextBlock(time.Minute)
		res := f.submit(t, r)
		if s.wantReason == types.RejectReason_REJECT_REASON_UNSPECIFIED {
			require.Equal(t, []uint32{0}, res.Accepted, "%s: rejected %v", s.name, res.Rejected)
		} else {
			require.Empty(t, res.Accepted, s.name)
			require.Len(t, res.Rejected, 1, s.name)
			require.Equal(t, s.wantReason, res.Rejected[0].Reason, "%s: detail %q", s.name, res.Rejected[0].Detail)
		}
		require.NoError(t, f.Verification.EndBlocker(f.Ctx), s.name)
		require.Equal(t, s.wantMarker, f.markers(t), "%s: markers after the end-blocker", s.name)
		require.Equal(t, uint64(1), f.tally(t, 1, f.media.ID).Sessions, "%s: the receipt counts once", s.name)
		require.Equal(t, uint64(1), f.node(t, f.media.ID).Stats.SessionsServed, "%s: registry counts it once", s.name)
	}
}

// buildState gives f receipts in epochs 1 and 2 from two orchestrators, a
// punished equivocation and non-default params.
func (f *fixture) buildState(t *testing.T) {
	t.Helper()
	p := types.DefaultParams()
	p.MaxPrunePerBlock = 7
	p.RttFullQualityMs = 50
	require.NoError(t, f.Verification.SetParams(f.Ctx, p))
	orch2 := sample.NodeKey(4)
	f.register(t, sample.RegisterOrchestrator(f.orchOp, 4, "FR"))
	f.Epochs.Current = 2
	res := f.submit(t, f.signed(1, 1), f.signed(1, 2), f.signed(2, 3),
		resign(f.media, orch2, sample.Receipt(f.media, orch2, 2, 4)))
	require.Len(t, res.Accepted, 4, "rejected: %v", res.Rejected)
	a, b := f.equivocation()
	_, err := f.submitEvidence(reporterAddr.String(), a, b)
	require.NoError(t, err)
}

func TestGenesisRoundTrip(t *testing.T) {
	f := newFixture(t)
	f.buildState(t)
	exported, err := f.Verification.ExportGenesis(f.Ctx)
	require.NoError(t, err)
	require.NoError(t, exported.Validate(), "exported genesis must validate")
	require.Len(t, exported.ReplayMarkers, 4)
	require.Len(t, exported.Equivocations, 1)
	require.Len(t, exported.NodeTallies, 2)
	require.Len(t, exported.OrchestratorTallies, 3)
	require.Len(t, exported.EpochTotals, 2)
	require.Equal(t, uint32(7), exported.Params.MaxPrunePerBlock)

	fresh := testkeeper.NewChroom(t)
	require.NoError(t, fresh.Verification.InitGenesis(fresh.Ctx, exported))
	reexported, err := fresh.Verification.ExportGenesis(fresh.Ctx)
	require.NoError(t, err)
	want, err := exported.Marshal()
	require.NoError(t, err)
	got, err := reexported.Marshal()
	require.NoError(t, err)
	require.Equal(t, exported.String(), reexported.String())
	require.Equal(t, want, got, "export → import → export must be the identity")

	// The imported state behaves like the original.
	for _, epoch := range []int64{1, 2} {
		wantTally := f.tally(t, epoch, f.media.ID)
		gotTally, err := fresh.Verification.NodeTally(fresh.Ctx, epoch, f.media.ID)
		require.NoError(t, err)
		require.Equal(t, wantTally.String(), gotTally.String(), "tally of epoch %d", epoch)
	}
	n, err := fresh.Verification.ReplayMarkerCount(fresh.Ctx)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	a, b := f.equivocation()
	_, _, err = fresh.Verification.SubmitEvidence(fresh.Ctx, reporterAddr.String(), a, b)
	require.ErrorIs(t, err, types.ErrEvidenceAlreadyHandled, "imported equivocation keys must stop a second punishment")
}

func TestGenesisValidate(t *testing.T) {
	media, orch := sample.NodeKey(mediaSeed), sample.NodeKey(orchSeed)
	valid := func() *types.GenesisState {
		gs := types.DefaultGenesis()
		gs.ReplayMarkers = []types.ReplayMarker{{Epoch: 1, MediaNodeId: media.ID, SessionId: sample.SessionID(1), ReceiptHash: make([]byte, 32)}}
		gs.Equivocations = []types.ReplayMarker{{Epoch: 1, MediaNodeId: media.ID, SessionId: sample.SessionID(2)}}
		gs.NodeTallies = []types.NodeEpochTally{{NodeId: media.ID, Epoch: 1, Operator: sample.AccAddress(1).String(), Sessions: 1, VerifiedSeconds: 60, Bytes: 7_000_000, Weight: dec("54")}}
		gs.OrchestratorTallies = []types.OrchestratorEpochTally{{OrchestratorId: orch.ID, Epoch: 1, Operator: sample.AccAddress(2).String(), Receipts: 1}}
		gs.EpochTotals = []types.EpochTotals{{Epoch: 1, MediaWeight: dec("54"), OrchestratorReceipts: 1, Receipts: 1}}
		return gs
	}
	tests := []struct {
		name   string
		mutate func(gs *types.GenesisState)
		expErr *errorsmod.Error
		expMsg string
	}{
		{name: "valid", mutate: func(*types.GenesisState) {}},
		{name: "default", mutate: func(gs *types.GenesisState) { *gs = *types.DefaultGenesis() }},
		{name: "marker epoch 0", mutate: func(gs *types.GenesisState) { gs.ReplayMarkers[0].Epoch = 0 },
			expErr: types.ErrInvalidGenesis, expMsg: "replay_markers[0] is malformed"},
		{name: "marker session of 31 bytes", mutate: func(gs *types.GenesisState) { gs.ReplayMarkers[0].SessionId = sample.SessionID(1)[:31] },
			expErr: types.ErrInvalidGenesis, expMsg: "replay_markers[0] is malformed"},
		{name: "marker without session", mutate: func(gs *types.GenesisState) { gs.ReplayMarkers[0].SessionId = nil },
			expErr: types.ErrInvalidGenesis, expMsg: "replay_markers[0] is malformed"},
		{name: "marker node ID in upper case", mutate: func(gs *types.GenesisState) {
			gs.ReplayMarkers[0].MediaNodeId = "ABCDEF0123456789ABCDEF0123456789ABCDEF01"
		},
			expErr: types.ErrInvalidGenesis, expMsg: "replay_markers[0] is malformed"},
		{name: "marker node ID too short", mutate: func(gs *types.GenesisState) { gs.ReplayMarkers[0].MediaNodeId = media.ID[:39] },
			expErr: types.ErrInvalidGenesis, expMsg: "replay_markers[0] is malformed"},
		{name: "marker hash of 31 bytes", mutate: func(gs *types.GenesisState) { gs.ReplayMarkers[0].ReceiptHash = make([]byte, 31) },
			expErr: types.ErrInvalidGenesis, expMsg: "replay_markers[0] receipt_hash must be 32 bytes"},
		{name: "second marker malformed", mutate: func(gs *types.GenesisState) {
			gs.ReplayMarkers = append(gs.ReplayMarkers, types.ReplayMarker{Epoch: -1, MediaNodeId: media.ID, SessionId: sample.SessionID(3), ReceiptHash: make([]byte, 32)})
		}, expErr: types.ErrInvalidGenesis, expMsg: "replay_markers[1] is malformed"},
		{name: "equivocation session of 31 bytes", mutate: func(gs *types.GenesisState) { gs.Equivocations[0].SessionId = sample.SessionID(2)[:31] },
			expErr: types.ErrInvalidGenesis, expMsg: "equivocations[0] is malformed"},
		{name: "node tally negative weight", mutate: func(gs *types.GenesisState) { gs.NodeTallies[0].Weight = dec("-1") },
			expErr: types.ErrInvalidGenesis, expMsg: "node_tallies[0] is malformed"},
		{name: "node tally epoch 0", mutate: func(gs *types.GenesisState) { gs.NodeTallies[0].Epoch = 0 },
			expErr: types.ErrInvalidGenesis, expMsg: "node_tallies[0] is malformed"},
		{name: "orchestrator tally bad ID", mutate: func(gs *types.GenesisState) { gs.OrchestratorTallies[0].OrchestratorId = "orch" },
			expErr: types.ErrInvalidGenesis, expMsg: "orchestrator_tallies[0] is malformed"},
		{name: "epoch totals negative weight", mutate: func(gs *types.GenesisState) { gs.EpochTotals[0].MediaWeight = dec("-0.5") },
			expErr: types.ErrInvalidGenesis, expMsg: "epoch_totals[0] is malformed"},
		{name: "invalid params", mutate: func(gs *types.GenesisState) { gs.Params.MaxPrunePerBlock = 0 },
			expErr: types.ErrInvalidParams, expMsg: "max_prune_per_block"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gs := valid()
			tc.mutate(gs)
			err := gs.Validate()
			c := testkeeper.NewChroom(t)
			initErr := c.Verification.InitGenesis(c.Ctx, gs)
			if tc.expErr == nil {
				require.NoError(t, err)
				require.NoError(t, initErr)
				return
			}
			require.ErrorIs(t, err, tc.expErr)
			require.ErrorContains(t, err, tc.expMsg)
			require.ErrorIs(t, initErr, tc.expErr, "InitGenesis must refuse what Validate refuses")
			n, err := c.Verification.ReplayMarkerCount(c.Ctx)
			require.NoError(t, err)
			require.Zero(t, n, "a refused genesis loads nothing")
		})
	}
}

package keeper_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	testkeeper "github.com/chroom/chroom/testutil/keeper"
	"github.com/chroom/chroom/testutil/sample"
	registrytypes "github.com/chroom/chroom/x/registry/types"
	"github.com/chroom/chroom/x/verification/keeper"
	"github.com/chroom/chroom/x/verification/types"
)

// Seeds of the probe tests' extra nodes.
const (
	media2Seed = 11
	media3Seed = 12
	orch2Seed  = 13
	// ownOrchSeed is an orchestrator run by the media node's operator.
	ownOrchSeed = 14
)

// probeFixture is the fixture with probes on, a second and third media
// node (operators mediaOp and other), a second orchestrator (operator
// other, three times the stake) and an orchestrator run by mediaOp.
type probeFixture struct {
	*fixture
	media2, media3, orch2, ownOrch *format.NodeKey
}

func newProbeFixture(t *testing.T) *probeFixture {
	f := &probeFixture{fixture: newFixture(t), media2: sample.NodeKey(media2Seed), media3: sample.NodeKey(media3Seed),
		orch2: sample.NodeKey(orch2Seed), ownOrch: sample.NodeKey(ownOrchSeed)}
	f.WithProbes(t, types.RecommendedMaxProbesPerEpoch)
	f.register(t, sample.RegisterMediaNode(f.mediaOp, media2Seed, "DE"))
	f.register(t, sample.RegisterMediaNode(f.other, media3Seed, "DE"))
	o2 := sample.RegisterOrchestrator(f.other, orch2Seed, "DE")
	o2.Stake = sample.Uchr(15_000_000)
	f.register(t, o2)
	f.register(t, sample.RegisterOrchestrator(f.mediaOp, ownOrchSeed, "DE"))
	return f
}

// startEpoch ends the current epoch and starts the next with header hash
// hash (the probe draw's seed); it returns the new epoch's assignments by
// media node ID.
func (f *probeFixture) startEpoch(t *testing.T, hash []byte) map[string]types.ProbeAssignment {
	t.Helper()
	f.Ctx = f.Ctx.WithHeaderHash(hash)
	f.EndEpoch(t)
	res, err := f.queries.ProbeAssignments(f.Ctx, &types.QueryProbeAssignmentsRequest{Epoch: f.Epochs.Current})
	require.NoError(t, err)
	out := map[string]types.ProbeAssignment{}
	for _, a := range res.Assignments {
		out[a.MediaNodeId] = a
	}
	return out
}

func (f *probeFixture) operatorOf(t *testing.T, id string) string { return f.node(t, id).Operator }

// probe is a connected probe result of media node m by prober p in the
// current epoch: 2 % loss, 40 ms, the full target bitrate.
func (f *probeFixture) probe(m, p *format.NodeKey) format.ProbeResult {
	return format.ProbeResult{Epoch: f.Epochs.Current, MediaNodeId: m.ID, ProberId: p.ID, StartedUnixMs: f.Ctx.BlockTime().Add(-time.Minute).UnixMilli(),
		Connected: true, SetupMs: 800, RttMs: 40, JitterMs: 3, LossPermille: 20, BitrateKbps: 500, TargetKbps: 500}
}

func (f *probeFixture) signProbe(t *testing.T, k *format.NodeKey, r format.ProbeResult) format.SignedProbeResult {
	t.Helper()
	s, err := format.SignProbe(k, testkeeper.ChainID, r)
	require.NoError(t, err)
	return *s
}

func (f *probeFixture) keyOf(id string) *format.NodeKey {
	for _, k := range []*format.NodeKey{f.media, f.media2, f.media3, f.orch, f.orch2, f.ownOrch} {
		if k.ID == id {
			return k
		}
	}
	return nil
}

// TestProbeAssignment: every ACTIVE media node gets a prober, never an
// orchestrator of its own operator; the draw depends only on the block
// hash and the epoch; a prober is chosen in proportion to its stake.
func TestProbeAssignment(t *testing.T) {
	f := newProbeFixture(t)
	// Nobody submits probes here: without jailing, nodes stay ACTIVE.
	p, err := f.Verification.Params(f.Ctx)
	require.NoError(t, err)
	p.ProbeJailEpochs = 0
	require.NoError(t, f.Verification.SetParams(f.Ctx, p))
	got := f.startEpoch(t, []byte("block-hash-1"))
	require.Len(t, got, 3, "three ACTIVE media nodes, three probes")
	for id, a := range got {
		require.NotEqual(t, f.operatorOf(t, id), f.operatorOf(t, a.ProberId), "media node %s is probed by another operator's orchestrator", id)
		require.Equal(t, f.operatorOf(t, a.ProberId), a.ProberOperator)
	}
	// media3 is run by f.other, which also runs orch2: only the other two
	// orchestrators not of f.other's, i.e. orch or ownOrch, may probe it.
	require.NotEqual(t, f.orch2.ID, got[f.media3.ID].ProberId)

	// The same hash and epoch on another chain with the same registry: the same draw.
	g := newProbeFixture(t)
	require.Equal(t, got, g.startEpoch(t, []byte("block-hash-1")))

	// By stake: media (operator mediaOp) is probed by orch (5 CHR) or
	// orch2 (15 CHR), never ownOrch; over many epochs orch2 about 3 in 4.
	byOrch2, n := 0, 200
	for i := 0; i < n; i++ {
		a := f.startEpoch(t, []byte{byte(i), byte(i >> 8), 'h'})[f.media.ID]
		require.NotEqual(t, f.ownOrch.ID, a.ProberId)
		if a.ProberId == f.orch2.ID {
			byOrch2++
		}
	}
	require.InDelta(t, 0.75, float64(byOrch2)/float64(n), 0.1, "orch2 holds 3/4 of the eligible stake (%d of %d draws)", byOrch2, n)

	// A jailed media node is not probed; probes off assigns none.
	f.jail(t, f.media2.ID)
	require.NotContains(t, f.startEpoch(t, []byte("h2")), f.media2.ID)
	f.WithProbes(t, 0)
	require.Empty(t, f.startEpoch(t, []byte("h3")))
}

// TestSubmitProbe: the assigned prober's operator submits a signed result
// once; everyone and everything else is refused with a reason.
func TestSubmitProbe(t *testing.T) {
	f := newProbeFixture(t)
	got := f.startEpoch(t, []byte("hash"))
	a := got[f.media.ID]
	prober := f.keyOf(a.ProberId)
	other := f.orch
	if prober.ID == f.orch.ID {
		other = f.orch2
	}
	submit := func(from string, sp format.SignedProbeResult) (*types.MsgSubmitProbeResponse, error) {
		return f.msgs.SubmitProbe(f.Ctx, &types.MsgSubmitProbe{Submitter: from, Probe: sp})
	}
	good := f.probe(f.media, prober)

	_, err := submit(f.operatorOf(t, other.ID), f.signProbe(t, other, f.probe(f.media, other)))
	require.ErrorIs(t, err, types.ErrProbeNotAssigned, "another orchestrator")
	_, err = submit(f.operatorOf(t, other.ID), f.signProbe(t, prober, good))
	require.ErrorIs(t, err, types.ErrProbeNotAssigned, "the prober's result sent by another operator")
	forged := f.signProbe(t, other, f.probe(f.media, other))
	forged.Result.ProberId = prober.ID
	_, err = submit(a.ProberOperator, forged)
	require.ErrorIs(t, err, types.ErrInvalidProbe, "signed by a key that is not the prober's")
	bad := good
	bad.LossPermille = 1001
	_, err = submit(a.ProberOperator, format.SignedProbeResult{Result: &bad, Signature: make([]byte, 64)})
	require.ErrorIs(t, err, types.ErrInvalidProbe, "loss above 100 %")
	unassigned := good
	unassigned.Epoch = f.Epochs.Current - 1
	_, err = submit(a.ProberOperator, f.signProbe(t, prober, unassigned))
	require.ErrorIs(t, err, types.ErrProbeNotAssigned, "no probe was assigned in the previous epoch")

	res, err := submit(a.ProberOperator, f.signProbe(t, prober, good))
	require.NoError(t, err)
	// q_loss = 1 − 0.02 / 0.10 = 0.8; RTT 40 ms ≤ 100 ms: 1; full bitrate: 1.
	require.Equal(t, "0.800000000000000000", res.Quality.String())
	_, err = submit(a.ProberOperator, f.signProbe(t, prober, good))
	require.ErrorIs(t, err, types.ErrProbeAlreadySubmitted)

	// Two epochs on, the probe's epoch is closed.
	f.startEpoch(t, []byte("x"))
	f.startEpoch(t, []byte("y"))
	_, err = submit(a.ProberOperator, f.signProbe(t, prober, good))
	require.ErrorIs(t, err, types.ErrInvalidProbe)
	require.Contains(t, err.Error(), "closed")
}

func TestProbeQuality(t *testing.T) {
	p := types.DefaultParams()
	r := format.ProbeResult{Connected: true, RttMs: 40, LossPermille: 50, BitrateKbps: 250, TargetKbps: 500}
	// q_loss = 1 − 0.05 / 0.10 = 0.5; half the target bitrate: × 0.5.
	require.Equal(t, "0.250000000000000000", keeper.ProbeQuality(p, &r).String())
	r.BitrateKbps = 900 // more than the target counts as the target
	require.Equal(t, "0.500000000000000000", keeper.ProbeQuality(p, &r).String())
	r.Connected = false
	require.True(t, keeper.ProbeQuality(p, &r).IsZero())
}

// TestProbesScoreAndJail: once an epoch's probes are final (the next
// epoch ended), each probed node's score moves 30 % of the way to its
// probe quality; a node whose probe is missing or not connected
// probe_jail_epochs (3) epochs in a row is jailed; its history and recent
// probes are queryable.
func TestProbesScoreAndJail(t *testing.T) {
	f := newProbeFixture(t)
	submitFor := func(m *format.NodeKey, mutate func(*format.ProbeResult)) {
		t.Helper()
		res, err := f.queries.ProbeAssignments(f.Ctx, &types.QueryProbeAssignmentsRequest{Epoch: f.Epochs.Current})
		require.NoError(t, err)
		for _, a := range res.Assignments {
			if a.MediaNodeId != m.ID {
				continue
			}
			r := f.probe(m, f.keyOf(a.ProberId))
			if mutate != nil {
				mutate(&r)
			}
			_, err := f.msgs.SubmitProbe(f.Ctx, &types.MsgSubmitProbe{Submitter: a.ProberOperator, Probe: f.signProbe(t, f.keyOf(a.ProberId), r)})
			require.NoError(t, err)
			return
		}
		t.Fatalf("no probe of %s assigned", m.ID)
	}
	health := func(m *format.NodeKey) *types.QueryNodeHealthResponse {
		t.Helper()
		h, err := f.queries.NodeHealth(f.Ctx, &types.QueryNodeHealthRequest{NodeId: m.ID})
		require.NoError(t, err)
		return h
	}

	first := f.Epochs.Current + 1
	for i := 0; i < 3; i++ {
		f.startEpoch(t, []byte{byte(i)})
		submitFor(f.media, nil) // 0.8 each time
		submitFor(f.media2, func(r *format.ProbeResult) {
			r.Connected, r.Error, r.BitrateKbps = false, "ICE failed: no candidate pair answered", 0
		})
		// media3 gets no probe at all: its prober skipped it.
	}
	f.startEpoch(t, []byte("a")) // epoch first+2's probes are still open
	require.Equal(t, registrytypes.NodeStatus_NODE_STATUS_ACTIVE, f.node(t, f.media2.ID).Status, "two failed epochs final so far")
	f.startEpoch(t, []byte("b")) // now final: the third failure in a row

	// media: 1 → 0.94 → 0.898 → 0.8686.
	h := health(f.media)
	require.Equal(t, "0.868600000000000000", h.Health.Score.String())
	require.EqualValues(t, 3, h.Health.ProbesPassed)
	require.Zero(t, h.Health.ConsecutiveFailedProbes)
	require.Equal(t, first+2, h.Health.LastProbedEpoch)
	require.Len(t, h.History, 3)
	require.Equal(t, first+2, h.History[0].Epoch, "newest first")
	require.Equal(t, "0.800000000000000000", h.History[0].ProbeQuality.String())
	require.Len(t, h.RecentProbes, 3)
	require.Equal(t, "0.868600000000000000", f.node(t, f.media.ID).Stats.QualityScore.String(), "the registry shows the score")

	for _, m := range []*format.NodeKey{f.media2, f.media3} {
		require.Equal(t, registrytypes.NodeStatus_NODE_STATUS_JAILED, f.node(t, m.ID).Status, "three failed or missing probes jail %s", m.ID)
		h := health(m)
		require.Equal(t, "0.343000000000000000", h.Health.Score.String(), "0.7³: three samples of 0")
		require.EqualValues(t, 3, h.Health.ProbesFailed)
	}
	// A missing probe: the prober's tally shows it skipped one.
	var skipped bool
	for _, o := range []*format.NodeKey{f.orch, f.orch2, f.ownOrch} {
		require.NoError(t, f.Verification.WalkOrchestratorTallies(f.Ctx, first, "", func(tl types.OrchestratorEpochTally) (bool, error) {
			skipped = skipped || (tl.OrchestratorId == o.ID && tl.ProbesSubmitted < tl.ProbesAssigned)
			return false, nil
		}))
	}
	require.True(t, skipped, "media3's prober submitted fewer probes than assigned in epoch %d", first)
}

// TestProberThatSkipsForfeits: an orchestrator with countersigned work in
// an epoch whose assigned probe it did not submit gets no orchestrator
// share; with the probe submitted it does.
func TestProberThatSkipsForfeits(t *testing.T) {
	for _, submits := range []bool{false, true} {
		f := newFixture(t)
		f.WithProbes(t, types.RecommendedMaxProbesPerEpoch)
		f.Ctx = f.Ctx.WithHeaderHash([]byte("h"))
		f.EndEpoch(t) // epoch 2 starts: orch is assigned media
		e := f.Epochs.Current
		if submits {
			r := format.ProbeResult{Epoch: e, MediaNodeId: f.media.ID, ProberId: f.orch.ID, StartedUnixMs: f.Ctx.BlockTime().UnixMilli(),
				Connected: true, RttMs: 30, BitrateKbps: 500, TargetKbps: 500}
			sp, err := format.SignProbe(f.orch, testkeeper.ChainID, r)
			require.NoError(t, err)
			_, err = f.msgs.SubmitProbe(f.Ctx, &types.MsgSubmitProbe{Submitter: f.orchOp.String(), Probe: *sp})
			require.NoError(t, err)
		}
		res := f.submit(t, f.signed(e, 1))
		require.Len(t, res.Accepted, 1)
		f.NextBlock(time.Hour)
		f.EndEpoch(t)
		f.EndEpoch(t) // epoch e is split now
		for i := 0; i < 5; i++ {
			require.NoError(t, f.EndBlock(f.Ctx))
		}
		claim, err := f.Incentives.Claimable(f.Ctx, f.orchOp)
		require.NoError(t, err)
		if submits {
			require.True(t, claim.IsPositive(), "the prober that submitted is paid")
		} else {
			require.True(t, claim.IsZero(), "the prober that skipped its probe forfeits: %s", claim)
		}
	}
}

// TestQualityHistoryKeepsTheNewestEpochs: a node scored in epochs 2 and
// 6 (not in between) keeps only the points of the last
// quality_history_epochs (2) epochs: epoch 2's point is gone at epoch 6.
func TestQualityHistoryKeepsTheNewestEpochs(t *testing.T) {
	f := newFixture(t)
	p, err := f.Verification.Params(f.Ctx)
	require.NoError(t, err)
	p.QualityHistoryEpochs = 2
	require.NoError(t, f.Verification.SetParams(f.Ctx, p))
	f.EndEpoch(t) // epoch 2
	require.Len(t, f.submit(t, f.signed(f.Epochs.Current, 1)).Accepted, 1)
	require.NoError(t, f.Verification.ScoreEpoch(f.Ctx, f.media.ID, f.Epochs.Current))
	for f.Epochs.Current < 6 {
		f.EndEpoch(t)
	}
	require.Len(t, f.submit(t, f.signed(f.Epochs.Current, 2)).Accepted, 1)
	require.NoError(t, f.Verification.ScoreEpoch(f.Ctx, f.media.ID, f.Epochs.Current))
	h, err := f.queries.NodeHealth(f.Ctx, &types.QueryNodeHealthRequest{NodeId: f.media.ID})
	require.NoError(t, err)
	require.Len(t, h.History, 1, "epoch 2's point is older than the two epochs kept")
	require.EqualValues(t, 6, h.History[0].Epoch)
	gs, err := f.Verification.ExportGenesis(f.Ctx)
	require.NoError(t, err)
	require.Len(t, gs.QualityHistory, 1, "and it is gone from state, not only from the query")
}

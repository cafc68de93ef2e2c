package keeper_test

import (
	"fmt"
	"math/rand"
	"testing"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	testkeeper "github.com/chroom/chroom/testutil/keeper"
	"github.com/chroom/chroom/testutil/sample"
	"github.com/chroom/chroom/x/incentives/keeper"
	"github.com/chroom/chroom/x/incentives/types"
	registrykeeper "github.com/chroom/chroom/x/registry/keeper"
	verificationtypes "github.com/chroom/chroom/x/verification/types"
)

// network is the three modules with two media nodes (keys 1 and 2, run by
// operators 1 and 2) and one orchestrator (key 3, operator 3).
type network struct {
	*testkeeper.Chroom
	t                *testing.T
	media1, media2   *format.NodeKey
	orch             *format.NodeKey
	op1, op2, orchOp sdk.AccAddress
	funder           sdk.AccAddress
	session          int
}

func newNetwork(t *testing.T) *network {
	c := testkeeper.NewChroom(t)
	n := &network{Chroom: c, t: t, media1: sample.NodeKey(1), media2: sample.NodeKey(2), orch: sample.NodeKey(3),
		op1: sample.AccAddress(1), op2: sample.AccAddress(2), orchOp: sample.AccAddress(3), funder: sample.AccAddress(4)}
	msgs := registrykeeper.NewMsgServerImpl(c.Registry)
	for i, op := range []sdk.AccAddress{n.op1, n.op2, n.orchOp, n.funder} {
		c.Bank.Fund(op, sdk.NewCoins(sample.Uchr(100_000_000)))
		if i == 3 {
			break
		}
		msg := sample.RegisterMediaNode(op, i+1, "DE")
		if i == 2 {
			msg = sample.RegisterOrchestrator(op, i+1, "DE")
		}
		_, err := msgs.RegisterNode(c.Backdated(), msg)
		require.NoError(t, err)
	}
	return n
}

// submit has the orchestrator submit one receipt of media in the current
// epoch with packetsLost of 10,000 packets lost, and requires acceptance.
func (n *network) submit(media *format.NodeKey, packetsLost uint64) {
	n.t.Helper()
	n.session++
	r := sample.Receipt(media, n.orch, n.Epochs.Current, n.session)
	r.PacketsLost = packetsLost
	s := sample.Attest(n.orch, testkeeper.ChainID, sample.Sign(media, n.orch, testkeeper.ChainID, r), n.session, nil)
	accepted, rejected, err := n.Verification.SubmitReceipts(n.Ctx, n.orchOp.String(), []format.SignedReceipt{s})
	require.NoError(n.t, err)
	require.Empty(n.t, rejected)
	require.Len(n.t, accepted, 1)
}

func (n *network) claimable(op sdk.AccAddress) int64 {
	n.t.Helper()
	c, err := n.Incentives.Claimable(n.Ctx, op)
	require.NoError(n.t, err)
	return c.Int64()
}

func (n *network) requireInvariants() {
	n.t.Helper()
	require.NoError(n.t, n.Incentives.PoolInvariant(n.Ctx))
	require.NoError(n.t, n.Registry.StakeInvariant(n.Ctx))
}

func TestEpochSplitExactWithDust(t *testing.T) {
	n := newNetwork(t)
	msgs := keeper.NewMsgServerImpl(n.Incentives)
	// Epoch 1: 7 uchr of fees; media 1 serves at 1% loss (quality 0.9,
	// weight 54), media 2 at 5.5% loss (quality 0.45, weight 27).
	_, err := msgs.FundPool(n.Ctx, &types.MsgFundPool{Funder: n.funder.String(), Amount: sample.Uchr(7)})
	require.NoError(t, err)
	n.submit(n.media1, 100)
	n.submit(n.media2, 550)

	n.EndEpoch(t) // epoch 1 ends: emission minted, nothing to split yet (epoch 0)
	_, err = n.Incentives.Summary(n.Ctx, 1)
	require.ErrorIs(t, err, types.ErrSummaryNotFound, "epoch 1 is split only when epoch 2 ends")
	require.Zero(t, n.claimable(n.op1))

	n.EndEpoch(t) // epoch 2 ends: epoch 1's receipts are final
	require.NoError(t, n.EndBlock(n.Ctx))

	s, err := n.Incentives.Summary(n.Ctx, 1)
	require.NoError(t, err)
	require.Equal(t, types.PayoutPhase_PAYOUT_PHASE_DONE, s.Phase)
	require.Equal(t, int64(100_000_007), s.Budget.Amount.Int64(), "budget = emission + fees")
	require.Equal(t, int64(10_000_000), s.OrchestratorBudget.Amount.Int64(), "floor(0.10 × 100000007)")
	require.Equal(t, int64(90_000_007), s.MediaBudget.Amount.Int64())
	require.Equal(t, "81.000000000000000000", s.MediaWeight.String())
	// Shares are of the epoch's 120 verified seconds (fee share × quality):
	// floor(90000007 × 54 / 120) = floor(40500003.15); floor(90000007 × 27 / 120) = floor(20250001.58)
	require.Equal(t, int64(40_500_003), n.claimable(n.op1))
	require.Equal(t, int64(20_250_001), n.claimable(n.op2))
	require.Equal(t, int64(10_000_000), n.claimable(n.orchOp))
	require.Equal(t, int64(70_750_004), s.Paid.Amount.Int64())

	pool, err := n.Incentives.Pool(n.Ctx)
	require.NoError(t, err)
	// Two emissions and the fees, minus what was credited: the dust, what
	// quality below 1 left unpaid and the second epoch's emission stay in
	// the pool.
	require.Equal(t, int64(2*100_000_000+7-70_750_004), pool.Int64())
	n.requireInvariants()

	// The registry shows the node's score: the epoch's quality (0.45, from
	// its receipts; it was not probed) folded into the starting score 1
	// with score_smoothing 0.3: 0.7 × 1 + 0.3 × 0.45.
	node, err := n.Registry.GetNode(n.Ctx, n.media2.ID)
	require.NoError(t, err)
	require.Equal(t, "0.835000000000000000", node.Stats.QualityScore.String())

	// Claiming pays the operator exactly the claimable amount, once.
	before := n.Bank.GetBalance(n.Ctx, n.op1, "uchr")
	res, err := msgs.ClaimRewards(n.Ctx, &types.MsgClaimRewards{Operator: n.op1.String()})
	require.NoError(t, err)
	require.Equal(t, sample.Uchr(40_500_003), res.Amount)
	require.Equal(t, before.Add(sample.Uchr(40_500_003)), n.Bank.GetBalance(n.Ctx, n.op1, "uchr"))
	_, err = msgs.ClaimRewards(n.Ctx, &types.MsgClaimRewards{Operator: n.op1.String()})
	require.ErrorIs(t, err, types.ErrNothingToClaim)
	n.requireInvariants()
}

func TestJailedNodeForfeitsItsShare(t *testing.T) {
	n := newNetwork(t)
	n.submit(n.media1, 100)
	n.submit(n.media2, 100)
	n.EndEpoch(t)
	_, err := n.Registry.Slash(n.Ctx, n.media2.ID, sdkmath.LegacyZeroDec(), "test")
	require.NoError(t, err)
	n.EndEpoch(t)
	require.NoError(t, n.EndBlock(n.Ctx))
	require.Equal(t, int64(40_500_000), n.claimable(n.op1), "90000000 × 54 / 120")
	require.Zero(t, n.claimable(n.op2), "a jailed node earns nothing")
	s, err := n.Incentives.Summary(n.Ctx, 1)
	require.NoError(t, err)
	require.Equal(t, int64(40_500_000+9_000_000), s.Budget.Sub(s.Paid).Amount.Int64(), "the forfeited share (and the quality shortfall) stays in the pool")
	n.requireInvariants()
}

func TestEpochWithoutWorkPaysNothing(t *testing.T) {
	n := newNetwork(t)
	n.EndEpoch(t)
	n.EndEpoch(t)
	require.NoError(t, n.EndBlock(n.Ctx))
	s, err := n.Incentives.Summary(n.Ctx, 1)
	require.NoError(t, err)
	require.Equal(t, types.PayoutPhase_PAYOUT_PHASE_DONE, s.Phase)
	require.True(t, s.Paid.IsZero())
	pool, err := n.Incentives.Pool(n.Ctx)
	require.NoError(t, err)
	require.Equal(t, int64(200_000_000), pool.Int64())
	n.requireInvariants()
}

func TestFundPoolAndClaimRejectBadInput(t *testing.T) {
	n := newNetwork(t)
	msgs := keeper.NewMsgServerImpl(n.Incentives)
	before := n.Bank.Snapshot()
	for _, tc := range []struct {
		name string
		msg  *types.MsgFundPool
		err  error
	}{
		{"other denom", &types.MsgFundPool{Funder: n.funder.String(), Amount: sdk.NewInt64Coin("atom", 5)}, types.ErrInvalidAmount},
		{"zero", &types.MsgFundPool{Funder: n.funder.String(), Amount: sample.Uchr(0)}, types.ErrInvalidAmount},
		{"bad address", &types.MsgFundPool{Funder: "nope", Amount: sample.Uchr(5)}, types.ErrInvalidAddress},
	} {
		_, err := msgs.FundPool(n.Ctx, tc.msg)
		require.ErrorIs(t, err, tc.err, tc.name)
	}
	_, err := msgs.FundPool(n.Ctx, &types.MsgFundPool{Funder: n.funder.String(), Amount: sample.Uchr(1_000_000_000)})
	require.Error(t, err, "more than the balance")
	_, err = msgs.ClaimRewards(n.Ctx, &types.MsgClaimRewards{Operator: "nope"})
	require.ErrorIs(t, err, types.ErrInvalidAddress)
	require.Equal(t, before, n.Bank.Snapshot())
	n.requireInvariants()
}

// TestPoolInvariantRandomSequences runs random sequences of funding,
// receipts, epoch ends, bounded end-blocks and claims, and checks
// pool + Σ claimable = module balance after every step.
func TestPoolInvariantRandomSequences(t *testing.T) {
	for seed := int64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			n := newNetwork(t)
			params, err := n.Incentives.Params(n.Ctx)
			require.NoError(t, err)
			params.MaxPayoutsPerBlock = 1 // force splits across blocks
			require.NoError(t, n.Incentives.SetParams(n.Ctx, params))
			msgs := keeper.NewMsgServerImpl(n.Incentives)
			ops := []sdk.AccAddress{n.op1, n.op2, n.orchOp}
			for step := 0; step < 200; step++ {
				switch rng.Intn(6) {
				case 0:
					_, err := msgs.FundPool(n.Ctx, &types.MsgFundPool{Funder: n.funder.String(), Amount: sample.Uchr(1 + rng.Int63n(1000))})
					require.NoError(t, err)
				case 1:
					n.submit([]*format.NodeKey{n.media1, n.media2}[rng.Intn(2)], uint64(rng.Intn(2000)))
				case 2:
					n.EndEpoch(t)
				case 3, 4:
					n.NextBlock(0)
					require.NoError(t, n.EndBlock(n.Ctx))
				case 5:
					_, err := msgs.ClaimRewards(n.Ctx, &types.MsgClaimRewards{Operator: ops[rng.Intn(3)].String()})
					if err != nil {
						require.ErrorIs(t, err, types.ErrNothingToClaim)
					}
				}
				require.NoError(t, n.Incentives.PoolInvariant(n.Ctx), "step %d", step)
			}
		})
	}
}

// TestPayoutsAreBoundedPerBlock splits an epoch over 10,000 media nodes:
// each end-blocker credits at most max_payouts_per_block of them.
func TestPayoutsAreBoundedPerBlock(t *testing.T) {
	const nodes = 10_000
	c := testkeeper.NewChroom(t)
	gs := verificationtypes.DefaultGenesis()
	weight := sdkmath.LegacyNewDec(60)
	total := sdkmath.LegacyZeroDec()
	for i := 0; i < nodes; i++ {
		gs.NodeTallies = append(gs.NodeTallies, verificationtypes.NodeEpochTally{
			NodeId: sample.NodeKey(i).ID, Epoch: 1, Operator: sample.AccAddress(i % 50).String(),
			Sessions: 1, VerifiedSeconds: 60, Bytes: 1000, Weight: weight,
		})
		total = total.Add(weight)
	}
	gs.EpochTotals = []verificationtypes.EpochTotals{{Epoch: 1, MediaWeight: total, Receipts: nodes, OrchestratorSeconds: nodes * 60}}
	require.NoError(t, c.Verification.InitGenesis(c.Ctx, gs))
	inc := c.Incentives
	require.NoError(t, inc.EpochEnded(c.Ctx, "chroom", 1))
	require.NoError(t, inc.EpochEnded(c.Ctx, "chroom", 2))

	blocks := 0
	for {
		blocks++
		require.NoError(t, inc.EndBlocker(c.Ctx))
		s, err := inc.Summary(c.Ctx, 1)
		require.NoError(t, err)
		if s.Phase == types.PayoutPhase_PAYOUT_PHASE_DONE {
			require.Equal(t, uint64(nodes), s.MediaNodesPaid)
			// 10000 equal weights share the media budget (90% of
			// 100000000; no orchestrator tallies) exactly: 9000 each.
			require.Equal(t, int64(90_000_000), s.Paid.Amount.Int64())
			break
		}
		require.Equal(t, uint64(blocks*types.DefaultMaxPayoutsPerBlock), s.MediaNodesPaid, "block %d", blocks)
		require.Less(t, blocks, 100)
	}
	require.Equal(t, nodes/types.DefaultMaxPayoutsPerBlock+1, blocks, "20 full blocks, then one that finishes the split")
	require.NoError(t, inc.PoolInvariant(c.Ctx))
}

// TestOrchestratorShareFollowsSeconds: the orchestrator budget is split
// by the verified seconds each orchestrator countersigned, so many short
// receipts earn no more than one long receipt of the same total time.
func TestOrchestratorShareFollowsSeconds(t *testing.T) {
	n := newNetwork(t)
	// A second orchestrator (key 4, run by the funder's account).
	_, err := registrykeeper.NewMsgServerImpl(n.Registry).RegisterNode(n.Backdated(), sample.RegisterOrchestrator(n.funder, 4, "DE"))
	require.NoError(t, err)
	short := sample.NodeKey(4)
	submit := func(orch *format.NodeKey, op sdk.AccAddress, seconds int64) {
		n.session++
		r := sample.Receipt(n.media1, orch, n.Epochs.Current, n.session)
		r.PacketsLost, r.EndUnixMs = 0, r.StartUnixMs+seconds*1000
		_, rejected, err := n.Verification.SubmitReceipts(n.Ctx, op.String(), []format.SignedReceipt{sample.Sign(n.media1, orch, testkeeper.ChainID, r)})
		require.NoError(t, err)
		require.Empty(t, rejected)
	}
	submit(n.orch, n.orchOp, 60) // one receipt of 60 s
	for i := 0; i < 30; i++ {    // thirty receipts of 1 s each
		submit(short, n.funder, 1)
	}
	fundsBefore := n.claimable(n.funder)
	n.EndEpoch(t)
	n.EndEpoch(t)
	require.NoError(t, n.EndBlock(n.Ctx))
	s, err := n.Incentives.Summary(n.Ctx, 1)
	require.NoError(t, err)
	require.Equal(t, uint64(31), s.OrchestratorReceipts)
	require.Equal(t, uint64(90), s.OrchestratorSeconds)
	// orch_B = 10,000,000: 60/90 and 30/90 of it, not 1/31 and 30/31.
	require.Equal(t, int64(6_666_666), n.claimable(n.orchOp))
	require.Equal(t, int64(3_333_333), n.claimable(n.funder)-fundsBefore)
	n.requireInvariants()
}

// TestFeesBurnAndEmissionFollowFees: with the fee rules on, each receipt
// costs its submitter a usage fee, half of an epoch's fees are burned,
// emission is 0.4 × the fees (up to emission_per_epoch), and the rest is
// split: whoever paid the fees gets back at most 0.9 of them.
func TestFeesBurnAndEmissionFollowFees(t *testing.T) {
	n := newNetwork(t)
	n.WithFees(t)
	paidBefore := n.Bank.GetBalance(n.Ctx, n.orchOp, "uchr")
	n.submit(n.media1, 0) // 60 s: 1,000 uchr at 1,000 uchr per participant-minute, quality 1
	require.Equal(t, paidBefore.SubAmount(sdkmath.NewInt(1_000)), n.Bank.GetBalance(n.Ctx, n.orchOp, "uchr"), "the submitter paid the usage fee")
	n.EndEpoch(t)
	n.EndEpoch(t)
	require.NoError(t, n.EndBlock(n.Ctx))
	s, err := n.Incentives.Summary(n.Ctx, 1)
	require.NoError(t, err)
	require.Equal(t, int64(1_000), s.Fees.Amount.Int64())
	require.Equal(t, int64(500), s.Burned.Amount.Int64(), "fee_burn_fraction 0.5")
	require.Equal(t, int64(400), s.Emission.Amount.Int64(), "min(100 CHR, 0.4 × fees)")
	require.Equal(t, int64(900), s.Budget.Amount.Int64())
	require.Equal(t, int64(810), n.claimable(n.op1))
	require.Equal(t, int64(90), n.claimable(n.orchOp))
	// Had one party run the app, the orchestrator and the node, it would
	// have paid 1,000 and earned 900.
	require.Less(t, n.claimable(n.op1)+n.claimable(n.orchOp), int64(1_000))
	n.requireInvariants()

	// Governance cannot set an emission that outgrows the burn.
	p, err := n.Incentives.Params(n.Ctx)
	require.NoError(t, err)
	p.EmissionPerFee = p.FeeBurnFraction
	require.ErrorContains(t, p.Validate(), "must be below fee_burn_fraction")
}

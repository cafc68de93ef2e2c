package keeper

import (
	"context"
	"errors"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	epochstypes "github.com/cosmos/cosmos-sdk/x/epochs/types"

	"github.com/chroom/chroom/x/incentives/types"
	registrytypes "github.com/chroom/chroom/x/registry/types"
	verificationtypes "github.com/chroom/chroom/x/verification/types"
)

// Hooks are the x/epochs hooks of x/incentives.
type Hooks struct{ k Keeper }

var _ epochstypes.EpochHooks = Hooks{}

// Hooks returns the epoch hooks to register with x/epochs.
func (k Keeper) Hooks() Hooks { return Hooks{k} }

// AfterEpochEnd mints the epoch's emission into the pool and schedules the
// split of the epoch before it, whose receipts can no longer be submitted
// (receipts are accepted for the current and the previous epoch).
func (h Hooks) AfterEpochEnd(ctx context.Context, identifier string, epoch int64) error {
	return h.k.EpochEnded(ctx, identifier, epoch)
}

// BeforeEpochStart does nothing.
func (Hooks) BeforeEpochStart(context.Context, string, int64) error { return nil }

// EpochEnded is AfterEpochEnd: for the configured identifier, it mints
// emission_per_epoch into the pool and, for epoch e = ended − 1 ≥ 1, sets
//
//	budget B_e        = min(pool − outstanding, emission + fees_e)
//	orchestrators get = B_e × orchestrator_share  (truncated; 0 without receipts)
//	media nodes get   = B_e − that                 (0 without verified work)
//
// where outstanding is what earlier, unfinished splits still owe. The
// shares themselves are credited by the end-blocker, a bounded number per
// block. It does no work proportional to the number of nodes.
func (k Keeper) EpochEnded(ctx context.Context, identifier string, ended int64) error {
	params, err := k.params.Get(ctx)
	if err != nil {
		return err
	}
	if identifier != params.EpochIdentifier {
		return nil
	}
	// Emission follows the fees of the epoch being split (e = ended − 1):
	// min(emission_per_epoch, emission_per_fee × fees_e); with
	// emission_per_fee zero it is emission_per_epoch every epoch.
	epoch := ended - 1
	fees := sdkmath.ZeroInt()
	if epoch >= 1 {
		if fees, err = getInt(k.fees.Get(ctx, epoch)); err != nil {
			return err
		}
	}
	emission := sdk.NewCoin(types.RewardDenom, params.Emission(fees))
	if emission.IsPositive() {
		if err := k.bank.MintCoins(ctx, types.ModuleName, sdk.NewCoins(emission)); err != nil {
			return err
		}
		if err := k.addPool(ctx, emission.Amount); err != nil {
			return err
		}
	}
	if epoch < 1 {
		return nil
	}
	// fee_burn_fraction of the fees is burned: paying fees is a loss even
	// to whoever earns them back.
	burned := params.Burn(fees)
	if burned.IsPositive() {
		if err := k.bank.BurnCoins(ctx, types.ModuleName, sdk.NewCoins(sdk.NewCoin(types.RewardDenom, burned))); err != nil {
			return err
		}
		if err := k.addPool(ctx, burned.Neg()); err != nil {
			return err
		}
		fees = fees.Sub(burned)
	}
	pool, err := k.Pool(ctx)
	if err != nil {
		return err
	}
	outstanding, err := k.outstanding(ctx)
	if err != nil {
		return err
	}
	budget := sdkmath.MinInt(pool.Sub(outstanding), emission.Amount.Add(fees))
	if budget.IsNegative() {
		budget = sdkmath.ZeroInt()
	}
	totals, err := k.verification.EpochTotals(ctx, epoch)
	if err != nil {
		return err
	}
	orchBudget := sdkmath.ZeroInt()
	if totals.OrchestratorSeconds > 0 {
		orchBudget = params.OrchestratorShare.MulInt(budget).TruncateInt()
	}
	mediaBudget := sdkmath.ZeroInt()
	if totals.MediaWeight.IsPositive() {
		mediaBudget = budget.Sub(orchBudget)
	}
	coin := func(a sdkmath.Int) sdk.Coin { return sdk.NewCoin(types.RewardDenom, a) }
	s := types.EpochSummary{
		Epoch: epoch, Emission: emission, Fees: coin(fees.Add(burned)), Budget: coin(budget), Burned: coin(burned),
		MediaBudget: coin(mediaBudget), OrchestratorBudget: coin(orchBudget),
		MediaWeight: totals.MediaWeight, OrchestratorReceipts: totals.OrchestratorReceipts, OrchestratorSeconds: totals.OrchestratorSeconds,
		Paid: coin(sdkmath.ZeroInt()), Phase: types.PayoutPhase_PAYOUT_PHASE_MEDIA_NODES,
	}
	if err := k.summaries.Set(ctx, epoch, s); err != nil {
		return err
	}
	if err := k.pending.Set(ctx, epoch); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventEpochRewardsScheduled{
		Epoch: epoch, Emission: emission, Budget: s.Budget,
	})
}

// outstanding is what unfinished splits still owe: Σ (budget − paid).
func (k Keeper) outstanding(ctx context.Context) (sdkmath.Int, error) {
	total := sdkmath.ZeroInt()
	err := k.pending.Walk(ctx, nil, func(epoch int64) (bool, error) {
		s, err := k.summaries.Get(ctx, epoch)
		if err != nil {
			return true, err
		}
		total = total.Add(s.MediaBudget.Amount).Add(s.OrchestratorBudget.Amount).Sub(s.Paid.Amount)
		return false, nil
	})
	return total, err
}

// EndBlocker credits the shares of pending splits, oldest epoch first, at
// most max_payouts_per_block tallies per block; the rest carry over.
func (k Keeper) EndBlocker(ctx context.Context) error {
	params, err := k.params.Get(ctx)
	if err != nil {
		return err
	}
	_, err = k.ProcessPayouts(ctx, int(params.MaxPayoutsPerBlock))
	return err
}

// ProcessPayouts credits at most limit tallies and returns how many it
// visited.
func (k Keeper) ProcessPayouts(ctx context.Context, limit int) (int, error) {
	used := 0
	for used < limit {
		var epoch int64 = -1
		err := k.pending.Walk(ctx, nil, func(e int64) (bool, error) { epoch = e; return true, nil })
		if err != nil {
			return used, err
		}
		if epoch < 0 {
			return used, nil
		}
		n, err := k.processEpoch(ctx, epoch, limit-used)
		if err != nil {
			return used, err
		}
		used += n
	}
	return used, nil
}

// processEpoch credits at most limit tallies of one epoch, advancing its
// phase and finishing it when every tally is visited.
func (k Keeper) processEpoch(ctx context.Context, epoch int64, limit int) (int, error) {
	s, err := k.summaries.Get(ctx, epoch)
	if err != nil {
		return 0, err
	}
	used := 0
	for used < limit && s.Phase != types.PayoutPhase_PAYOUT_PHASE_DONE {
		var n int
		var finished bool
		switch s.Phase {
		case types.PayoutPhase_PAYOUT_PHASE_MEDIA_NODES:
			n, finished, err = k.payMediaNodes(ctx, &s, limit-used)
		case types.PayoutPhase_PAYOUT_PHASE_ORCHESTRATORS:
			n, finished, err = k.payOrchestrators(ctx, &s, limit-used)
		default:
			finished = true
		}
		if err != nil {
			return used, err
		}
		used += n
		if finished {
			s.Phase++
			s.Cursor = ""
		}
	}
	if s.Phase == types.PayoutPhase_PAYOUT_PHASE_DONE {
		if err := k.finish(ctx, &s); err != nil {
			return used, err
		}
		// A finished epoch costs one unit of work even without tallies, so
		// the loop always progresses.
		if used == 0 {
			used = 1
		}
	}
	return used, k.summaries.Set(ctx, epoch, s)
}

func (k Keeper) finish(ctx context.Context, s *types.EpochSummary) error {
	s.FinalizedHeight = sdk.UnwrapSDKContext(ctx).BlockHeight()
	if err := k.pending.Remove(ctx, s.Epoch); err != nil {
		return err
	}
	dust := s.Budget.Sub(s.Paid)
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventEpochRewardsPaid{
		Epoch: s.Epoch, Paid: s.Paid, Dust: dust, MediaNodesPaid: s.MediaNodesPaid, OrchestratorsPaid: s.OrchestratorsPaid,
	})
}

// payMediaNodes credits media node tallies after the cursor: share =
// floor(media_budget × weight / verified_seconds_total), where weight is
// the node's Σ seconds × quality and verified_seconds_total the epoch's
// Σ seconds (orchestrator_seconds: each receipt counts once for its node
// and once for its orchestrator). A node's share is its fee share (usage
// fees are per second) scaled by its quality; what lower quality leaves
// unpaid stays in the pool. So no node is paid more than its fee share of
// the budget, (1 − fee_burn_fraction + emission_per_fee) × its fees at
// most: paying fees for fake sessions at perfect quality loses money,
// whatever the other nodes' quality. A node that is JAILED when
// its share is computed forfeits it (it stays in the pool). It also folds
// the epoch into the node's quality score (x/verification ScoreEpoch:
// QoS probes and client-attested figures), which x/registry shows.
func (k Keeper) payMediaNodes(ctx context.Context, s *types.EpochSummary, limit int) (int, bool, error) {
	n := 0
	finished := true
	err := k.verification.WalkNodeTallies(ctx, s.Epoch, s.Cursor, func(t verificationtypes.NodeEpochTally) (bool, error) {
		if n >= limit {
			finished = false
			return true, nil
		}
		n++
		s.Cursor = t.NodeId
		node, err := k.registry.GetNode(ctx, t.NodeId)
		found := err == nil
		if err != nil && !errors.Is(err, registrytypes.ErrNodeNotFound) {
			return true, err
		}
		if found && t.VerifiedSeconds > 0 {
			if err := k.verification.ScoreEpoch(ctx, t.NodeId, s.Epoch); err != nil {
				return true, err
			}
		}
		if found && node.Status == registrytypes.NodeStatus_NODE_STATUS_JAILED {
			return false, nil
		}
		if s.OrchestratorSeconds == 0 || !t.Weight.IsPositive() {
			return false, nil
		}
		share := s.MediaBudget.Amount.ToLegacyDec().Mul(t.Weight).QuoInt64(int64(s.OrchestratorSeconds)).TruncateInt()
		if err := k.credit(ctx, s, t.Operator, share); err != nil {
			return true, err
		}
		s.MediaNodesPaid++
		return false, nil
	})
	return n, finished, err
}

// payOrchestrators credits orchestrator tallies after the cursor: share =
// floor(orchestrator_budget × verified seconds / total). JAILED
// orchestrators forfeit, and so do those that submitted fewer QoS probes
// than the chain assigned them in the epoch.
func (k Keeper) payOrchestrators(ctx context.Context, s *types.EpochSummary, limit int) (int, bool, error) {
	n := 0
	finished := true
	err := k.verification.WalkOrchestratorTallies(ctx, s.Epoch, s.Cursor, func(t verificationtypes.OrchestratorEpochTally) (bool, error) {
		if n >= limit {
			finished = false
			return true, nil
		}
		n++
		s.Cursor = t.OrchestratorId
		node, err := k.registry.GetNode(ctx, t.OrchestratorId)
		if err != nil && !errors.Is(err, registrytypes.ErrNodeNotFound) {
			return true, err
		}
		if err == nil && node.Status == registrytypes.NodeStatus_NODE_STATUS_JAILED {
			return false, nil
		}
		if t.ProbesSubmitted < t.ProbesAssigned {
			return false, nil // it skipped QoS probes the chain assigned it: its share stays in the pool
		}
		if s.OrchestratorSeconds == 0 || t.VerifiedSeconds == 0 {
			return false, nil
		}
		share := s.OrchestratorBudget.Amount.Mul(sdkmath.NewIntFromUint64(t.VerifiedSeconds)).
			Quo(sdkmath.NewIntFromUint64(s.OrchestratorSeconds))
		if err := k.credit(ctx, s, t.Operator, share); err != nil {
			return true, err
		}
		s.OrchestratorsPaid++
		return false, nil
	})
	return n, finished, err
}

// credit moves share from the pool to operator's claimable balance, never
// paying an epoch more than its budget.
func (k Keeper) credit(ctx context.Context, s *types.EpochSummary, operator string, share sdkmath.Int) error {
	left := s.Budget.Amount.Sub(s.Paid.Amount)
	share = sdkmath.MinInt(share, left)
	if !share.IsPositive() {
		return nil
	}
	addr, err := k.addressCodec.StringToBytes(operator)
	if err != nil {
		return err
	}
	if err := k.addPool(ctx, share.Neg()); err != nil {
		return err
	}
	if err := k.addClaimable(ctx, addr, share); err != nil {
		return err
	}
	s.Paid = s.Paid.AddAmount(share)
	return nil
}

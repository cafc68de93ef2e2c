package keeper

import (
	"context"
	"fmt"
	"math"
	"time"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/hdevalence/ed25519consensus"

	"github.com/chroom/chroom/format"
	registrytypes "github.com/chroom/chroom/x/registry/types"
	"github.com/chroom/chroom/x/verification/types"
)

// candidate is a receipt that passed every check but its signatures.
type candidate struct {
	index    int
	signed   *format.SignedReceipt
	media    registrytypes.Node
	orch     registrytypes.Node
	payload  []byte
	key      markerKey
	hash     []byte
	seconds  uint64
	quality  sdkmath.LegacyDec
	bytesSum uint64
}

// SubmitReceipts checks each receipt of a batch on its own and records the
// accepted ones (DESIGN.md §2): well-formed; media node and orchestrator
// registered with the right type and ACTIVE; submitter operates the
// orchestrator; epoch current or previous; (epoch, media node, session)
// never accepted before nor twice in the batch; duration ≤ one epoch;
// bytes_in + bytes_out ≤ max_egress_kbps × duration; packets_lost ≤
// packets_sent; both signatures valid for this chain; and the node's
// verified seconds in the epoch ≤ max_sessions × epoch length. The signatures
// of all remaining receipts are checked in one ed25519 batch (ZIP-215),
// falling back to one-by-one checks only when the batch fails.
//
// It returns the accepted indexes and the rejections. Errors (which fail
// the whole message): ErrInvalidAddress, ErrNoReceipts,
// ErrTooManyReceipts, ErrEpochNotFound, and store errors.
func (k Keeper) SubmitReceipts(ctx context.Context, submitter string, receipts []format.SignedReceipt) ([]uint32, []types.Rejection, error) {
	submitterAddr, err := k.addressCodec.StringToBytes(submitter)
	if err != nil {
		return nil, nil, errorsmod.Wrapf(types.ErrInvalidAddress, "submitter %q: %s", submitter, err)
	}
	params, err := k.params.Get(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(receipts) == 0 {
		return nil, nil, errorsmod.Wrap(types.ErrNoReceipts, "receipts is empty")
	}
	if len(receipts) > int(params.MaxReceiptsPerMsg) {
		return nil, nil, errorsmod.Wrapf(types.ErrTooManyReceipts, "%d receipts, at most %d per message", len(receipts), params.MaxReceiptsPerMsg)
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	sdkCtx.GasMeter().ConsumeGas(params.VerifyGasPerReceipt*uint64(len(receipts)), "verify usage receipts")

	current, epochSeconds, err := k.CurrentEpoch(ctx)
	if err != nil {
		return nil, nil, err
	}
	chainID := sdkCtx.ChainID()
	operator := sdk.AccAddress(submitterAddr).String()

	var (
		accepted  []uint32
		rejected  []types.Rejection
		cands     []candidate
		inBatch   = make(map[string]bool, len(receipts))
		nodeCache = make(map[string]nodeLookup)
	)
	reject := func(i int, r *format.UsageReceipt, reason types.RejectReason, detail string) error {
		rejected = append(rejected, types.Rejection{Index: uint32(i), Reason: reason, Detail: detail})
		ev := &types.EventReceiptRejected{Index: uint32(i), Reason: reason, Detail: detail}
		if r != nil {
			ev.MediaNodeId, ev.SessionId = r.MediaNodeId, r.SessionIDHex()
		}
		return sdkCtx.EventManager().EmitTypedEvent(ev)
	}

	for i := range receipts {
		s := &receipts[i]
		r := s.Receipt
		if reason, detail := checkShape(s); reason != types.RejectReason_REJECT_REASON_UNSPECIFIED {
			if err := reject(i, r, reason, detail); err != nil {
				return nil, nil, err
			}
			continue
		}
		reason, detail, c, err := k.checkAgainstState(ctx, params, s, current, epochSeconds, operator, nodeCache)
		if err != nil {
			return nil, nil, err
		}
		if reason == types.RejectReason_REJECT_REASON_UNSPECIFIED {
			id := string(collectionsKeyBytes(c.key))
			if inBatch[id] {
				reason, detail = types.RejectReason_REJECT_REASON_DUPLICATE, "the same (epoch, media node, session) appears earlier in this batch"
			}
			inBatch[id] = true
		}
		if reason != types.RejectReason_REJECT_REASON_UNSPECIFIED {
			if err := reject(i, r, reason, detail); err != nil {
				return nil, nil, err
			}
			continue
		}
		c.index = i
		c.signed = s
		cands = append(cands, c)
	}

	good := verifySignatures(chainID, cands)
	work := newBatchWork()
	// Usage fees: each accepted receipt costs its submitter
	// UsageFee(seconds); a receipt the submitter cannot pay is refused.
	payer := sdk.AccAddress(submitterAddr)
	spent := params.UsageFee(0) // zero, in the price's denom
	feesByEpoch := map[int64]sdk.Coin{}
	for j, c := range cands {
		if reason := good[j]; reason != types.RejectReason_REJECT_REASON_UNSPECIFIED {
			detail := "media node signature does not verify with the registered key for chain " + chainID
			if reason == types.RejectReason_REJECT_REASON_BAD_ORCHESTRATOR_SIGNATURE {
				detail = "orchestrator countersignature does not verify with the registered key for chain " + chainID
			}
			if err := reject(c.index, c.signed.Receipt, reason, detail); err != nil {
				return nil, nil, err
			}
			continue
		}
		over, detail, err := k.exceedsSessions(ctx, c, work, epochSeconds)
		if err != nil {
			return nil, nil, err
		}
		if over {
			if err := reject(c.index, c.signed.Receipt, types.RejectReason_REJECT_REASON_SESSIONS_EXCEED_CAPACITY, detail); err != nil {
				return nil, nil, err
			}
			continue
		}
		if fee := params.UsageFee(c.seconds); fee.IsPositive() {
			total := spent.Add(fee)
			if k.fees.c == nil || !k.fees.c.CanPay(ctx, payer, total) {
				if err := reject(c.index, c.signed.Receipt, types.RejectReason_REJECT_REASON_UNPAID,
					fmt.Sprintf("the submitter cannot pay the usage fee of %s (%s for the batch so far)", fee, total)); err != nil {
					return nil, nil, err
				}
				continue
			}
			spent = total
			e := c.signed.Receipt.Epoch
			if prev, ok := feesByEpoch[e]; ok {
				fee = prev.Add(fee)
			}
			feesByEpoch[e] = fee
		}
		if err := k.accept(ctx, c, work); err != nil {
			return nil, nil, err
		}
		accepted = append(accepted, uint32(c.index))
	}
	if err := k.commitWork(ctx, work); err != nil {
		return nil, nil, err
	}
	// At most two epochs (current and previous): in order, for determinism.
	for _, e := range []int64{current - 1, current} {
		if fee, ok := feesByEpoch[e]; ok {
			if err := k.fees.c.CollectUsageFee(ctx, payer, e, fee); err != nil {
				return nil, nil, err
			}
		}
	}
	return accepted, rejected, nil
}

// checkShape applies the stateless checks.
func checkShape(s *format.SignedReceipt) (types.RejectReason, string) {
	r := s.Receipt
	if r == nil {
		return types.RejectReason_REJECT_REASON_MALFORMED, "receipt is missing"
	}
	if r.PacketsLost > r.PacketsSent {
		return types.RejectReason_REJECT_REASON_IMPOSSIBLE_LOSS,
			fmt.Sprintf("packets_lost %d exceeds packets_sent %d", r.PacketsLost, r.PacketsSent)
	}
	if err := r.ValidateBasic(); err != nil {
		return types.RejectReason_REJECT_REASON_MALFORMED, err.Error()
	}
	if len(s.MediaNodeSignature) != format.SignatureBytes || len(s.OrchestratorSignature) != format.SignatureBytes {
		return types.RejectReason_REJECT_REASON_MALFORMED, "both signatures must be 64 bytes"
	}
	return types.RejectReason_REJECT_REASON_UNSPECIFIED, ""
}

type nodeLookup struct {
	node  registrytypes.Node
	found bool
}

func (k Keeper) lookup(ctx context.Context, cache map[string]nodeLookup, id string) (registrytypes.Node, bool, error) {
	if l, ok := cache[id]; ok {
		return l.node, l.found, nil
	}
	n, err := k.registry.GetNode(ctx, id)
	if err != nil && !errorsmod.IsOf(err, registrytypes.ErrNodeNotFound) {
		return registrytypes.Node{}, false, err
	}
	found := err == nil
	if found && n.NodeType == registrytypes.NodeType_NODE_TYPE_MEDIA {
		// Receipts are checked against the capacity the node's stake
		// backs (x/registry stake_per_session, stake_per_egress_mbps),
		// not the capacity it declared.
		p, err := k.registry.Params(ctx)
		if err != nil {
			return registrytypes.Node{}, false, err
		}
		n.Capacity = p.BackedCapacity(n)
	}
	l := nodeLookup{node: n, found: found}
	cache[id] = l
	return l.node, l.found, nil
}

// ReceiptTimeGrace is the slack on receipt times against the block time:
// media node clocks, BFT time and the delay before an epoch change is seen.
const ReceiptTimeGrace = 10 * time.Minute

// checkAgainstState applies the checks that read state, cheapest first.
func (k Keeper) checkAgainstState(
	ctx context.Context, params types.Params, s *format.SignedReceipt, current, epochSeconds int64,
	submitter string, cache map[string]nodeLookup,
) (types.RejectReason, string, candidate, error) {
	r := s.Receipt
	var c candidate
	if current == 0 || (r.Epoch != current && r.Epoch != current-1) {
		return types.RejectReason_REJECT_REASON_STALE_EPOCH,
			fmt.Sprintf("epoch %d is neither the current epoch %d nor the previous one", r.Epoch, current), c, nil
	}
	media, found, err := k.lookup(ctx, cache, r.MediaNodeId)
	if err != nil {
		return 0, "", c, err
	}
	if !found || media.NodeType != registrytypes.NodeType_NODE_TYPE_MEDIA {
		return types.RejectReason_REJECT_REASON_UNKNOWN_MEDIA_NODE, "no media node " + r.MediaNodeId + " is registered", c, nil
	}
	if media.Status != registrytypes.NodeStatus_NODE_STATUS_ACTIVE {
		return types.RejectReason_REJECT_REASON_MEDIA_NODE_NOT_ACTIVE, "media node " + r.MediaNodeId + " is " + media.Status.String(), c, nil
	}
	orch, found, err := k.lookup(ctx, cache, r.OrchestratorId)
	if err != nil {
		return 0, "", c, err
	}
	if !found || orch.NodeType != registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR {
		return types.RejectReason_REJECT_REASON_UNKNOWN_ORCHESTRATOR, "no orchestrator " + r.OrchestratorId + " is registered", c, nil
	}
	if orch.Status != registrytypes.NodeStatus_NODE_STATUS_ACTIVE {
		return types.RejectReason_REJECT_REASON_ORCHESTRATOR_NOT_ACTIVE, "orchestrator " + r.OrchestratorId + " is " + orch.Status.String(), c, nil
	}
	if orch.Operator != submitter {
		return types.RejectReason_REJECT_REASON_NOT_ORCHESTRATOR_OPERATOR,
			"orchestrator " + r.OrchestratorId + " is operated by " + orch.Operator + ", not the submitter", c, nil
	}
	seconds := r.DurationSeconds()
	durationMs := uint64(r.EndUnixMs - r.StartUnixMs)
	if seconds == 0 {
		return types.RejectReason_REJECT_REASON_TOO_SHORT,
			fmt.Sprintf("segment lasts %d ms; receipts must cover at least one second", durationMs), c, nil
	}
	// Receipt times against the block time (BFT time: validators' median
	// clock): a segment cannot end in the future, nor start before the
	// previous epoch — the oldest one still submittable — could have
	// begun.
	now := sdk.UnwrapSDKContext(ctx).BlockTime().UnixMilli()
	if r.EndUnixMs > now+ReceiptTimeGrace.Milliseconds() {
		return types.RejectReason_REJECT_REASON_OUT_OF_TIME,
			fmt.Sprintf("segment ends %d ms after the block time (grace %s)", r.EndUnixMs-now, ReceiptTimeGrace), c, nil
	}
	if oldest := now - 2*epochSeconds*1000 - ReceiptTimeGrace.Milliseconds(); r.StartUnixMs < oldest {
		return types.RejectReason_REJECT_REASON_OUT_OF_TIME,
			fmt.Sprintf("segment starts %d ms before the previous epoch could have begun (two epochs of %d s and %s before the block time)",
				oldest-r.StartUnixMs, epochSeconds, ReceiptTimeGrace), c, nil
	}
	if epochSeconds > 0 && durationMs > uint64(epochSeconds)*1000 {
		return types.RejectReason_REJECT_REASON_DURATION_TOO_LONG,
			fmt.Sprintf("segment lasts %d ms, longer than one epoch (%d s)", durationMs, epochSeconds), c, nil
	}
	// bytes × 8 ≤ kbit/s × 1000 × ms / 1000 = kbps × ms.
	total := sdkmath.NewIntFromUint64(r.BytesIn).Add(sdkmath.NewIntFromUint64(r.BytesOut))
	allowed := sdkmath.NewIntFromUint64(media.Capacity.MaxEgressKbps).Mul(sdkmath.NewIntFromUint64(durationMs))
	if !total.IsUint64() || total.MulRaw(8).GT(allowed) {
		return types.RejectReason_REJECT_REASON_BYTES_EXCEED_CAPACITY,
			fmt.Sprintf("%s bytes in %d ms exceed the node's %d kbit/s", total, durationMs, media.Capacity.MaxEgressKbps), c, nil
	}
	key := collections.Join3(r.Epoch, r.MediaNodeId, r.SessionId)
	seen, err := k.replay.Has(ctx, key)
	if err != nil {
		return 0, "", c, err
	}
	if seen {
		return types.RejectReason_REJECT_REASON_DUPLICATE, "a receipt for this (epoch, media node, session) was already accepted", c, nil
	}
	payload, err := r.Marshal()
	if err != nil {
		return types.RejectReason_REJECT_REASON_MALFORMED, err.Error(), c, nil
	}
	hash, err := r.Hash()
	if err != nil {
		return types.RejectReason_REJECT_REASON_MALFORMED, err.Error(), c, nil
	}
	return types.RejectReason_REJECT_REASON_UNSPECIFIED, "", candidate{
		media: media, orch: orch, payload: payload, key: key, hash: hash, seconds: seconds,
		quality: types.Quality(params, r), bytesSum: r.BytesIn + r.BytesOut,
	}, nil
}

// verifySignatures checks both signatures of every candidate and returns,
// per candidate, UNSPECIFIED when both verify or the reason otherwise. One
// batch verification covers all of them; only if it fails are they
// checked one by one to find the bad ones.
func verifySignatures(chainID string, cands []candidate) []types.RejectReason {
	out := make([]types.RejectReason, len(cands))
	if len(cands) == 0 {
		return out
	}
	type item struct{ pub, msg, sig []byte }
	items := make([]item, 0, 2*len(cands))
	for _, c := range cands {
		m, errM := format.SignBytes(format.ObjectUsageReceipt, chainID, c.payload)
		o, errO := format.SignBytes(format.ObjectReceiptCountersignature, chainID, c.payload)
		if errM != nil || errO != nil {
			// Only an invalid chain ID fails here; nothing can verify.
			for i := range out {
				out[i] = types.RejectReason_REJECT_REASON_BAD_MEDIA_NODE_SIGNATURE
			}
			return out
		}
		items = append(items, item{c.media.Pubkey, m, c.signed.MediaNodeSignature}, item{c.orch.Pubkey, o, c.signed.OrchestratorSignature})
	}
	bv := ed25519consensus.NewPreallocatedBatchVerifier(len(items))
	for _, it := range items {
		bv.Add(it.pub, it.msg, it.sig)
	}
	if bv.Verify() {
		return out
	}
	for j := range cands {
		switch {
		case !ed25519consensus.Verify(items[2*j].pub, items[2*j].msg, items[2*j].sig):
			out[j] = types.RejectReason_REJECT_REASON_BAD_MEDIA_NODE_SIGNATURE
		case !ed25519consensus.Verify(items[2*j+1].pub, items[2*j+1].msg, items[2*j+1].sig):
			out[j] = types.RejectReason_REJECT_REASON_BAD_ORCHESTRATOR_SIGNATURE
		}
	}
	return out
}

// batchWork sums a batch's accepted receipts per (epoch, media node),
// (epoch, orchestrator) and epoch, so each tally is written once per
// batch rather than once per receipt. Keys are kept in first-seen order
// (the order of the batch), never in map order.
type batchWork struct {
	// stored caches the verified seconds already on chain per (epoch, node).
	stored     map[epochNode]uint64
	nodes      map[epochNode]*types.NodeEpochTally
	nodeOrder  []epochNode
	orchs      map[epochNode]*types.OrchestratorEpochTally
	orchOrder  []epochNode
	totals     map[int64]*types.EpochTotals
	totalOrder []int64
}

// epochNode is a comparable (epoch, node ID) map key; collections.Pair
// holds pointers and cannot be one.
type epochNode struct {
	epoch int64
	id    string
}

func (e epochNode) pair() collections.Pair[int64, string] { return collections.Join(e.epoch, e.id) }

func newBatchWork() *batchWork {
	return &batchWork{
		stored: map[epochNode]uint64{},
		nodes:  map[epochNode]*types.NodeEpochTally{},
		orchs:  map[epochNode]*types.OrchestratorEpochTally{},
		totals: map[int64]*types.EpochTotals{},
	}
}

// exceedsSessions reports whether accepting c would give its media node
// more verified seconds in the epoch than max_sessions × epoch length:
// more concurrent sessions than it declared it can carry.
func (k Keeper) exceedsSessions(ctx context.Context, c candidate, w *batchWork, epochSeconds int64) (bool, string, error) {
	if epochSeconds <= 0 {
		return false, "", nil
	}
	r := c.signed.Receipt
	key := epochNode{r.Epoch, r.MediaNodeId}
	stored, ok := w.stored[key]
	if !ok {
		t, err := k.NodeTally(ctx, r.Epoch, r.MediaNodeId)
		if err != nil {
			return false, "", err
		}
		stored = t.VerifiedSeconds
		w.stored[key] = stored
	}
	used := stored
	if t, ok := w.nodes[key]; ok {
		used += t.VerifiedSeconds
	}
	limit := uint64(c.media.Capacity.MaxSessions) * uint64(epochSeconds)
	if used+c.seconds > limit {
		return true, fmt.Sprintf("media node %s would have %d verified seconds in epoch %d, more than max_sessions %d × %d s",
			r.MediaNodeId, used+c.seconds, r.Epoch, c.media.Capacity.MaxSessions, epochSeconds), nil
	}
	return false, "", nil
}

// accept records one accepted receipt: its replay marker and event now,
// its tallies into w.
func (k Keeper) accept(ctx context.Context, c candidate, w *batchWork) error {
	r := c.signed.Receipt
	if err := k.replay.Set(ctx, c.key, c.hash); err != nil {
		return err
	}
	weight := c.quality.MulInt64(int64(c.seconds))

	nkey := epochNode{r.Epoch, r.MediaNodeId}
	nt, ok := w.nodes[nkey]
	if !ok {
		t := types.NodeEpochTally{NodeId: r.MediaNodeId, Epoch: r.Epoch, Weight: zeroDec()}
		nt = &t
		w.nodes[nkey], w.nodeOrder = nt, append(w.nodeOrder, nkey)
	}
	nt.Operator = c.media.Operator
	nt.Sessions++
	nt.VerifiedSeconds += c.seconds
	nt.Bytes = satAdd(nt.Bytes, c.bytesSum)
	nt.Weight = nt.Weight.Add(weight)

	okey := epochNode{r.Epoch, r.OrchestratorId}
	ot, ok := w.orchs[okey]
	if !ok {
		ot = &types.OrchestratorEpochTally{OrchestratorId: r.OrchestratorId, Epoch: r.Epoch}
		w.orchs[okey], w.orchOrder = ot, append(w.orchOrder, okey)
	}
	ot.Operator = c.orch.Operator
	ot.Receipts++
	ot.VerifiedSeconds += c.seconds

	tt, ok := w.totals[r.Epoch]
	if !ok {
		t := emptyTotals(r.Epoch)
		tt = &t
		w.totals[r.Epoch], w.totalOrder = tt, append(w.totalOrder, r.Epoch)
	}
	tt.MediaWeight = tt.MediaWeight.Add(weight)
	tt.OrchestratorReceipts++
	tt.OrchestratorSeconds += c.seconds
	tt.Receipts++

	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventReceiptAccepted{
		MediaNodeId: r.MediaNodeId, OrchestratorId: r.OrchestratorId, Epoch: r.Epoch,
		SessionId: r.SessionIDHex(), VerifiedSeconds: c.seconds, Quality: c.quality.String(),
	})
}

// commitWork adds a batch's sums to the stored tallies and totals and to
// the registry's node statistics.
func (k Keeper) commitWork(ctx context.Context, w *batchWork) error {
	for _, key := range w.nodeOrder {
		add := w.nodes[key]
		nt, err := k.NodeTally(ctx, key.epoch, key.id)
		if err != nil {
			return err
		}
		nt.Operator = add.Operator
		nt.Sessions += add.Sessions
		nt.VerifiedSeconds += add.VerifiedSeconds
		nt.Bytes = satAdd(nt.Bytes, add.Bytes)
		nt.Weight = nt.Weight.Add(add.Weight)
		if err := k.nodeTallies.Set(ctx, key.pair(), nt); err != nil {
			return err
		}
		if err := k.registry.RecordVerifiedWork(ctx, key.id, key.epoch, add.Sessions, add.VerifiedSeconds, add.Bytes); err != nil {
			return err
		}
	}
	for _, key := range w.orchOrder {
		add := w.orchs[key]
		ot, err := k.orchTallies.Get(ctx, key.pair())
		if err != nil && !isNotFound(err) {
			return err
		}
		ot.OrchestratorId, ot.Epoch, ot.Operator = add.OrchestratorId, add.Epoch, add.Operator
		ot.Receipts += add.Receipts
		ot.VerifiedSeconds += add.VerifiedSeconds
		if err := k.orchTallies.Set(ctx, key.pair(), ot); err != nil {
			return err
		}
	}
	for _, epoch := range w.totalOrder {
		add := w.totals[epoch]
		t, err := k.EpochTotals(ctx, epoch)
		if err != nil {
			return err
		}
		t.MediaWeight = t.MediaWeight.Add(add.MediaWeight)
		t.OrchestratorReceipts += add.OrchestratorReceipts
		t.OrchestratorSeconds += add.OrchestratorSeconds
		t.Receipts += add.Receipts
		if err := k.totals.Set(ctx, epoch, t); err != nil {
			return err
		}
	}
	return nil
}

// collectionsKeyBytes renders a marker key as a map key for in-batch
// duplicate detection.
func collectionsKeyBytes(k markerKey) []byte {
	out := fmt.Appendf(nil, "%d/%s/", k.K1(), k.K2())
	return append(out, k.K3()...)
}

// satAdd adds two counters, saturating at the largest uint64 instead of
// wrapping around.
func satAdd(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

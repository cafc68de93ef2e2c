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
	index   int
	signed  *format.SignedReceipt
	media   registrytypes.Node
	orch    registrytypes.Node
	payload []byte
	// mediaMsg and orchMsg are the receipt's signed bytes for the media
	// node and the orchestrator.
	mediaMsg, orchMsg []byte
	key               markerKey
	hash              []byte
	seconds           uint64
	quality           sdkmath.LegacyDec
	bytesSum          uint64
	// grantMsg and statementMsg are the attestation's signed bytes (nil
	// for an unattested receipt).
	grantMsg, statementMsg []byte
}

// epochWindow is the epoch state receipts are checked against.
type epochWindow struct {
	current, seconds int64
	// startMs is when the current epoch started (x/epochs
	// current_epoch_start_time), Unix ms.
	startMs int64
}

// appLookup caches an app's billing state within one batch.
type appLookup struct {
	balance           sdk.Coin
	found, authorized bool
}

// SubmitReceipts checks each receipt of a batch on its own and records the
// accepted ones (DESIGN.md §2, README "Receipt checks"): well-formed; media
// node and orchestrator registered with the right type and ACTIVE;
// submitter operates the orchestrator; the app (if named) exists and lets
// the orchestrator bill it; epoch current or previous; at least one
// second long; the segment inside the epoch it claims, not in the future
// and not before its media node registered; (epoch, media node, session)
// never accepted before nor twice in the batch; duration ≤ one epoch;
// bytes_in + bytes_out ≤ max_egress_kbps × duration; packets_lost ≤
// packets_sent; a client attestation, if present, matching the receipt;
// every signature (two, or four with an attestation) valid for this
// chain; the node's verified seconds in the epoch ≤ max_sessions × epoch
// length; and the payer (app escrow or submitter) able to pay the usage
// fee. The signatures of all remaining receipts are checked in one
// ed25519 batch (ZIP-215), falling back to one-by-one checks only when
// the batch fails.
//
// An attested receipt is credited min(its duration, the client's attested
// elapsed time) and its quality is AttestedQuality; an unattested one has
// quality unattested_quality.
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
	attested := 0
	for i := range receipts {
		if receipts[i].Attestation != nil {
			attested++
		}
	}
	// An attestation doubles the signature checks.
	sdkCtx.GasMeter().ConsumeGas(params.VerifyGasPerReceipt*uint64(len(receipts)+attested), "verify usage receipts")

	win, err := k.epochWindow(ctx)
	if err != nil {
		return nil, nil, err
	}
	current, epochSeconds := win.current, win.seconds
	chainID := sdkCtx.ChainID()
	operator := sdk.AccAddress(submitterAddr).String()

	var (
		accepted  []uint32
		rejected  []types.Rejection
		cands     []candidate
		inBatch   = make(map[string]bool, len(receipts))
		nodeCache = make(map[string]nodeLookup)
		appCache  = make(map[string]appLookup)
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
		reason, detail, c, err := k.checkAgainstState(ctx, params, s, win, chainID, operator, nodeCache, appCache)
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

	good := verifySignatures(cands)
	work := newBatchWork()
	// Usage fees: each accepted receipt costs UsageFee(seconds), paid by
	// its app's escrow (app_id set) or else by the submitter; a receipt
	// whose payer cannot pay is refused.
	payer := sdk.AccAddress(submitterAddr)
	spent := params.UsageFee(0) // zero, in the price's denom
	feesByEpoch := map[int64]sdk.Coin{}
	appSpent := map[string]sdk.Coin{}
	type appEpoch struct {
		app   string
		epoch int64
	}
	appFees := map[appEpoch]sdk.Coin{}
	var appOrder []appEpoch
	for j, c := range cands {
		if reason := good[j]; reason != types.RejectReason_REJECT_REASON_UNSPECIFIED {
			var detail string
			switch reason {
			case types.RejectReason_REJECT_REASON_BAD_ORCHESTRATOR_SIGNATURE:
				detail = "orchestrator countersignature does not verify with the registered key for chain " + chainID
			case types.RejectReason_REJECT_REASON_BAD_ATTESTATION:
				detail = "the grant's signature (orchestrator key) or the usage statement's (the grant's client key) does not verify for chain " + chainID
			default:
				detail = "media node signature does not verify with the registered key for chain " + chainID
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
			e := c.signed.Receipt.Epoch
			if app := c.signed.Receipt.AppId; app != "" {
				total := fee
				if prev, ok := appSpent[app]; ok {
					total = prev.Add(fee)
				}
				if bal := appCache[app+"\x00"+c.orch.Id].balance; bal.Denom != fee.Denom || bal.Amount.LT(total.Amount) {
					if err := reject(c.index, c.signed.Receipt, types.RejectReason_REJECT_REASON_UNPAID,
						fmt.Sprintf("app %s's escrow (%s) cannot pay the usage fee of %s (%s for the batch so far)", app, bal, fee, total)); err != nil {
						return nil, nil, err
					}
					continue
				}
				appSpent[app] = total
				key := appEpoch{app, e}
				if prev, ok := appFees[key]; ok {
					appFees[key] = prev.Add(fee)
				} else {
					appFees[key], appOrder = fee, append(appOrder, key)
				}
			} else {
				total := spent.Add(fee)
				if k.fees.c == nil || !k.fees.c.CanPay(ctx, payer, total) {
					if err := reject(c.index, c.signed.Receipt, types.RejectReason_REJECT_REASON_UNPAID,
						fmt.Sprintf("the submitter cannot pay the usage fee of %s (%s for the batch so far)", fee, total)); err != nil {
						return nil, nil, err
					}
					continue
				}
				spent = total
				if prev, ok := feesByEpoch[e]; ok {
					fee = prev.Add(fee)
				}
				feesByEpoch[e] = fee
			}
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
	// Apps in the order the batch first charged them.
	for _, key := range appOrder {
		if err := k.fees.c.CollectAppFee(ctx, key.app, key.epoch, appFees[key]); err != nil {
			return nil, nil, err
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
	if len(r.AppId) > MaxAppIDBytes {
		return types.RejectReason_REJECT_REASON_MALFORMED, fmt.Sprintf("app_id is longer than %d bytes", MaxAppIDBytes)
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

// ReceiptTimeGrace is the slack on receipt times against the block time,
// epoch start times, node registration and grant validity: media node
// clocks, BFT time and the delay before an epoch change is seen.
const ReceiptTimeGrace = 10 * time.Minute

// MaxAppIDBytes bounds a receipt's app_id (x/incentives app IDs are at
// most 64 bytes).
const MaxAppIDBytes = 64

// epochWindow returns the current epoch, its length and start.
func (k Keeper) epochWindow(ctx context.Context) (epochWindow, error) {
	p, err := k.params.Get(ctx)
	if err != nil {
		return epochWindow{}, err
	}
	info, err := k.epochs.GetEpochInfo(sdk.UnwrapSDKContext(ctx), p.EpochIdentifier)
	if err != nil {
		return epochWindow{}, fmt.Errorf("%w: x/epochs has no %q epoch: %s", types.ErrEpochNotFound, p.EpochIdentifier, err)
	}
	w := epochWindow{seconds: int64(info.Duration.Seconds()), startMs: info.CurrentEpochStartTime.UnixMilli()}
	if info.EpochCountingStarted {
		w.current = info.CurrentEpoch
	}
	return w, nil
}

// app looks up (cached) whether app exists, lets orch bill it, and its
// balance.
func (k Keeper) app(ctx context.Context, cache map[string]appLookup, app, orch string) (appLookup, error) {
	key := app + "\x00" + orch
	if l, ok := cache[key]; ok {
		return l, nil
	}
	var l appLookup
	if k.fees.c != nil {
		bal, found, authorized, err := k.fees.c.AppBilling(ctx, app, orch)
		if err != nil {
			return l, err
		}
		l = appLookup{balance: bal, found: found, authorized: authorized}
	}
	cache[key] = l
	return l, nil
}

// checkAgainstState applies the checks that read state, cheapest first.
func (k Keeper) checkAgainstState(
	ctx context.Context, params types.Params, s *format.SignedReceipt, win epochWindow, chainID string,
	submitter string, cache map[string]nodeLookup, apps map[string]appLookup,
) (types.RejectReason, string, candidate, error) {
	r := s.Receipt
	var c candidate
	current, epochSeconds := win.current, win.seconds
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
	if r.AppId != "" {
		a, err := k.app(ctx, apps, r.AppId, r.OrchestratorId)
		if err != nil {
			return 0, "", c, err
		}
		if !a.found {
			return types.RejectReason_REJECT_REASON_UNKNOWN_APP, "no app " + r.AppId + " exists", c, nil
		}
		if !a.authorized {
			return types.RejectReason_REJECT_REASON_APP_NOT_AUTHORIZED,
				"app " + r.AppId + " does not let orchestrator " + r.OrchestratorId + " bill it", c, nil
		}
	}
	seconds := r.DurationSeconds()
	durationMs := uint64(r.EndUnixMs - r.StartUnixMs)
	if seconds == 0 {
		return types.RejectReason_REJECT_REASON_TOO_SHORT,
			fmt.Sprintf("segment lasts %d ms; receipts must cover at least one second", durationMs), c, nil
	}
	if reason, detail := checkTimes(r, win, sdk.UnwrapSDKContext(ctx).BlockTime().UnixMilli(), media); reason != types.RejectReason_REJECT_REASON_UNSPECIFIED {
		return reason, detail, c, nil
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
	mediaMsg, errM := format.SignBytes(format.ObjectUsageReceipt, chainID, payload)
	orchMsg, errO := format.SignBytes(format.ObjectReceiptCountersignature, chainID, payload)
	if errM != nil || errO != nil {
		// Only an invalid chain ID fails here; nothing can verify.
		return types.RejectReason_REJECT_REASON_BAD_MEDIA_NODE_SIGNATURE, "invalid chain ID " + chainID, c, nil
	}
	hash, err := r.Hash()
	if err != nil {
		return types.RejectReason_REJECT_REASON_MALFORMED, err.Error(), c, nil
	}
	c = candidate{
		media: media, orch: orch, mediaMsg: mediaMsg, orchMsg: orchMsg, key: key, hash: hash, seconds: seconds,
		quality: params.UnattestedQuality, bytesSum: r.BytesIn + r.BytesOut,
	}
	if a := s.Attestation; a != nil {
		if err := format.CheckAttestation(r, a, ReceiptTimeGrace.Milliseconds()); err != nil {
			return types.RejectReason_REJECT_REASON_BAD_ATTESTATION, err.Error(), c, nil
		}
		if c.grantMsg, c.statementMsg, err = format.AttestationSignBytes(chainID, a); err != nil {
			return types.RejectReason_REJECT_REASON_BAD_ATTESTATION, err.Error(), c, nil
		}
		// Credited: no more than the client attests it was there.
		if attestedS := a.Statement.ElapsedMs / 1000; attestedS < c.seconds {
			if attestedS == 0 {
				return types.RejectReason_REJECT_REASON_TOO_SHORT,
					fmt.Sprintf("the client attests %d ms; receipts must cover at least one second", a.Statement.ElapsedMs), c, nil
			}
			c.seconds = attestedS
		}
		c.quality = types.AttestedQuality(params, r, a.Statement)
	}
	return types.RejectReason_REJECT_REASON_UNSPECIFIED, "", c, nil
}

// checkTimes binds a receipt's segment to time the chain knows (block
// times, BFT time: the validators' median clock), each ± ReceiptTimeGrace:
// it cannot end after the block time, nor start before the previous epoch
// could have begun (two epoch lengths before the block time); it lies
// inside the epoch it claims (the current epoch: from its start; the
// previous one: from one epoch length before the current start to that
// start) when x/epochs reports the current start time (it does once
// epoch counting has started); and it starts no earlier than its media
// node registered.
func checkTimes(r *format.UsageReceipt, win epochWindow, nowMs int64, media registrytypes.Node) (types.RejectReason, string) {
	grace := ReceiptTimeGrace.Milliseconds()
	out := func(f string, a ...any) (types.RejectReason, string) {
		return types.RejectReason_REJECT_REASON_OUT_OF_TIME, fmt.Sprintf(f, a...)
	}
	if r.EndUnixMs > nowMs+grace {
		return out("segment ends %d ms after the block time (grace %s)", r.EndUnixMs-nowMs, ReceiptTimeGrace)
	}
	if oldest := nowMs - 2*win.seconds*1000 - grace; r.StartUnixMs < oldest {
		return out("segment starts %d ms before the previous epoch could have begun (two epochs of %d s and %s before the block time)",
			oldest-r.StartUnixMs, win.seconds, ReceiptTimeGrace)
	}
	if win.startMs > 0 {
		from, to := win.startMs, nowMs // the current epoch
		if r.Epoch == win.current-1 {
			from, to = win.startMs-win.seconds*1000, win.startMs
		}
		if r.StartUnixMs < from-grace || r.EndUnixMs > to+grace {
			return out("segment [%d, %d] ms lies outside epoch %d [%d, %d] ms (grace %s)",
				r.StartUnixMs, r.EndUnixMs, r.Epoch, from, to, ReceiptTimeGrace)
		}
	}
	if reg := media.RegisteredTime; !reg.IsZero() && r.StartUnixMs < reg.UnixMilli()-grace {
		return out("segment starts %d ms before media node %s registered", reg.UnixMilli()-r.StartUnixMs, media.Id)
	}
	return types.RejectReason_REJECT_REASON_UNSPECIFIED, ""
}

// verifySignatures checks every signature of every candidate — media
// node and orchestrator, plus grant and statement for an attested one —
// and returns, per candidate, UNSPECIFIED when all verify or the reason
// otherwise. One batch verification covers all of them; only if it fails
// are they checked one by one to find the bad ones.
func verifySignatures(cands []candidate) []types.RejectReason {
	out := make([]types.RejectReason, len(cands))
	if len(cands) == 0 {
		return out
	}
	type item struct {
		pub, msg, sig []byte
		reason        types.RejectReason
	}
	items := make([]item, 0, 2*len(cands))
	first := make([]int, len(cands)+1)
	for j, c := range cands {
		first[j] = len(items)
		items = append(items,
			item{c.media.Pubkey, c.mediaMsg, c.signed.MediaNodeSignature, types.RejectReason_REJECT_REASON_BAD_MEDIA_NODE_SIGNATURE},
			item{c.orch.Pubkey, c.orchMsg, c.signed.OrchestratorSignature, types.RejectReason_REJECT_REASON_BAD_ORCHESTRATOR_SIGNATURE})
		if a := c.signed.Attestation; a != nil {
			items = append(items,
				item{c.orch.Pubkey, c.grantMsg, a.GrantSignature, types.RejectReason_REJECT_REASON_BAD_ATTESTATION},
				item{a.Grant.ClientKey, c.statementMsg, a.StatementSignature, types.RejectReason_REJECT_REASON_BAD_ATTESTATION})
		}
	}
	first[len(cands)] = len(items)
	bv := newBatchVerifier(len(items))
	for _, it := range items {
		bv.Add(it.pub, it.msg, it.sig)
	}
	if bv.Verify() {
		return out
	}
	for j := range cands {
		for _, it := range items[first[j]:first[j+1]] {
			if !ed25519consensus.Verify(it.pub, it.msg, it.sig) {
				out[j] = it.reason
				break
			}
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

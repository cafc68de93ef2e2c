package keeper

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/chroom/chroom/format"
	registrytypes "github.com/chroom/chroom/x/registry/types"
	"github.com/chroom/chroom/x/verification/types"
)

// QoS probes (DESIGN.md §2, README "QoS probes"). At the start of each
// epoch every ACTIVE media node (at most max_probes_per_epoch of them,
// from a rotating start) is assigned a prober: an ACTIVE orchestrator of
// another operator, drawn with probability proportional to its stake from
// a seed of the block's header hash. The prober joins the node as an
// ordinary client and its operator submits the signed result
// (MsgSubmitProbe) in that epoch or the next. When the next epoch ends the
// probes are final: each probed node's epoch is scored (scoreEpoch) and a
// node whose probe was missing or not connected probe_jail_epochs epochs
// in a row is jailed. An orchestrator that submitted fewer probes than it
// was assigned forfeits its orchestrator share of the epoch (x/incentives).

// assignProbes assigns the QoS probes of epoch (BeforeEpochStart). Its
// work is one pass over the registry plus, per assigned node, one pass
// over the ACTIVE orchestrators.
func (k Keeper) assignProbes(ctx context.Context, epoch int64) error {
	p, err := k.params.Get(ctx)
	if err != nil {
		return err
	}
	if p.MaxProbesPerEpoch == 0 || epoch < 1 {
		return nil
	}
	var media, orchs []registrytypes.Node
	err = k.registry.IterateNodes(ctx, func(n registrytypes.Node) (bool, error) {
		if n.Status != registrytypes.NodeStatus_NODE_STATUS_ACTIVE {
			return false, nil
		}
		switch n.NodeType {
		case registrytypes.NodeType_NODE_TYPE_MEDIA:
			media = append(media, n)
		case registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR:
			if n.Stake.Amount.IsPositive() {
				orchs = append(orchs, n)
			}
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	if len(media) == 0 || len(orchs) == 0 {
		return nil
	}
	seed := probeSeed(sdk.UnwrapSDKContext(ctx).HeaderHash(), epoch)
	n, start := len(media), 0
	if n > int(p.MaxProbesPerEpoch) {
		start = int(binary.BigEndian.Uint64(seed[:8]) % uint64(n))
		n = int(p.MaxProbesPerEpoch)
	}
	for i := 0; i < n; i++ {
		m := media[(start+i)%len(media)]
		prober, ok := drawProber(seed, m, orchs)
		if !ok {
			continue // every ACTIVE orchestrator is the node's own operator's
		}
		a := types.ProbeAssignment{Epoch: epoch, MediaNodeId: m.Id, ProberId: prober.Id, ProberOperator: prober.Operator}
		if err := k.probeAssignments.Set(ctx, collections.Join(epoch, m.Id), a); err != nil {
			return err
		}
		if err := k.addProbeCounts(ctx, epoch, prober, 1, 0); err != nil {
			return err
		}
		if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventProbeAssigned{
			Epoch: epoch, MediaNodeId: m.Id, ProberId: prober.Id,
		}); err != nil {
			return err
		}
	}
	return nil
}

// probeSeed is SHA-256("chroom/probe" ‖ header hash ‖ epoch, 8 bytes big-endian).
func probeSeed(headerHash []byte, epoch int64) [32]byte {
	h := sha256.New()
	h.Write([]byte("chroom/probe"))
	h.Write(headerHash)
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], uint64(epoch))
	h.Write(e[:])
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// drawProber picks, for media node m, one of orchs not run by m's
// operator with probability stake / Σ stake: r = SHA-256(seed ‖ m.id) as
// a big-endian integer mod Σ stake, then the first orchestrator (in
// registry order) whose cumulative stake exceeds r.
func drawProber(seed [32]byte, m registrytypes.Node, orchs []registrytypes.Node) (registrytypes.Node, bool) {
	total := sdkmath.ZeroInt()
	for _, o := range orchs {
		if o.Operator != m.Operator {
			total = total.Add(o.Stake.Amount)
		}
	}
	if !total.IsPositive() {
		return registrytypes.Node{}, false
	}
	h := sha256.Sum256(append(seed[:], m.Id...))
	r := new(big.Int).Mod(new(big.Int).SetBytes(h[:]), total.BigInt())
	acc := new(big.Int)
	for _, o := range orchs {
		if o.Operator == m.Operator {
			continue
		}
		acc.Add(acc, o.Stake.Amount.BigInt())
		if r.Cmp(acc) < 0 {
			return o, true
		}
	}
	return registrytypes.Node{}, false // unreachable: r < total
}

// addProbeCounts adds to the probe counts of prober's tally for epoch.
func (k Keeper) addProbeCounts(ctx context.Context, epoch int64, prober registrytypes.Node, assigned, submitted uint64) error {
	key := collections.Join(epoch, prober.Id)
	t, err := k.orchTallies.Get(ctx, key)
	if err != nil && !isNotFound(err) {
		return err
	}
	t.OrchestratorId, t.Epoch = prober.Id, epoch
	if t.Operator == "" {
		t.Operator = prober.Operator
	}
	t.ProbesAssigned += assigned
	t.ProbesSubmitted += submitted
	return k.orchTallies.Set(ctx, key, t)
}

// ProbeQuality is a probe's quality in [0, 1]: 0 when it did not connect,
// else q_loss × q_rtt × min(1, bitrate / target), with q_loss and q_rtt as
// for receipts (types.Quality) from its loss_permille and rtt_ms.
func ProbeQuality(p types.Params, r *format.ProbeResult) sdkmath.LegacyDec {
	if !r.Connected {
		return sdkmath.LegacyZeroDec()
	}
	q := types.Quality(p, &format.UsageReceipt{BytesIn: 1, PacketsSent: 1000, PacketsLost: uint64(r.LossPermille), RttMsP50: r.RttMs})
	rate := sdkmath.LegacyNewDec(int64(r.BitrateKbps)).QuoInt64(int64(r.TargetKbps))
	if rate.GT(sdkmath.LegacyOneDec()) {
		rate = sdkmath.LegacyOneDec()
	}
	return q.Mul(rate)
}

// SubmitProbe accepts the signed result of an assigned probe and returns
// its quality. Errors (the message fails, nothing recorded):
// ErrInvalidAddress; ErrInvalidProbe (malformed result, signature not 64
// bytes or not the prober's, epoch neither current nor previous, start in
// the future); ErrProbeNotAssigned (no such assignment, another prober, or
// submitter not the prober's operator); ErrProbeAlreadySubmitted.
func (k Keeper) SubmitProbe(ctx context.Context, submitter string, sp format.SignedProbeResult) (sdkmath.LegacyDec, error) {
	if _, err := k.addressCodec.StringToBytes(submitter); err != nil {
		return sdkmath.LegacyDec{}, errorsmod.Wrapf(types.ErrInvalidAddress, "submitter %q: %s", submitter, err)
	}
	r := sp.Result
	if err := r.ValidateBasic(); err != nil {
		return sdkmath.LegacyDec{}, errorsmod.Wrap(types.ErrInvalidProbe, err.Error())
	}
	if len(sp.Signature) != format.SignatureBytes {
		return sdkmath.LegacyDec{}, errorsmod.Wrapf(types.ErrInvalidProbe, "signature must be %d bytes, got %d", format.SignatureBytes, len(sp.Signature))
	}
	p, err := k.params.Get(ctx)
	if err != nil {
		return sdkmath.LegacyDec{}, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	sdkCtx.GasMeter().ConsumeGas(p.VerifyGasPerReceipt, "verify probe")
	current, _, err := k.CurrentEpoch(ctx)
	if err != nil {
		return sdkmath.LegacyDec{}, err
	}
	if r.Epoch != current && r.Epoch != current-1 {
		return sdkmath.LegacyDec{}, errorsmod.Wrapf(types.ErrInvalidProbe, "probes of epoch %d are closed: the current epoch is %d (the current and the previous are open)", r.Epoch, current)
	}
	if r.StartedUnixMs > sdkCtx.BlockTime().Add(ReceiptTimeGrace).UnixMilli() {
		return sdkmath.LegacyDec{}, errorsmod.Wrap(types.ErrInvalidProbe, "started_unix_ms is in the future")
	}
	key := collections.Join(r.Epoch, r.MediaNodeId)
	a, err := k.probeAssignments.Get(ctx, key)
	if isNotFound(err) {
		return sdkmath.LegacyDec{}, errorsmod.Wrapf(types.ErrProbeNotAssigned, "no probe of media node %s is assigned in epoch %d", r.MediaNodeId, r.Epoch)
	}
	if err != nil {
		return sdkmath.LegacyDec{}, err
	}
	if a.ProberId != r.ProberId {
		return sdkmath.LegacyDec{}, errorsmod.Wrapf(types.ErrProbeNotAssigned, "media node %s's probe in epoch %d is assigned to orchestrator %s, not %s", r.MediaNodeId, r.Epoch, a.ProberId, r.ProberId)
	}
	prober, err := k.registry.GetNode(ctx, r.ProberId)
	if err != nil {
		return sdkmath.LegacyDec{}, errorsmod.Wrapf(types.ErrProbeNotAssigned, "prober %s: %s", r.ProberId, err)
	}
	if prober.Operator != submitter {
		return sdkmath.LegacyDec{}, errorsmod.Wrapf(types.ErrProbeNotAssigned, "only orchestrator %s's operator %s may submit its probes, not %s", prober.Id, prober.Operator, submitter)
	}
	if has, err := k.probes.Has(ctx, key); err != nil {
		return sdkmath.LegacyDec{}, err
	} else if has {
		return sdkmath.LegacyDec{}, errorsmod.Wrapf(types.ErrProbeAlreadySubmitted, "media node %s, epoch %d", r.MediaNodeId, r.Epoch)
	}
	if !sp.Verify(prober.Pubkey, sdkCtx.ChainID()) {
		return sdkmath.LegacyDec{}, errorsmod.Wrapf(types.ErrInvalidProbe, "the signature is not orchestrator %s's over this result for chain %s", prober.Id, sdkCtx.ChainID())
	}
	q := ProbeQuality(p, r)
	if err := k.probes.Set(ctx, key, types.ProbeRecord{Result: *r, Quality: q, Height: sdkCtx.BlockHeight()}); err != nil {
		return sdkmath.LegacyDec{}, err
	}
	if err := k.addProbeCounts(ctx, r.Epoch, prober, 0, 1); err != nil {
		return sdkmath.LegacyDec{}, err
	}
	return q, sdkCtx.EventManager().EmitTypedEvent(&types.EventProbeAccepted{
		Epoch: r.Epoch, MediaNodeId: r.MediaNodeId, ProberId: r.ProberId, Connected: r.Connected, Quality: q.String(),
	})
}

// finalizeProbes scores the probed nodes of epoch e, whose probes can no
// longer be submitted (AfterEpochEnd of e + 1), and deletes the probes of
// the epoch quality_history_epochs before it. Its work is bounded by
// max_probes_per_epoch assignments (twice).
func (k Keeper) finalizeProbes(ctx context.Context, e int64) error {
	if e < 1 {
		return nil
	}
	p, err := k.params.Get(ctx)
	if err != nil {
		return err
	}
	var nodes []string
	if err := k.probeAssignments.Walk(ctx, collections.NewPrefixedPairRange[int64, string](e), func(key collections.Pair[int64, string], _ types.ProbeAssignment) (bool, error) {
		nodes = append(nodes, key.K2())
		return false, nil
	}); err != nil {
		return err
	}
	for _, id := range nodes {
		if err := k.scoreEpoch(ctx, p, id, e); err != nil {
			return err
		}
	}
	old := e - int64(p.QualityHistoryEpochs)
	if old < 1 {
		return nil
	}
	rng := collections.NewPrefixedPairRange[int64, string](old)
	if err := k.probeAssignments.Clear(ctx, rng); err != nil {
		return err
	}
	return k.probes.Clear(ctx, rng)
}

// ScoreEpoch folds epoch e of media node nodeID into its quality score,
// once (later calls for e or an earlier epoch do nothing): x/incentives
// calls it for every node with verified work in e when it splits e's
// rewards, after the probes of e are final.
func (k Keeper) ScoreEpoch(ctx context.Context, nodeID string, e int64) error {
	p, err := k.params.Get(ctx)
	if err != nil {
		return err
	}
	return k.scoreEpoch(ctx, p, nodeID, e)
}

// scoreEpoch: sample = probe_weight × probe quality + (1 − probe_weight) ×
// client quality when the node was probed and served attested work; the
// one there is when only one is; nothing to fold when neither. Then
// score ← (1 − α) × score + α × sample (α = score_smoothing), published to
// x/registry, and a node whose probes failed probe_jail_epochs epochs in
// a row is jailed.
func (k Keeper) scoreEpoch(ctx context.Context, p types.Params, nodeID string, e int64) error {
	h, err := k.NodeHealth(ctx, nodeID)
	if err != nil {
		return err
	}
	if h.LastScoredEpoch >= e {
		return nil
	}
	key := collections.Join(e, nodeID)
	probed, err := k.probeAssignments.Has(ctx, key)
	if err != nil {
		return err
	}
	point := types.QualityPoint{Epoch: e, NodeId: nodeID, Probed: probed, ProbeQuality: zeroDec(), ClientQuality: zeroDec()}
	passed := false
	if probed {
		rec, err := k.probes.Get(ctx, key)
		switch {
		case err == nil:
			point.ProbeQuality, passed = rec.Quality, rec.Result.Connected
		case !isNotFound(err):
			return err
		}
	}
	tally, err := k.NodeTally(ctx, e, nodeID)
	if err != nil {
		return err
	}
	if tally.VerifiedSeconds > 0 {
		point.ClientSeconds = tally.VerifiedSeconds
		point.ClientQuality = tally.Weight.QuoInt64(int64(tally.VerifiedSeconds))
		if point.ClientQuality.GT(sdkmath.LegacyOneDec()) {
			point.ClientQuality = sdkmath.LegacyOneDec()
		}
	}
	var sample sdkmath.LegacyDec
	switch {
	case probed && tally.VerifiedSeconds > 0:
		sample = p.ProbeWeight.Mul(point.ProbeQuality).Add(sdkmath.LegacyOneDec().Sub(p.ProbeWeight).Mul(point.ClientQuality))
	case probed:
		sample = point.ProbeQuality
	case tally.VerifiedSeconds > 0:
		sample = point.ClientQuality
	default:
		return nil
	}
	h.Score = sdkmath.LegacyOneDec().Sub(p.ScoreSmoothing).Mul(h.Score).Add(p.ScoreSmoothing.Mul(sample))
	h.LastScoredEpoch = e
	if probed {
		if passed {
			h.ConsecutiveFailedProbes, h.LastProbedEpoch = 0, e
			h.ProbesPassed++
		} else {
			h.ConsecutiveFailedProbes++
			h.ProbesFailed++
		}
	}
	point.Score = h.Score
	if err := k.qualityHistory.Set(ctx, collections.Join(nodeID, e), point); err != nil {
		return err
	}
	// Keep the newest quality_history_epochs epochs: drop every older
	// point (a node is not scored every epoch, so not only e − H).
	if old := e - int64(p.QualityHistoryEpochs); old >= 1 {
		if err := k.qualityHistory.Clear(ctx, collections.NewPrefixedPairRange[string, int64](nodeID).EndInclusive(old)); err != nil {
			return err
		}
	}
	if err := k.registry.SetQualityScore(ctx, nodeID, h.Score); err != nil {
		return err
	}
	if p.ProbeJailEpochs > 0 && h.ConsecutiveFailedProbes >= p.ProbeJailEpochs {
		node, err := k.registry.GetNode(ctx, nodeID)
		if err != nil {
			return err
		}
		if node.Status == registrytypes.NodeStatus_NODE_STATUS_ACTIVE {
			reason := fmt.Sprintf("%s: %d epochs in a row to epoch %d", types.ProbeJailReason, h.ConsecutiveFailedProbes, e)
			if err := k.registry.Jail(ctx, nodeID, reason); err != nil {
				return err
			}
			h.ConsecutiveFailedProbes = 0 // an unjailed node starts afresh
			if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventProbeJailed{NodeId: nodeID, Epoch: e, Reason: reason}); err != nil {
				return err
			}
		}
	}
	return k.nodeHealth.Set(ctx, nodeID, h)
}

// NodeHealth returns a media node's health record; a node never scored
// has score 1 and no probes.
func (k Keeper) NodeHealth(ctx context.Context, nodeID string) (types.NodeHealth, error) {
	h, err := k.nodeHealth.Get(ctx, nodeID)
	if isNotFound(err) {
		return types.NodeHealth{NodeId: nodeID, Score: sdkmath.LegacyOneDec()}, nil
	}
	return h, err
}

// Hooks returns the x/epochs hooks of x/verification: probes are assigned
// when an epoch starts and scored when the epoch after theirs ends.
func (k Keeper) Hooks() Hooks { return Hooks{k} }

// Hooks implements x/epochs' EpochHooks.
type Hooks struct{ k Keeper }

// AfterEpochEnd finalizes the probes of the epoch before the one that
// ended (its probes could be submitted until now).
func (h Hooks) AfterEpochEnd(ctx context.Context, identifier string, ended int64) error {
	p, err := h.k.params.Get(ctx)
	if err != nil || identifier != p.EpochIdentifier {
		return err
	}
	return h.k.finalizeProbes(ctx, ended-1)
}

// BeforeEpochStart assigns the probes of the epoch that starts.
func (h Hooks) BeforeEpochStart(ctx context.Context, identifier string, epoch int64) error {
	p, err := h.k.params.Get(ctx)
	if err != nil || identifier != p.EpochIdentifier {
		return err
	}
	return h.k.assignProbes(ctx, epoch)
}

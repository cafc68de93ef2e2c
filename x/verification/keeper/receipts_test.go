package keeper_test

import (
	sdkmath "cosmossdk.io/math"
	"fmt"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"math"
	"strings"
	"testing"
	"time"

	errorsmod "cosmossdk.io/errors"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	testkeeper "github.com/chroom/chroom/testutil/keeper"
	"github.com/chroom/chroom/testutil/sample"
	"github.com/chroom/chroom/x/verification/types"
)

// goodSession is the session of the valid receipt that accompanies every
// bad one.
const goodSession = 1000

const (
	acceptedEvent = "chroom.verification.v1.EventReceiptAccepted"
	rejectedEvent = "chroom.verification.v1.EventReceiptRejected"
)

func TestSubmitReceiptsAccepted(t *testing.T) {
	tests := []struct {
		name string
		n    int
	}{
		{name: "one receipt", n: 1},
		{name: "three receipts", n: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.freshEvents()
			var batch []format.SignedReceipt
			var want []uint32
			for i := 0; i < tc.n; i++ {
				batch = append(batch, f.signed(1, i+1))
				want = append(want, uint32(i))
			}
			res := f.submit(t, batch...)
			require.Equal(t, want, res.Accepted, "accepted indexes; rejected: %v", res.Rejected)
			require.Empty(t, res.Rejected)

			// The sample receipt: 1% loss with loss_zero_quality 0.10 gives
			// q_loss 0.9; RTT 40 ms ≤ 100 ms gives q_rtt 1.
			params, err := f.Verification.Params(f.Ctx)
			require.NoError(t, err)
			q := types.Quality(params, batch[0].Receipt)
			require.True(t, q.Equal(dec("0.9")), "quality is %s, want 0.9", q)

			n := uint64(tc.n)
			wantWeight := dec("54").MulInt64(int64(tc.n))
			tally := f.tally(t, 1, f.media.ID)
			require.Equal(t, f.media.ID, tally.NodeId)
			require.Equal(t, int64(1), tally.Epoch)
			require.Equal(t, f.mediaOp.String(), tally.Operator, "tally operator")
			require.Equal(t, n, tally.Sessions, "sessions")
			require.Equal(t, 60*n, tally.VerifiedSeconds, "verified seconds")
			require.Equal(t, 7_000_000*n, tally.Bytes, "bytes")
			require.True(t, tally.Weight.Equal(wantWeight), "weight is %s, want %s", tally.Weight, wantWeight)

			totals := f.totals(t, 1)
			require.True(t, totals.MediaWeight.Equal(wantWeight), "epoch media weight is %s, want %s", totals.MediaWeight, wantWeight)
			require.Equal(t, n, totals.Receipts, "epoch receipts")
			require.Equal(t, n, totals.OrchestratorReceipts, "epoch orchestrator receipts")
			require.Equal(t, 60*n, totals.OrchestratorSeconds, "epoch orchestrator seconds")

			var orchTallies []types.OrchestratorEpochTally
			require.NoError(t, f.Verification.WalkOrchestratorTallies(f.Ctx, 1, "", func(ot types.OrchestratorEpochTally) (bool, error) {
				orchTallies = append(orchTallies, ot)
				return false, nil
			}))
			require.Equal(t, []types.OrchestratorEpochTally{{OrchestratorId: f.orch.ID, Epoch: 1, Operator: f.orchOp.String(), Receipts: n, VerifiedSeconds: 60 * n}}, orchTallies)

			stats := f.node(t, f.media.ID).Stats
			require.Equal(t, n, stats.SessionsServed, "registry sessions served")
			require.Equal(t, 60*n, stats.VerifiedSeconds, "registry verified seconds")
			require.Equal(t, 7_000_000*n, stats.BytesServed, "registry bytes served")
			require.Equal(t, int64(1), stats.LastVerifiedEpoch, "registry last verified epoch")

			require.Equal(t, int(n), f.markers(t), "one replay marker per receipt")
			require.Equal(t, tc.n, f.countEvents(acceptedEvent), "one EventReceiptAccepted per receipt")
			require.Zero(t, f.countEvents(rejectedEvent))
		})
	}
}

func TestSubmitReceiptsWeight(t *testing.T) {
	tests := []struct {
		name        string
		mutate      func(r *format.UsageReceipt)
		wantSeconds uint64
		wantWeight  string
	}{
		{name: "sample: 1% loss, 40 ms", mutate: func(*format.UsageReceipt) {}, wantSeconds: 60, wantWeight: "54"},
		{name: "no loss", mutate: func(r *format.UsageReceipt) { r.PacketsLost = 0 }, wantSeconds: 60, wantWeight: "60"},
		{name: "nothing sent counts as no loss", mutate: func(r *format.UsageReceipt) { r.PacketsSent, r.PacketsLost = 0, 0 }, wantSeconds: 60, wantWeight: "60"},
		{name: "RTT at the full-quality bound", mutate: func(r *format.UsageReceipt) { r.PacketsLost, r.RttMsP50 = 0, 100 }, wantSeconds: 60, wantWeight: "60"},
		{name: "5% loss and RTT half way", mutate: func(r *format.UsageReceipt) { r.PacketsLost, r.RttMsP50 = 500, 550 }, wantSeconds: 60, wantWeight: "15"},
		{name: "README: 5.5% loss", mutate: func(r *format.UsageReceipt) { r.PacketsLost = 550 }, wantSeconds: 60, wantWeight: "27"},
		{name: "README: 0.5% loss at 400 ms", mutate: func(r *format.UsageReceipt) { r.PacketsLost, r.RttMsP50 = 50, 400 }, wantSeconds: 60, wantWeight: "37.999999999999999980"},
		{name: "loss at loss_zero_quality", mutate: func(r *format.UsageReceipt) { r.PacketsLost = 1000 }, wantSeconds: 60, wantWeight: "0"},
		{name: "loss above loss_zero_quality", mutate: func(r *format.UsageReceipt) { r.PacketsLost = 5000 }, wantSeconds: 60, wantWeight: "0"},
		{name: "all packets lost", mutate: func(r *format.UsageReceipt) { r.PacketsLost = r.PacketsSent }, wantSeconds: 60, wantWeight: "0"},
		{name: "RTT at the zero-quality bound", mutate: func(r *format.UsageReceipt) { r.RttMsP50 = 1000 }, wantSeconds: 60, wantWeight: "0"},
		{name: "seconds are truncated", mutate: func(r *format.UsageReceipt) { r.PacketsLost = 0; r.EndUnixMs = r.StartUnixMs + 60_999 }, wantSeconds: 60, wantWeight: "60"},
		{name: "exactly one epoch", mutate: func(r *format.UsageReceipt) { r.PacketsLost = 0; r.EndUnixMs = r.StartUnixMs + 3_600_000 }, wantSeconds: 3600, wantWeight: "3600"},
		{name: "bytes exactly at capacity", mutate: func(r *format.UsageReceipt) {
			// 1,000,000 kbit/s × 60 s = 6×10^10 bit = 7.5×10^9 bytes.
			r.BytesIn, r.BytesOut = 1_000_000, 7_499_000_000
		}, wantSeconds: 60, wantWeight: "54"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			r := sample.Receipt(f.media, f.orch, 1, 1)
			tc.mutate(&r)
			res := f.submit(t, f.attest(resign(f.media, f.orch, r), 1))
			require.Equal(t, []uint32{0}, res.Accepted, "rejected: %v", res.Rejected)
			tally := f.tally(t, 1, f.media.ID)
			require.Equal(t, tc.wantSeconds, tally.VerifiedSeconds, "verified seconds")
			require.Equal(t, r.BytesIn+r.BytesOut, tally.Bytes, "bytes")
			require.True(t, tally.Weight.Equal(dec(tc.wantWeight)), "weight is %s, want %s", tally.Weight, tc.wantWeight)
			totals := f.totals(t, 1)
			require.True(t, totals.MediaWeight.Equal(dec(tc.wantWeight)), "epoch weight is %s, want %s", totals.MediaWeight, tc.wantWeight)
		})
	}
}

// TestSubmitReceiptsRejected sends each bad receipt in a batch after a
// good one and checks that only the bad one is rejected, with its reason,
// a helpful detail and one event, and that it changed nothing: the chain
// ends in the same state as a twin chain that got the good receipt alone.
func TestSubmitReceiptsRejected(t *testing.T) {
	tests := []struct {
		name string
		// bad prepares the fixture (identically on both twins) and returns
		// the bad receipt.
		bad    func(t *testing.T, f *fixture) format.SignedReceipt
		reason types.RejectReason
		detail string
	}{
		{
			name: "malformed: receipt missing",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.Receipt = nil
				return s
			},
			reason: types.RejectReason_REJECT_REASON_MALFORMED, detail: "receipt is missing",
		},
		{
			name: "malformed: session_id of 31 bytes",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.Receipt.SessionId = s.Receipt.SessionId[:31]
				return s
			},
			reason: types.RejectReason_REJECT_REASON_MALFORMED, detail: "session_id must be 32 bytes, got 31",
		},
		{
			name: "malformed: end before start",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.Receipt.EndUnixMs = s.Receipt.StartUnixMs - 1
				return s
			},
			reason: types.RejectReason_REJECT_REASON_MALFORMED, detail: "start_unix_ms <= end_unix_ms",
		},
		{
			name: "malformed: room_hash of 31 bytes",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.Receipt.RoomHash = s.Receipt.RoomHash[:31]
				return s
			},
			reason: types.RejectReason_REJECT_REASON_MALFORMED, detail: "room_hash must be 32 bytes, got 31",
		},
		{
			name: "malformed: media_node_id in upper case",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.Receipt.MediaNodeId = strings.ToUpper(s.Receipt.MediaNodeId)
				return s
			},
			reason: types.RejectReason_REJECT_REASON_MALFORMED, detail: "media_node_id: node ID must be lowercase hex",
		},
		{
			name: "malformed: epoch 0",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.Receipt.Epoch = 0
				return s
			},
			reason: types.RejectReason_REJECT_REASON_MALFORMED, detail: "epoch must be positive, got 0",
		},
		{
			name: "malformed: media node signature missing",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.MediaNodeSignature = nil
				return s
			},
			reason: types.RejectReason_REJECT_REASON_MALFORMED, detail: "both signatures must be 64 bytes",
		},
		{
			name: "malformed: countersignature missing",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.OrchestratorSignature = nil
				return s
			},
			reason: types.RejectReason_REJECT_REASON_MALFORMED, detail: "both signatures must be 64 bytes",
		},
		{
			name: "malformed: truncated signature",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.MediaNodeSignature = s.MediaNodeSignature[:63]
				return s
			},
			reason: types.RejectReason_REJECT_REASON_MALFORMED, detail: "both signatures must be 64 bytes",
		},
		{
			name: "impossible loss: lost > sent",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.Receipt.PacketsLost = s.Receipt.PacketsSent + 1
				return s
			},
			reason: types.RejectReason_REJECT_REASON_IMPOSSIBLE_LOSS, detail: "packets_lost 10001 exceeds packets_sent 10000",
		},
		{
			name: "unknown media node: unregistered key",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				stranger := sample.NodeKey(unregisteredSeed)
				return resign(stranger, f.orch, sample.Receipt(stranger, f.orch, 1, 2))
			},
			reason: types.RejectReason_REJECT_REASON_UNKNOWN_MEDIA_NODE, detail: "no media node " + sample.NodeKey(unregisteredSeed).ID + " is registered",
		},
		{
			name: "unknown media node: an orchestrator's ID",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				// The orchestrator signs as if it were the media node.
				return resign(f.orch, f.orch, sample.Receipt(f.orch, f.orch, 1, 2))
			},
			reason: types.RejectReason_REJECT_REASON_UNKNOWN_MEDIA_NODE, detail: "no media node " + sample.NodeKey(orchSeed).ID + " is registered",
		},
		{
			name: "media node not active: jailed by a slash",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				jailed := sample.NodeKey(3)
				f.register(t, sample.RegisterMediaNode(f.mediaOp, 3, "DE"))
				f.jail(t, jailed.ID)
				return resign(jailed, f.orch, sample.Receipt(jailed, f.orch, 1, 2))
			},
			reason: types.RejectReason_REJECT_REASON_MEDIA_NODE_NOT_ACTIVE, detail: "media node " + sample.NodeKey(3).ID + " is NODE_STATUS_JAILED",
		},
		{
			name: "unknown orchestrator: unregistered key",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				stranger := sample.NodeKey(unregisteredSeed)
				return resign(f.media, stranger, sample.Receipt(f.media, stranger, 1, 2))
			},
			reason: types.RejectReason_REJECT_REASON_UNKNOWN_ORCHESTRATOR, detail: "no orchestrator " + sample.NodeKey(unregisteredSeed).ID + " is registered",
		},
		{
			name: "unknown orchestrator: a media node's ID",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				return resign(f.media, f.media, sample.Receipt(f.media, f.media, 1, 2))
			},
			reason: types.RejectReason_REJECT_REASON_UNKNOWN_ORCHESTRATOR, detail: "no orchestrator " + sample.NodeKey(mediaSeed).ID + " is registered",
		},
		{
			name: "orchestrator not active: jailed by a slash",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				jailed := sample.NodeKey(4)
				f.register(t, sample.RegisterOrchestrator(f.orchOp, 4, "DE"))
				f.jail(t, jailed.ID)
				return resign(f.media, jailed, sample.Receipt(f.media, jailed, 1, 2))
			},
			reason: types.RejectReason_REJECT_REASON_ORCHESTRATOR_NOT_ACTIVE, detail: "orchestrator " + sample.NodeKey(4).ID + " is NODE_STATUS_JAILED",
		},
		{
			name: "not the orchestrator's operator",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				theirs := sample.NodeKey(5)
				f.register(t, sample.RegisterOrchestrator(f.other, 5, "DE"))
				return resign(f.media, theirs, sample.Receipt(f.media, theirs, 1, 2))
			},
			reason: types.RejectReason_REJECT_REASON_NOT_ORCHESTRATOR_OPERATOR, detail: "is operated by " + sample.AccAddress(3).String() + ", not the submitter",
		},
		{
			name: "bad media node signature: one bit flipped",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.MediaNodeSignature = flipBit(s.MediaNodeSignature)
				return s
			},
			reason: types.RejectReason_REJECT_REASON_BAD_MEDIA_NODE_SIGNATURE, detail: "media node signature does not verify with the registered key for chain " + testkeeper.ChainID,
		},
		{
			name: "bad media node signature: signed for another chain (cross-chain replay)",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				return sample.Sign(f.media, f.orch, "chroom-other-1", sample.Receipt(f.media, f.orch, 1, 2))
			},
			reason: types.RejectReason_REJECT_REASON_BAD_MEDIA_NODE_SIGNATURE, detail: "media node signature does not verify",
		},
		{
			name: "bad media node signature: receipt changed after signing (forgery)",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.Receipt.BytesOut += 1_000_000
				return s
			},
			reason: types.RejectReason_REJECT_REASON_BAD_MEDIA_NODE_SIGNATURE, detail: "media node signature does not verify",
		},
		{
			name: "bad media node signature: signed by another key",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.MediaNodeSignature = countersignWith(t, sample.NodeKey(unregisteredSeed), format.ObjectUsageReceipt, testkeeper.ChainID, s.Receipt)
				return s
			},
			reason: types.RejectReason_REJECT_REASON_BAD_MEDIA_NODE_SIGNATURE, detail: "media node signature does not verify",
		},
		{
			name: "bad orchestrator signature: countersigned by a different key",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.OrchestratorSignature = countersignWith(t, sample.NodeKey(unregisteredSeed), format.ObjectReceiptCountersignature, testkeeper.ChainID, s.Receipt)
				return s
			},
			reason: types.RejectReason_REJECT_REASON_BAD_ORCHESTRATOR_SIGNATURE, detail: "orchestrator countersignature does not verify with the registered key for chain " + testkeeper.ChainID,
		},
		{
			name: "bad orchestrator signature: countersigned for another chain",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.OrchestratorSignature = countersignWith(t, f.orch, format.ObjectReceiptCountersignature, "chroom-other-1", s.Receipt)
				return s
			},
			reason: types.RejectReason_REJECT_REASON_BAD_ORCHESTRATOR_SIGNATURE, detail: "orchestrator countersignature does not verify",
		},
		{
			name: "bad orchestrator signature: signed in the receipt domain, not the countersignature domain",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.OrchestratorSignature = countersignWith(t, f.orch, format.ObjectUsageReceipt, testkeeper.ChainID, s.Receipt)
				return s
			},
			reason: types.RejectReason_REJECT_REASON_BAD_ORCHESTRATOR_SIGNATURE, detail: "orchestrator countersignature does not verify",
		},
		{
			name: "bad orchestrator signature: the media node's signature copied",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.OrchestratorSignature = append([]byte(nil), s.MediaNodeSignature...)
				return s
			},
			reason: types.RejectReason_REJECT_REASON_BAD_ORCHESTRATOR_SIGNATURE, detail: "orchestrator countersignature does not verify",
		},
		{
			name: "stale epoch: two epochs back",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				f.Epochs.Current = 3
				return f.signed(1, 2)
			},
			reason: types.RejectReason_REJECT_REASON_STALE_EPOCH, detail: "epoch 1 is neither the current epoch 3 nor the previous one",
		},
		{
			name: "stale epoch: next epoch",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				return f.signed(2, 2)
			},
			reason: types.RejectReason_REJECT_REASON_STALE_EPOCH, detail: "epoch 2 is neither the current epoch 1 nor the previous one",
		},
		{
			name: "duplicate: resubmitted in a later transaction",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				res := f.submit(t, s)
				require.Equal(t, []uint32{0}, res.Accepted, "first submission; rejected: %v", res.Rejected)
				f.NextBlock(5 * time.Second)
				return f.signed(1, 2)
			},
			reason: types.RejectReason_REJECT_REASON_DUPLICATE, detail: "already accepted",
		},
		{
			name: "duplicate: resubmitted with different contents",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				res := f.submit(t, f.signed(1, 2))
				require.Equal(t, []uint32{0}, res.Accepted, "first submission; rejected: %v", res.Rejected)
				r := sample.Receipt(f.media, f.orch, 1, 2)
				r.BytesOut++
				return resign(f.media, f.orch, r)
			},
			reason: types.RejectReason_REJECT_REASON_DUPLICATE, detail: "already accepted",
		},
		{
			name: "duplicate: twice within one batch",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				return f.signed(f.Epochs.Current, goodSession)
			},
			reason: types.RejectReason_REJECT_REASON_DUPLICATE, detail: "appears earlier in this batch",
		},
		{
			name: "shorter than one second: no verified seconds",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				r := sample.Receipt(f.media, f.orch, 1, 2)
				r.EndUnixMs = r.StartUnixMs + 999
				return resign(f.media, f.orch, r)
			},
			reason: types.RejectReason_REJECT_REASON_TOO_SHORT, detail: "segment lasts 999 ms; receipts must cover at least one second",
		},
		{
			name: "zero-length",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				r := sample.Receipt(f.media, f.orch, 1, 2)
				r.EndUnixMs = r.StartUnixMs
				return resign(f.media, f.orch, r)
			},
			reason: types.RejectReason_REJECT_REASON_TOO_SHORT, detail: "segment lasts 0 ms",
		},
		{
			name: "ends in the future (after the block time and the grace)",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				r := sample.ReceiptAt(f.media, f.orch, 1, 2, f.Ctx.BlockTime().Add(10*time.Minute))
				return resign(f.media, f.orch, r) // ends 11 minutes after the block time
			},
			reason: types.RejectReason_REJECT_REASON_OUT_OF_TIME, detail: "segment ends 660000 ms after the block time",
		},
		{
			name: "starts long before the previous epoch (a 1970 receipt)",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				r := sample.ReceiptAt(f.media, f.orch, 1, 2, time.UnixMilli(1))
				return resign(f.media, f.orch, r)
			},
			reason: types.RejectReason_REJECT_REASON_OUT_OF_TIME, detail: "before the previous epoch could have begun",
		},
		{
			name: "the submitter cannot pay the usage fee",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				f.WithFees(t)
				all := f.Bank.GetBalance(f.Ctx, f.orchOp, "uchr")
				require.NoError(t, f.Bank.SendCoinsFromAccountToModule(f.Ctx, f.orchOp, "elsewhere", sdk.NewCoins(all.SubAmount(sdkmath.NewInt(1999)))))
				return f.signed(1, 2) // 60 s at 1000 uchr per participant-minute: 1000 uchr each; 1999 held pays for the good receipt only
			},
			reason: types.RejectReason_REJECT_REASON_UNPAID, detail: "the submitter cannot pay the usage fee of 1000uchr",
		},
		{
			name: "the app's escrow cannot pay the usage fee",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				f.WithFees(t)
				f.app(t, "thin", 999, f.orch.ID)
				return f.appReceipt(1, 2, "thin") // costs 1000 uchr
			},
			reason: types.RejectReason_REJECT_REASON_UNPAID, detail: "app thin's escrow (999uchr) cannot pay the usage fee of 1000uchr",
		},
		{
			name: "names an app that does not exist",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				return f.appReceipt(1, 2, "nope")
			},
			reason: types.RejectReason_REJECT_REASON_UNKNOWN_APP, detail: "no app nope exists",
		},
		{
			name: "bills an app that does not let the orchestrator bill it",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				f.app(t, "other", 1_000_000, sample.NodeKey(4).ID)
				return f.appReceipt(1, 2, "other")
			},
			reason: types.RejectReason_REJECT_REASON_APP_NOT_AUTHORIZED, detail: "app other does not let orchestrator " + sample.NodeKey(orchSeed).ID + " bill it",
		},
		{
			name: "attestation: the statement was changed after the client signed it",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.Attestation.Statement.ElapsedMs += 60_000
				return s
			},
			reason: types.RejectReason_REJECT_REASON_BAD_ATTESTATION, detail: "does not verify",
		},
		{
			name: "attestation: the grant signature is not the orchestrator's",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.Attestation.GrantSignature = flipBit(s.Attestation.GrantSignature)
				return s
			},
			reason: types.RejectReason_REJECT_REASON_BAD_ATTESTATION, detail: "does not verify",
		},
		{
			name: "attestation: another grant's (session_id is not its connection)",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				return sample.Attest(f.orch, testkeeper.ChainID, format.SignedReceipt{
					Receipt: s.Receipt, MediaNodeSignature: s.MediaNodeSignature, OrchestratorSignature: s.OrchestratorSignature,
				}, 3, nil)
			},
			reason: types.RejectReason_REJECT_REASON_BAD_ATTESTATION, detail: "session_id is not connection 0 of grant grant-3",
		},
		{
			name: "attestation: the statement is another grant's",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				s.Attestation.Statement.GrantId = "grant-9"
				return s
			},
			reason: types.RejectReason_REJECT_REASON_BAD_ATTESTATION, detail: `the statement is for grant "grant-9"`,
		},
		{
			name: "attestation: the client attests under a second",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				s := f.signed(1, 2)
				st := sample.Statement(s.Receipt, 2)
				st.ElapsedMs = 500
				s.Attestation = nil
				return sample.Attest(f.orch, testkeeper.ChainID, s, 2, st)
			},
			reason: types.RejectReason_REJECT_REASON_TOO_SHORT, detail: "the client attests 500 ms",
		},
		{
			name: "outside the epoch it claims (epoch start time)",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				f.Epochs.Start = f.Ctx.BlockTime().Add(-70 * time.Minute) // 22:50; the good receipt is at 23:00
				r := sample.ReceiptAt(f.media, f.orch, 1, 2, f.Epochs.Start.Add(-20*time.Minute))
				return f.attest(resign(f.media, f.orch, r), 2)
			},
			reason: types.RejectReason_REJECT_REASON_OUT_OF_TIME, detail: "lies outside epoch 1",
		},
		{
			name: "starts before its media node registered",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				f.Epochs.Duration = 24 * time.Hour
				registered := f.node(t, f.media.ID).RegisteredTime
				r := sample.ReceiptAt(f.media, f.orch, 1, 2, registered.Add(-11*time.Minute))
				return f.attest(resign(f.media, f.orch, r), 2)
			},
			reason: types.RejectReason_REJECT_REASON_OUT_OF_TIME, detail: "before media node " + sample.NodeKey(mediaSeed).ID + " registered",
		},
		{
			name: "duration longer than one epoch",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				r := sample.Receipt(f.media, f.orch, 1, 2)
				r.EndUnixMs = r.StartUnixMs + time.Hour.Milliseconds() + 1
				return resign(f.media, f.orch, r)
			},
			reason: types.RejectReason_REJECT_REASON_DURATION_TOO_LONG, detail: "segment lasts 3600001 ms, longer than one epoch (3600 s)",
		},
		{
			name: "duration longer than a shortened epoch",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				f.shortEpochs(90 * time.Second)
				r := sample.Receipt(f.media, f.orch, 1, 2)
				r.EndUnixMs = r.StartUnixMs + 91_000
				return resign(f.media, f.orch, r)
			},
			reason: types.RejectReason_REJECT_REASON_DURATION_TOO_LONG, detail: "longer than one epoch (90 s)",
		},
		{
			name: "bytes exceed capacity by one",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				r := sample.Receipt(f.media, f.orch, 1, 2)
				r.BytesIn, r.BytesOut = 1_000_001, 7_499_000_000
				return resign(f.media, f.orch, r)
			},
			reason: types.RejectReason_REJECT_REASON_BYTES_EXCEED_CAPACITY, detail: "7500000001 bytes in 60000 ms exceed the node's 1000000 kbit/s",
		},
		{
			name: "bytes exceed a small node's capacity",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				small := sample.NodeKey(6)
				msg := sample.RegisterMediaNode(f.mediaOp, 6, "DE")
				msg.MaxEgressKbps = 800 // 800 kbit/s × 60 s = 6 MB
				f.register(t, msg)
				return resign(small, f.orch, sample.Receipt(small, f.orch, 1, 2))
			},
			reason: types.RejectReason_REJECT_REASON_BYTES_EXCEED_CAPACITY, detail: "7000000 bytes in 60000 ms exceed the node's 800 kbit/s",
		},
		{
			name: "bytes exceed what the stake backs, though within the declared egress",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				thin := sample.NodeKey(10)
				msg := sample.RegisterMediaNode(f.mediaOp, 10, "DE")
				msg.Stake = sample.Uchr(1_000_000) // 1 CHR backs 200 Mbit/s of the declared 1 Gbit/s
				f.register(t, msg)
				r := sample.Receipt(thin, f.orch, 1, 2)
				r.BytesIn, r.BytesOut = 0, 1_500_000_001 // 200,000 kbit/s × 60 s = 1.5 GB
				return resign(thin, f.orch, r)
			},
			reason: types.RejectReason_REJECT_REASON_BYTES_EXCEED_CAPACITY, detail: "1500000001 bytes in 60000 ms exceed the node's 200000 kbit/s",
		},
		{
			name: "sessions exceed what the stake backs, though within the declared max_sessions",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				f.shortEpochs(90 * time.Second)
				thin := sample.NodeKey(11)
				msg := sample.RegisterMediaNode(f.mediaOp, 11, "DE")
				msg.Stake = sample.Uchr(1_000_000) // backs 100 of the declared 500 sessions: 9,000 s per 90 s epoch
				f.register(t, msg)
				var last format.SignedReceipt
				for n := 0; n < 150; n++ { // 150 × 60 s = 9,000 s: exactly the backed capacity
					last = resign(thin, f.orch, sample.Receipt(thin, f.orch, 1, 100+n))
					res, err := f.msgs.SubmitReceipts(f.Ctx, &types.MsgSubmitReceipts{Submitter: f.orchOp.String(), Receipts: []format.SignedReceipt{last}})
					require.NoError(t, err)
					require.Len(t, res.Accepted, 1, "receipt %d within the backed capacity", n)
				}
				return resign(thin, f.orch, sample.Receipt(thin, f.orch, 1, 99))
			},
			reason: types.RejectReason_REJECT_REASON_SESSIONS_EXCEED_CAPACITY, detail: "more than max_sessions 100 × 90 s",
		},
		{
			name: "sessions exceed capacity: more verified seconds than max_sessions × epoch",
			bad: func(t *testing.T, f *fixture) format.SignedReceipt {
				f.shortEpochs(90 * time.Second)
				busy := sample.NodeKey(8)
				msg := sample.RegisterMediaNode(f.mediaOp, 8, "DE")
				msg.MaxSessions = 1 // at most 90 verified seconds per 90 s epoch
				f.register(t, msg)
				res := f.submit(t, resign(busy, f.orch, sample.Receipt(busy, f.orch, 1, 2)))
				require.Equal(t, []uint32{0}, res.Accepted, "first 60 s fit; rejected: %v", res.Rejected)
				return resign(busy, f.orch, sample.Receipt(busy, f.orch, 1, 3))
			},
			reason: types.RejectReason_REJECT_REASON_SESSIONS_EXCEED_CAPACITY, detail: "120 verified seconds in epoch 1, more than max_sessions 1 × 90 s",
		},
	}
	covered := map[types.RejectReason]bool{}
	for _, tc := range tests {
		covered[tc.reason] = true
		t.Run(tc.name, func(t *testing.T) {
			withBad, alone := newFixture(t), newFixture(t)
			bad := tc.bad(t, withBad)
			tc.bad(t, alone)

			withBad.freshEvents()
			good := withBad.signed(withBad.Epochs.Current, goodSession)
			res := withBad.submit(t, good, bad)
			require.Equal(t, []uint32{0}, res.Accepted, "the good receipt must be accepted beside the bad one; rejected: %v", res.Rejected)
			require.Len(t, res.Rejected, 1, "rejections: %v", res.Rejected)
			rej := res.Rejected[0]
			require.Equal(t, uint32(1), rej.Index, "rejected index")
			require.Equal(t, tc.reason, rej.Reason, "reason (detail %q)", rej.Detail)
			require.Contains(t, rej.Detail, tc.detail, "detail")

			events := withBad.rejectedEvents(t)
			require.Len(t, events, 1, "one EventReceiptRejected per rejection")
			ev := events[0]
			require.Equal(t, rej.Index, ev.Index, "event index")
			require.Equal(t, rej.Reason, ev.Reason, "event reason")
			require.Equal(t, rej.Detail, ev.Detail, "event detail")
			if bad.Receipt != nil {
				require.Equal(t, bad.Receipt.MediaNodeId, ev.MediaNodeId, "event media node")
				require.Equal(t, bad.Receipt.SessionIDHex(), ev.SessionId, "event session")
			}
			require.Equal(t, 1, withBad.countEvents(acceptedEvent), "only the good receipt is accepted")

			res = alone.submit(t, alone.signed(alone.Epochs.Current, goodSession))
			require.Equal(t, []uint32{0}, res.Accepted)
			alone.requireState(t, withBad.state(t), "the rejected receipt changed state")
		})
	}
	for reason := range types.RejectReason_name {
		r := types.RejectReason(reason)
		if r != types.RejectReason_REJECT_REASON_UNSPECIFIED && !covered[r] {
			t.Errorf("no test case rejects a receipt with %s", r)
		}
	}
}

// TestSubmitReceiptsBeforeEpochCounting: before x/epochs starts counting
// the current epoch is 0 and nothing can be submitted.
func TestSubmitReceiptsBeforeEpochCounting(t *testing.T) {
	f := newFixture(t)
	f.Epochs.Current = 0
	zero := f.signed(1, 2)
	zero.Receipt.Epoch = 0
	before := f.state(t)
	f.freshEvents()

	res := f.submit(t, f.signed(1, 1), zero)
	require.Empty(t, res.Accepted)
	require.Equal(t, []types.Rejection{
		{Index: 0, Reason: types.RejectReason_REJECT_REASON_STALE_EPOCH, Detail: "epoch 1 is neither the current epoch 0 nor the previous one"},
		{Index: 1, Reason: types.RejectReason_REJECT_REASON_MALFORMED, Detail: "epoch must be positive, got 0"},
	}, res.Rejected)
	require.Len(t, f.rejectedEvents(t), 2)
	f.requireState(t, before, "nothing may be accepted before epoch counting starts")
}

func TestSubmitReceiptsEpochWindow(t *testing.T) {
	tests := []struct {
		name     string
		current  int64
		epoch    int64
		accepted bool
	}{
		{name: "current epoch", current: 2, epoch: 2, accepted: true},
		{name: "previous epoch", current: 2, epoch: 1, accepted: true},
		{name: "previous epoch later on", current: 10, epoch: 9, accepted: true},
		{name: "two epochs back", current: 10, epoch: 8},
		{name: "next epoch", current: 10, epoch: 11},
		{name: "far future", current: 10, epoch: 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.Epochs.Current = tc.current
			res := f.submit(t, f.signed(tc.epoch, 1))
			tally := f.tally(t, tc.epoch, f.media.ID)
			if tc.accepted {
				require.Equal(t, []uint32{0}, res.Accepted, "rejected: %v", res.Rejected)
				require.Equal(t, uint64(1), tally.Sessions, "the receipt counts in its own epoch %d", tc.epoch)
				require.Equal(t, tc.epoch, f.node(t, f.media.ID).Stats.LastVerifiedEpoch)
				return
			}
			require.Empty(t, res.Accepted)
			require.Len(t, res.Rejected, 1)
			require.Equal(t, types.RejectReason_REJECT_REASON_STALE_EPOCH, res.Rejected[0].Reason, "detail %q", res.Rejected[0].Detail)
			require.Zero(t, tally.Sessions)
		})
	}
}

// TestSubmitReceiptsMessageErrors covers the errors that fail the whole
// message: nothing is recorded and no event is emitted.
func TestSubmitReceiptsMessageErrors(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T, f *fixture)
		submitter func(f *fixture) string
		n         int
		expErr    *errorsmod.Error
		expMsg    string
	}{
		{name: "no receipts", n: 0, expErr: types.ErrNoReceipts, expMsg: "receipts is empty"},
		{
			name: "more than max_receipts_per_msg",
			setup: func(t *testing.T, f *fixture) {
				p := types.DefaultParams()
				p.MaxReceiptsPerMsg = 2
				require.NoError(t, f.Verification.SetParams(f.Ctx, p))
			},
			n: 3, expErr: types.ErrTooManyReceipts, expMsg: "3 receipts, at most 2 per message",
		},
		{name: "default max_receipts_per_msg", n: types.DefaultMaxReceiptsPerMsg + 1, expErr: types.ErrTooManyReceipts, expMsg: fmt.Sprintf("at most %d", types.DefaultMaxReceiptsPerMsg)},
		{name: "submitter not an address", submitter: func(*fixture) string { return "not-an-address" }, n: 1, expErr: types.ErrInvalidAddress, expMsg: "not-an-address"},
		{name: "empty submitter", submitter: func(*fixture) string { return "" }, n: 1, expErr: types.ErrInvalidAddress, expMsg: "submitter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.setup != nil {
				tc.setup(t, f)
			}
			submitter := f.orchOp.String()
			if tc.submitter != nil {
				submitter = tc.submitter(f)
			}
			receipts := make([]format.SignedReceipt, tc.n)
			for i := range receipts {
				receipts[i] = f.signed(1, i+1)
			}
			before := f.state(t)
			f.freshEvents()
			_, err := f.msgs.SubmitReceipts(f.Ctx, &types.MsgSubmitReceipts{Submitter: submitter, Receipts: receipts})
			require.ErrorIs(t, err, tc.expErr)
			require.ErrorContains(t, err, tc.expMsg)
			f.requireState(t, before, "a failed message changed state")
			require.Empty(t, f.Ctx.EventManager().Events(), "a failed message emitted events")
		})
	}
}

// TestSubmitReceiptsBatchFallback checks that when the batch signature
// check fails, the one-by-one fallback rejects exactly the bad receipts.
func TestSubmitReceiptsBatchFallback(t *testing.T) {
	const n = 20
	tests := []struct {
		name string
		bad  map[int]types.RejectReason
	}{
		{name: "none bad", bad: map[int]types.RejectReason{}},
		{name: "bad media signature in the middle", bad: map[int]types.RejectReason{10: types.RejectReason_REJECT_REASON_BAD_MEDIA_NODE_SIGNATURE}},
		{name: "bad countersignature in the middle", bad: map[int]types.RejectReason{10: types.RejectReason_REJECT_REASON_BAD_ORCHESTRATOR_SIGNATURE}},
		{name: "bad first", bad: map[int]types.RejectReason{0: types.RejectReason_REJECT_REASON_BAD_MEDIA_NODE_SIGNATURE}},
		{name: "bad last", bad: map[int]types.RejectReason{n - 1: types.RejectReason_REJECT_REASON_BAD_ORCHESTRATOR_SIGNATURE}},
		{name: "several bad", bad: map[int]types.RejectReason{
			3:  types.RejectReason_REJECT_REASON_BAD_MEDIA_NODE_SIGNATURE,
			4:  types.RejectReason_REJECT_REASON_BAD_ORCHESTRATOR_SIGNATURE,
			17: types.RejectReason_REJECT_REASON_BAD_MEDIA_NODE_SIGNATURE,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			// Two media nodes so the batch mixes keys.
			second := sample.NodeKey(7)
			f.register(t, sample.RegisterMediaNode(f.mediaOp, 7, "FR"))

			batch := make([]format.SignedReceipt, n)
			var wantAccepted []uint32
			var wantRejected []types.Rejection
			for i := range batch {
				media := f.media
				if i%2 == 1 {
					media = second
				}
				batch[i] = resign(media, f.orch, sample.Receipt(media, f.orch, 1, i+1))
				switch tc.bad[i] {
				case types.RejectReason_REJECT_REASON_UNSPECIFIED:
					wantAccepted = append(wantAccepted, uint32(i))
					continue
				case types.RejectReason_REJECT_REASON_BAD_MEDIA_NODE_SIGNATURE:
					batch[i].MediaNodeSignature = flipBit(batch[i].MediaNodeSignature)
				case types.RejectReason_REJECT_REASON_BAD_ORCHESTRATOR_SIGNATURE:
					batch[i].OrchestratorSignature = flipBit(batch[i].OrchestratorSignature)
				}
				wantRejected = append(wantRejected, types.Rejection{Index: uint32(i), Reason: tc.bad[i]})
			}

			res := f.submit(t, batch...)
			require.Equal(t, wantAccepted, res.Accepted, "accepted")
			require.Len(t, res.Rejected, len(wantRejected), "rejections: %v", res.Rejected)
			for i, want := range wantRejected {
				require.Equal(t, want.Index, res.Rejected[i].Index, "rejection %d index", i)
				require.Equal(t, want.Reason, res.Rejected[i].Reason, "rejection %d (index %d) reason", i, want.Index)
			}

			var sessions uint64
			for _, id := range []string{f.media.ID, second.ID} {
				sessions += f.tally(t, 1, id).Sessions
			}
			require.Equal(t, uint64(len(wantAccepted)), sessions, "sessions tallied")
			require.Equal(t, uint64(len(wantAccepted)), f.totals(t, 1).Receipts, "epoch receipts")
			require.Equal(t, len(wantAccepted), f.markers(t), "replay markers")
		})
	}
}

// TestSubmitReceiptsBadReceiptDoesNotBlockResubmission: a receipt
// rejected for a bad signature leaves no replay marker, so its honest
// version is accepted later.
func TestSubmitReceiptsBadReceiptDoesNotBlockResubmission(t *testing.T) {
	f := newFixture(t)
	forged := f.signed(1, 2)
	forged.MediaNodeSignature = flipBit(forged.MediaNodeSignature)
	res := f.submit(t, forged)
	require.Empty(t, res.Accepted)
	require.Zero(t, f.markers(t))

	res = f.submit(t, f.signed(1, 2))
	require.Equal(t, []uint32{0}, res.Accepted, "rejected: %v", res.Rejected)
}

// TestSubmitReceiptsRejectionOrder: rejections of checks 1–14 come first
// in index order, then signature failures in index order (README).
func TestSubmitReceiptsRejectionOrder(t *testing.T) {
	f := newFixture(t)
	badSig := f.signed(1, 1)
	badSig.MediaNodeSignature = flipBit(badSig.MediaNodeSignature)
	badCounter := f.signed(1, 4)
	badCounter.OrchestratorSignature = flipBit(badCounter.OrchestratorSignature)
	res := f.submit(t, badSig, f.signed(2, 2), f.signed(1, 3), badCounter, f.signed(3, 5))
	require.Equal(t, []uint32{2}, res.Accepted)
	var got []string
	for _, r := range res.Rejected {
		got = append(got, fmt.Sprintf("%d:%s", r.Index, r.Reason))
	}
	require.Equal(t, []string{
		"1:REJECT_REASON_STALE_EPOCH",
		"4:REJECT_REASON_STALE_EPOCH",
		"0:REJECT_REASON_BAD_MEDIA_NODE_SIGNATURE",
		"3:REJECT_REASON_BAD_ORCHESTRATOR_SIGNATURE",
	}, got)
}

// TestSubmitReceiptsGoodCopyBehindBadCopy pins the documented check-14
// behaviour: a good copy behind an earlier copy with a bad signature is
// rejected as DUPLICATE, nothing is recorded, and the good copy is
// accepted when submitted again.
func TestSubmitReceiptsGoodCopyBehindBadCopy(t *testing.T) {
	f := newFixture(t)
	good := f.signed(1, 2)
	bad := f.signed(1, 2)
	bad.MediaNodeSignature = flipBit(bad.MediaNodeSignature)
	before := f.state(t)

	res := f.submit(t, bad, good)
	require.Empty(t, res.Accepted)
	require.Equal(t, []types.RejectReason{types.RejectReason_REJECT_REASON_DUPLICATE, types.RejectReason_REJECT_REASON_BAD_MEDIA_NODE_SIGNATURE},
		[]types.RejectReason{res.Rejected[0].Reason, res.Rejected[1].Reason}, "rejections: %v", res.Rejected)
	require.Equal(t, []uint32{1, 0}, []uint32{res.Rejected[0].Index, res.Rejected[1].Index})
	f.requireState(t, before, "nothing may be recorded")

	res = f.submit(t, good)
	require.Equal(t, []uint32{0}, res.Accepted, "the good copy is accepted on its own; rejected: %v", res.Rejected)
}

// TestSubmitReceiptsSeveralOrchestratorsOneOperator: one message may mix
// receipts of several orchestrators run by the same operator.
func TestSubmitReceiptsSeveralOrchestratorsOneOperator(t *testing.T) {
	f := newFixture(t)
	orch2 := sample.NodeKey(4)
	f.register(t, sample.RegisterOrchestrator(f.orchOp, 4, "FR"))
	res := f.submit(t, f.signed(1, 1), resign(f.media, orch2, sample.Receipt(f.media, orch2, 1, 2)), f.signed(1, 3))
	require.Equal(t, []uint32{0, 1, 2}, res.Accepted, "rejected: %v", res.Rejected)

	got := map[string]uint64{}
	require.NoError(t, f.Verification.WalkOrchestratorTallies(f.Ctx, 1, "", func(ot types.OrchestratorEpochTally) (bool, error) {
		got[ot.OrchestratorId] = ot.Receipts
		return false, nil
	}))
	require.Equal(t, map[string]uint64{f.orch.ID: 2, orch2.ID: 1}, got, "orchestrator tallies")
	require.Equal(t, uint64(3), f.tally(t, 1, f.media.ID).Sessions)
	totals := f.totals(t, 1)
	require.Equal(t, uint64(3), totals.Receipts)
	require.Equal(t, uint64(3), totals.OrchestratorReceipts)
}

// TestSubmitReceiptsLongSessionAcrossEpochs: the segments of one session
// in adjacent epochs are separate keys and both count.
func TestSubmitReceiptsLongSessionAcrossEpochs(t *testing.T) {
	f := newFixture(t)
	f.Epochs.Current = 2
	res := f.submit(t, f.signed(1, 1), f.signed(2, 1))
	require.Equal(t, []uint32{0, 1}, res.Accepted, "rejected: %v", res.Rejected)
	require.Equal(t, uint64(1), f.tally(t, 1, f.media.ID).Sessions)
	require.Equal(t, uint64(1), f.tally(t, 2, f.media.ID).Sessions)
	require.Equal(t, uint64(2), f.node(t, f.media.ID).Stats.SessionsServed)
	require.Equal(t, int64(2), f.node(t, f.media.ID).Stats.LastVerifiedEpoch)
	require.Equal(t, 2, f.markers(t))
}

// TestSubmitReceiptsSessionsCapacityWithinBatch: receipts earlier in the
// same batch count towards max_sessions × epoch length.
func TestSubmitReceiptsSessionsCapacityWithinBatch(t *testing.T) {
	f := newFixture(t)
	f.shortEpochs(150 * time.Second)
	busy := sample.NodeKey(8)
	msg := sample.RegisterMediaNode(f.mediaOp, 8, "DE")
	msg.MaxSessions = 2 // 300 verified seconds per epoch
	f.register(t, msg)
	var batch []format.SignedReceipt
	for i := 1; i <= 6; i++ {
		batch = append(batch, resign(busy, f.orch, sample.Receipt(busy, f.orch, 1, i)))
	}
	res := f.submit(t, batch...)
	require.Equal(t, []uint32{0, 1, 2, 3, 4}, res.Accepted, "five 60 s receipts fit in 300 s; rejected: %v", res.Rejected)
	require.Len(t, res.Rejected, 1)
	require.Equal(t, uint32(5), res.Rejected[0].Index)
	require.Equal(t, types.RejectReason_REJECT_REASON_SESSIONS_EXCEED_CAPACITY, res.Rejected[0].Reason, "detail %q", res.Rejected[0].Detail)
	require.Equal(t, uint64(300), f.tally(t, 1, busy.ID).VerifiedSeconds)
	require.Equal(t, 5, f.markers(t), "the rejected receipt leaves no marker")
}

// TestSubmitReceiptsBytesNeverWrap: bytes_in + bytes_out is checked
// against capacity in arbitrary precision, so the tallied sums must not
// wrap around either, however large a node's declared capacity.
func TestSubmitReceiptsBytesNeverWrap(t *testing.T) {
	tests := []struct {
		name    string
		inOut   [][2]uint64
		wantMin uint64
	}{
		{name: "one receipt whose bytes_in + bytes_out exceeds uint64", inOut: [][2]uint64{{1 << 63, 1 << 63}}, wantMin: 1 << 63},
		{name: "two receipts whose sum exceeds uint64", inOut: [][2]uint64{{1, 1 << 63}, {1, 1 << 63}}, wantMin: 1 << 63},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			huge := sample.NodeKey(9)
			msg := sample.RegisterMediaNode(f.mediaOp, 9, "DE")
			msg.MaxEgressKbps = math.MaxUint64
			f.register(t, msg)
			var batch []format.SignedReceipt
			for i, io := range tc.inOut {
				r := sample.Receipt(huge, f.orch, 1, i+1)
				r.BytesIn, r.BytesOut = io[0], io[1]
				batch = append(batch, resign(huge, f.orch, r))
			}
			res := f.submit(t, batch...)
			if len(res.Accepted) == 0 {
				return // refusing such receipts is fine too
			}
			tally := f.tally(t, 1, huge.ID)
			stats := f.node(t, huge.ID).Stats
			if tally.Bytes < tc.wantMin || stats.BytesServed < tc.wantMin {
				t.Fatalf("bytes wrapped around uint64: accepted %v, tally bytes %d, registry bytes_served %d",
					res.Accepted, tally.Bytes, stats.BytesServed)
			}
		})
	}
}

func TestSubmitReceiptsSubmitter(t *testing.T) {
	tests := []struct {
		name      string
		submitter func(f *fixture) string
		accepted  bool
	}{
		{name: "the orchestrator's operator", submitter: func(f *fixture) string { return f.orchOp.String() }, accepted: true},
		{name: "the operator in upper-case bech32", submitter: func(f *fixture) string { return strings.ToUpper(f.orchOp.String()) }, accepted: true},
		{name: "the media node's operator", submitter: func(f *fixture) string { return f.mediaOp.String() }},
		{name: "an unrelated account", submitter: func(f *fixture) string { return f.other.String() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			res, err := f.msgs.SubmitReceipts(f.Ctx, &types.MsgSubmitReceipts{Submitter: tc.submitter(f), Receipts: []format.SignedReceipt{f.signed(1, 1), f.signed(1, 2)}})
			require.NoError(t, err)
			if tc.accepted {
				require.Equal(t, []uint32{0, 1}, res.Accepted, "rejected: %v", res.Rejected)
				return
			}
			require.Empty(t, res.Accepted)
			require.Len(t, res.Rejected, 2)
			for _, r := range res.Rejected {
				require.Equal(t, types.RejectReason_REJECT_REASON_NOT_ORCHESTRATOR_OPERATOR, r.Reason, "index %d: %s", r.Index, r.Detail)
			}
			require.Zero(t, f.tally(t, 1, f.media.ID).Sessions)
		})
	}
}

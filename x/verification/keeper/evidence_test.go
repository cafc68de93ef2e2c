package keeper_test

import (
	"testing"

	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	testkeeper "github.com/chroom/chroom/testutil/keeper"
	"github.com/chroom/chroom/testutil/sample"
	registrytypes "github.com/chroom/chroom/x/registry/types"
	"github.com/chroom/chroom/x/verification/types"
)

const (
	evidenceSession   = 7
	equivocationEvent = "chroom.verification.v1.EventEquivocation"
	// stake is what sample nodes bond: 5 CHR.
	stake = 5_000_000
	// slashedAmount is slash_fraction_equivocation (10%) of stake.
	slashedAmount = 500_000
	// bountyAmount is evidence_bounty_fraction (10%) of slashedAmount.
	bountyAmount = 50_000
)

// reporterAddr is an account with no balance that reports equivocation.
var reporterAddr = sample.AccAddress(10)

// equivocation returns two receipts for the same (epoch, media node,
// session) that differ in bytes_out, both validly signed by the fixture's
// media node and countersigned by its orchestrator.
func (f *fixture) equivocation() (a, b format.SignedReceipt) {
	r := sample.Receipt(f.media, f.orch, 1, evidenceSession)
	a = resign(f.media, f.orch, r)
	r.BytesOut += 1_000
	b = resign(f.media, f.orch, r)
	return a, b
}

func (f *fixture) submitEvidence(reporter string, a, b format.SignedReceipt) (*types.MsgSubmitEvidenceResponse, error) {
	return f.msgs.SubmitEvidence(f.Ctx, &types.MsgSubmitEvidence{Reporter: reporter, ReceiptA: a, ReceiptB: b})
}

func TestSubmitEvidenceSlashes(t *testing.T) {
	tests := []struct {
		name string
		// evidence returns the pair to report; it may change the fixture.
		evidence func(t *testing.T, f *fixture) (a, b format.SignedReceipt)
		// slashOrch: the orchestrator countersigned both and is slashed too.
		slashOrch bool
		// mediaStatus is the media node's status afterwards.
		mediaStatus registrytypes.NodeStatus
	}{
		{
			name: "one orchestrator countersigned both",
			evidence: func(t *testing.T, f *fixture) (format.SignedReceipt, format.SignedReceipt) {
				return f.equivocation()
			},
			slashOrch: true, mediaStatus: registrytypes.NodeStatus_NODE_STATUS_JAILED,
		},
		{
			name: "receipts in the opposite order",
			evidence: func(t *testing.T, f *fixture) (format.SignedReceipt, format.SignedReceipt) {
				a, b := f.equivocation()
				return b, a
			},
			slashOrch: true, mediaStatus: registrytypes.NodeStatus_NODE_STATUS_JAILED,
		},
		{
			name: "one receipt was already accepted on chain",
			evidence: func(t *testing.T, f *fixture) (format.SignedReceipt, format.SignedReceipt) {
				a, b := f.equivocation()
				res := f.submit(t, a)
				require.Equal(t, []uint32{0}, res.Accepted, "rejected: %v", res.Rejected)
				return a, b
			},
			slashOrch: true, mediaStatus: registrytypes.NodeStatus_NODE_STATUS_JAILED,
		},
		{
			name: "different orchestrators countersigned: only the media node",
			evidence: func(t *testing.T, f *fixture) (format.SignedReceipt, format.SignedReceipt) {
				orch2 := sample.NodeKey(4)
				f.register(t, sample.RegisterOrchestrator(f.orchOp, 4, "DE"))
				a, _ := f.equivocation()
				r := sample.Receipt(f.media, orch2, 1, evidenceSession)
				r.SessionId = a.Receipt.SessionId
				return a, resign(f.media, orch2, r)
			},
			mediaStatus: registrytypes.NodeStatus_NODE_STATUS_JAILED,
		},
		{
			name: "countersignature of one receipt is invalid: only the media node",
			evidence: func(t *testing.T, f *fixture) (format.SignedReceipt, format.SignedReceipt) {
				a, b := f.equivocation()
				b.OrchestratorSignature = flipBit(b.OrchestratorSignature)
				return a, b
			},
			mediaStatus: registrytypes.NodeStatus_NODE_STATUS_JAILED,
		},
		{
			name: "one receipt not countersigned: only the media node",
			evidence: func(t *testing.T, f *fixture) (format.SignedReceipt, format.SignedReceipt) {
				a, b := f.equivocation()
				a.OrchestratorSignature = nil
				return a, b
			},
			mediaStatus: registrytypes.NodeStatus_NODE_STATUS_JAILED,
		},
		{
			name: "media node unbonding stays slashable",
			evidence: func(t *testing.T, f *fixture) (format.SignedReceipt, format.SignedReceipt) {
				_, err := f.regMsgs.DeregisterNode(f.Ctx, &registrytypes.MsgDeregisterNode{Operator: f.mediaOp.String(), NodeId: f.media.ID})
				require.NoError(t, err)
				return f.equivocation()
			},
			slashOrch: true, mediaStatus: registrytypes.NodeStatus_NODE_STATUS_UNBONDING,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			a, b := tc.evidence(t, f)
			var others []registrytypes.Node
			require.NoError(t, f.Registry.IterateNodes(f.Ctx, func(n registrytypes.Node) (bool, error) {
				if n.Id != f.media.ID && (n.Id != f.orch.ID || !tc.slashOrch) {
					others = append(others, n)
				}
				return false, nil
			}))
			moduleBefore := f.Bank.ModuleBalance(registrytypes.ModuleName, "uchr")
			f.freshEvents()

			res, err := f.submitEvidence(reporterAddr.String(), a, b)
			require.NoError(t, err)

			wantSlashed := []string{f.media.ID}
			if tc.slashOrch {
				wantSlashed = append(wantSlashed, f.orch.ID)
			}
			n := int64(len(wantSlashed))
			require.Equal(t, wantSlashed, res.SlashedNodeIds, "slashed nodes")
			require.Equal(t, sample.Uchr(bountyAmount*n), res.Bounty, "bounty in the response")
			require.Equal(t, sample.Uchr(bountyAmount*n), f.Bank.GetBalance(f.Ctx, reporterAddr, "uchr"), "reporter balance")
			require.Equal(t, moduleBefore.SubAmount(sdkmath.NewInt(slashedAmount*n)), f.Bank.ModuleBalance(registrytypes.ModuleName, "uchr"),
				"registry module balance falls by the slashed stake")

			for i, id := range wantSlashed {
				node := f.node(t, id)
				want := registrytypes.NodeStatus_NODE_STATUS_JAILED
				if i == 0 {
					want = tc.mediaStatus
				}
				require.Equal(t, want, node.Status, "status of slashed node %s", id)
				require.Equal(t, sample.Uchr(stake-slashedAmount), node.Stake, "stake of slashed node %s", id)
				require.NotEmpty(t, node.SlashHistory, "slash history of %s", id)
				last := node.SlashHistory[len(node.SlashHistory)-1]
				require.Equal(t, types.EquivocationReason, last.Reason)
				require.True(t, last.Fraction.Equal(types.DefaultSlashFractionEquivocation), "slash fraction %s", last.Fraction)
				require.Equal(t, sample.Uchr(slashedAmount), last.Burned)
			}
			for _, before := range others {
				require.Equal(t, before, f.node(t, before.Id), "node %s was not an equivocator and must not change", before.Id)
			}
			var events []*types.EventEquivocation
			for _, e := range f.Ctx.EventManager().ABCIEvents() {
				if e.Type == equivocationEvent {
					msg, err := sdk.ParseTypedEvent(e)
					require.NoError(t, err)
					events = append(events, msg.(*types.EventEquivocation))
				}
			}
			require.Len(t, events, len(wantSlashed), "one EventEquivocation per slashed node")
			for i, ev := range events {
				require.Equal(t, wantSlashed[i], ev.NodeId, "event %d node", i)
				require.Equal(t, f.media.ID, ev.MediaNodeId, "event %d media node", i)
				require.Equal(t, a.Receipt.SessionIDHex(), ev.SessionId, "event %d session", i)
				require.Equal(t, int64(1), ev.Epoch, "event %d epoch", i)
				require.Equal(t, sample.Uchr(slashedAmount-bountyAmount), ev.Burned, "event %d burned (after the bounty)", i)
				require.Equal(t, sample.Uchr(bountyAmount), ev.Bounty, "event %d bounty", i)
				require.Equal(t, reporterAddr.String(), ev.Reporter, "event %d reporter", i)
			}
			require.NoError(t, f.Registry.StakeInvariant(f.Ctx))
		})
	}
}

// TestSubmitEvidenceJailedNodeRejectsReceipts: after the slash the
// equivocators' receipts are no longer accepted.
func TestSubmitEvidenceJailedNodeRejectsReceipts(t *testing.T) {
	f := newFixture(t)
	a, b := f.equivocation()
	_, err := f.submitEvidence(reporterAddr.String(), a, b)
	require.NoError(t, err)
	res := f.submit(t, f.signed(1, 1))
	require.Empty(t, res.Accepted)
	require.Len(t, res.Rejected, 1)
	require.Equal(t, types.RejectReason_REJECT_REASON_MEDIA_NODE_NOT_ACTIVE, res.Rejected[0].Reason, "detail %q", res.Rejected[0].Detail)
}

func TestSubmitEvidenceFails(t *testing.T) {
	tests := []struct {
		name     string
		evidence func(t *testing.T, f *fixture) (reporter string, a, b format.SignedReceipt)
		expErr   *errorsmod.Error
		expMsg   string
	}{
		{
			name: "identical receipts",
			evidence: func(t *testing.T, f *fixture) (string, format.SignedReceipt, format.SignedReceipt) {
				a, _ := f.equivocation()
				return reporterAddr.String(), a, f.signed(1, evidenceSession)
			},
			expErr: types.ErrInvalidEvidence, expMsg: "identical",
		},
		{
			name: "identical receipts with different countersignatures",
			evidence: func(t *testing.T, f *fixture) (string, format.SignedReceipt, format.SignedReceipt) {
				a, _ := f.equivocation()
				b := a
				b.OrchestratorSignature = flipBit(a.OrchestratorSignature)
				return reporterAddr.String(), a, b
			},
			expErr: types.ErrInvalidEvidence, expMsg: "identical",
		},
		{
			name: "different sessions",
			evidence: func(t *testing.T, f *fixture) (string, format.SignedReceipt, format.SignedReceipt) {
				return reporterAddr.String(), f.signed(1, evidenceSession), f.signed(1, evidenceSession+1)
			},
			expErr: types.ErrInvalidEvidence, expMsg: "different (epoch, media node, session)",
		},
		{
			name: "different epochs",
			evidence: func(t *testing.T, f *fixture) (string, format.SignedReceipt, format.SignedReceipt) {
				return reporterAddr.String(), f.signed(1, evidenceSession), f.signed(2, evidenceSession)
			},
			expErr: types.ErrInvalidEvidence, expMsg: "different (epoch, media node, session)",
		},
		{
			name: "different media nodes",
			evidence: func(t *testing.T, f *fixture) (string, format.SignedReceipt, format.SignedReceipt) {
				m2 := sample.NodeKey(3)
				f.register(t, sample.RegisterMediaNode(f.mediaOp, 3, "DE"))
				return reporterAddr.String(), f.signed(1, evidenceSession), resign(m2, f.orch, sample.Receipt(m2, f.orch, 1, evidenceSession))
			},
			expErr: types.ErrInvalidEvidence, expMsg: "different (epoch, media node, session)",
		},
		{
			name: "forged media signature on receipt_b",
			evidence: func(t *testing.T, f *fixture) (string, format.SignedReceipt, format.SignedReceipt) {
				a, b := f.equivocation()
				b.MediaNodeSignature = flipBit(b.MediaNodeSignature)
				return reporterAddr.String(), a, b
			},
			expErr: types.ErrInvalidEvidence, expMsg: "receipt_b: media node signature does not verify",
		},
		{
			name: "forged media signature on receipt_a",
			evidence: func(t *testing.T, f *fixture) (string, format.SignedReceipt, format.SignedReceipt) {
				a, b := f.equivocation()
				a.MediaNodeSignature = flipBit(a.MediaNodeSignature)
				return reporterAddr.String(), a, b
			},
			expErr: types.ErrInvalidEvidence, expMsg: "receipt_a: media node signature does not verify",
		},
		{
			name: "receipt_b changed after signing (fabricated conflict)",
			evidence: func(t *testing.T, f *fixture) (string, format.SignedReceipt, format.SignedReceipt) {
				a := f.signed(1, evidenceSession)
				b := f.signed(1, evidenceSession)
				b.Receipt.BytesOut++
				return reporterAddr.String(), a, b
			},
			expErr: types.ErrInvalidEvidence, expMsg: "receipt_b: media node signature does not verify",
		},
		{
			name: "receipt_b signed by another key",
			evidence: func(t *testing.T, f *fixture) (string, format.SignedReceipt, format.SignedReceipt) {
				a, b := f.equivocation()
				b.MediaNodeSignature = countersignWith(t, sample.NodeKey(unregisteredSeed), format.ObjectUsageReceipt, testkeeper.ChainID, b.Receipt)
				return reporterAddr.String(), a, b
			},
			expErr: types.ErrInvalidEvidence, expMsg: "receipt_b: media node signature does not verify",
		},
		{
			name: "receipt_b signed for another chain",
			evidence: func(t *testing.T, f *fixture) (string, format.SignedReceipt, format.SignedReceipt) {
				a, _ := f.equivocation()
				r := sample.Receipt(f.media, f.orch, 1, evidenceSession)
				r.BytesOut += 1_000
				return reporterAddr.String(), a, sample.Sign(f.media, f.orch, "chroom-other-1", r)
			},
			expErr: types.ErrInvalidEvidence, expMsg: "receipt_b: media node signature does not verify",
		},
		{
			name: "second submission of the same equivocation",
			evidence: func(t *testing.T, f *fixture) (string, format.SignedReceipt, format.SignedReceipt) {
				a, b := f.equivocation()
				_, err := f.submitEvidence(reporterAddr.String(), a, b)
				require.NoError(t, err, "first report")
				return f.other.String(), a, b
			},
			expErr: types.ErrEvidenceAlreadyHandled, expMsg: "media node " + sample.NodeKey(mediaSeed).ID,
		},
		{
			name: "second submission with a third conflicting receipt",
			evidence: func(t *testing.T, f *fixture) (string, format.SignedReceipt, format.SignedReceipt) {
				a, b := f.equivocation()
				_, err := f.submitEvidence(reporterAddr.String(), a, b)
				require.NoError(t, err, "first report")
				r := sample.Receipt(f.media, f.orch, 1, evidenceSession)
				r.BytesIn += 5
				return reporterAddr.String(), a, resign(f.media, f.orch, r)
			},
			expErr: types.ErrEvidenceAlreadyHandled, expMsg: "equivocation already punished",
		},
		{
			name: "unknown media node",
			evidence: func(t *testing.T, f *fixture) (string, format.SignedReceipt, format.SignedReceipt) {
				stranger := sample.NodeKey(unregisteredSeed)
				r := sample.Receipt(stranger, f.orch, 1, evidenceSession)
				a := resign(stranger, f.orch, r)
				r.BytesOut++
				return reporterAddr.String(), a, resign(stranger, f.orch, r)
			},
			expErr: types.ErrInvalidEvidence, expMsg: "media node",
		},
		{
			name: "an orchestrator as media node",
			evidence: func(t *testing.T, f *fixture) (string, format.SignedReceipt, format.SignedReceipt) {
				r := sample.Receipt(f.orch, f.orch, 1, evidenceSession)
				a := resign(f.orch, f.orch, r)
				r.BytesOut++
				return reporterAddr.String(), a, resign(f.orch, f.orch, r)
			},
			expErr: types.ErrInvalidEvidence, expMsg: "is not a media node",
		},
		{
			name: "malformed receipt_a",
			evidence: func(t *testing.T, f *fixture) (string, format.SignedReceipt, format.SignedReceipt) {
				a, b := f.equivocation()
				a.Receipt.SessionId = a.Receipt.SessionId[:31]
				return reporterAddr.String(), a, b
			},
			expErr: types.ErrInvalidEvidence, expMsg: "receipt_a: session_id must be 32 bytes",
		},
		{
			name: "missing receipt_b",
			evidence: func(t *testing.T, f *fixture) (string, format.SignedReceipt, format.SignedReceipt) {
				a, _ := f.equivocation()
				return reporterAddr.String(), a, format.SignedReceipt{}
			},
			expErr: types.ErrInvalidEvidence, expMsg: "receipt_b: receipt is missing",
		},
		{
			name: "reporter not an address",
			evidence: func(t *testing.T, f *fixture) (string, format.SignedReceipt, format.SignedReceipt) {
				a, b := f.equivocation()
				return "chroom1notanaddress", a, b
			},
			expErr: types.ErrInvalidAddress, expMsg: "reporter",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			reporter, a, b := tc.evidence(t, f)
			before := f.state(t)
			f.freshEvents()
			_, err := f.submitEvidence(reporter, a, b)
			require.ErrorIs(t, err, tc.expErr)
			require.ErrorContains(t, err, tc.expMsg)
			f.requireState(t, before, "failed evidence changed state")
			require.Empty(t, f.Ctx.EventManager().Events(), "failed evidence emitted events")
		})
	}
}

// TestSubmitEvidenceBountyParams checks the split between bounty and burn
// under other params.
func TestSubmitEvidenceBountyParams(t *testing.T) {
	tests := []struct {
		name            string
		slash, bounty   string
		wantSlashedEach int64
		wantBountyEach  int64
	}{
		{name: "defaults", slash: "0.1", bounty: "0.1", wantSlashedEach: 500_000, wantBountyEach: 50_000},
		{name: "no bounty", slash: "0.1", bounty: "0", wantSlashedEach: 500_000, wantBountyEach: 0},
		{name: "whole slash as bounty", slash: "0.2", bounty: "1", wantSlashedEach: 1_000_000, wantBountyEach: 1_000_000},
		{name: "bounty truncated", slash: "0.000001", bounty: "0.3", wantSlashedEach: 5, wantBountyEach: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			p := types.DefaultParams()
			p.SlashFractionEquivocation, p.EvidenceBountyFraction = dec(tc.slash), dec(tc.bounty)
			require.NoError(t, f.Verification.SetParams(f.Ctx, p))
			moduleBefore := f.Bank.ModuleBalance(registrytypes.ModuleName, "uchr")
			a, b := f.equivocation()
			res, err := f.submitEvidence(reporterAddr.String(), a, b)
			require.NoError(t, err)
			require.Equal(t, sample.Uchr(2*tc.wantBountyEach), res.Bounty)
			require.Equal(t, sample.Uchr(2*tc.wantBountyEach), f.Bank.GetBalance(f.Ctx, reporterAddr, "uchr"))
			require.Equal(t, moduleBefore.SubAmount(sdkmath.NewInt(2*tc.wantSlashedEach)), f.Bank.ModuleBalance(registrytypes.ModuleName, "uchr"),
				"registry module balance falls by the slashed stake")
			for _, id := range []string{f.media.ID, f.orch.ID} {
				require.Equal(t, sample.Uchr(stake-tc.wantSlashedEach), f.node(t, id).Stake, "stake of %s", id)
			}
		})
	}
}

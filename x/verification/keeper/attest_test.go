package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	testkeeper "github.com/chroom/chroom/testutil/keeper"
	"github.com/chroom/chroom/testutil/sample"
	"github.com/chroom/chroom/x/verification/types"
)

// TestAttestedCreditAndQuality checks what a receipt earns with and
// without a client attestation: the 60-second sample receipt (node
// figures: 1% loss, 40 ms RTT → quality 0.9) is credited min(its
// duration, the client's attested time) at min(node quality, client
// quality); without an attestation it earns unattested_quality (0.5),
// whatever the node says.
func TestAttestedCreditAndQuality(t *testing.T) {
	tests := []struct {
		name        string
		receipt     func(f *fixture) format.SignedReceipt
		wantSeconds uint64
		wantWeight  string
	}{
		{name: "attested, client saw no loss: node quality", wantSeconds: 60, wantWeight: "54",
			receipt: func(f *fixture) format.SignedReceipt { return f.signed(1, 1) }},
		{name: "unattested: flat 0.5 even with perfect node figures", wantSeconds: 60, wantWeight: "30",
			receipt: func(f *fixture) format.SignedReceipt {
				r := sample.Receipt(f.media, f.orch, 1, 1)
				r.PacketsLost, r.RttMsP50 = 0, 1
				return resign(f.media, f.orch, r)
			}},
		{name: "client attests 30 s of the 60: credited 30 s", wantSeconds: 30, wantWeight: "27",
			receipt: func(f *fixture) format.SignedReceipt {
				s := sample.Sign(f.media, f.orch, testkeeper.ChainID, sample.Receipt(f.media, f.orch, 1, 1))
				st := sample.Statement(s.Receipt, 1)
				st.ElapsedMs = 30_999
				return sample.Attest(f.orch, testkeeper.ChainID, s, 1, st)
			}},
		{name: "client saw 5% loss: its quality (0.5) caps the node's (0.9)", wantSeconds: 60, wantWeight: "30",
			receipt: func(f *fixture) format.SignedReceipt {
				s := sample.Sign(f.media, f.orch, testkeeper.ChainID, sample.Receipt(f.media, f.orch, 1, 1))
				st := sample.Statement(s.Receipt, 1)
				st.PacketsReceived, st.PacketsLost = 9_500, 500
				return sample.Attest(f.orch, testkeeper.ChainID, s, 1, st)
			}},
		{name: "client received and sent nothing: quality 0", wantSeconds: 60, wantWeight: "0",
			receipt: func(f *fixture) format.SignedReceipt {
				s := sample.Sign(f.media, f.orch, testkeeper.ChainID, sample.Receipt(f.media, f.orch, 1, 1))
				st := sample.Statement(s.Receipt, 1)
				st.BytesReceived, st.BytesSent = 0, 0
				return sample.Attest(f.orch, testkeeper.ChainID, s, 1, st)
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			res := f.submit(t, tc.receipt(f))
			require.Equal(t, []uint32{0}, res.Accepted, "rejected: %v", res.Rejected)
			tally := f.tally(t, 1, f.media.ID)
			require.Equal(t, tc.wantSeconds, tally.VerifiedSeconds)
			require.True(t, tally.Weight.Equal(dec(tc.wantWeight)), "weight is %s, want %s", tally.Weight, tc.wantWeight)
		})
	}
}

// TestAppEscrowPays checks that a receipt naming an app is paid from the
// app's escrow, not by the submitter: the escrow falls by the fee, its
// spent total rises, the fee lands in the epoch's fees, and the
// submitter's balance is untouched.
func TestAppEscrowPays(t *testing.T) {
	f := newFixture(t)
	f.WithFees(t)
	f.app(t, "demo", 10_000, f.orch.ID)
	before := f.Bank.GetBalance(f.Ctx, f.orchOp, "uchr")

	res := f.submit(t, f.appReceipt(1, 1, "demo"), f.appReceipt(1, 2, "demo"))
	require.Equal(t, []uint32{0, 1}, res.Accepted, "rejected: %v", res.Rejected)

	a, err := f.Incentives.App(f.Ctx, "demo")
	require.NoError(t, err)
	require.Equal(t, "8000uchr", a.Balance.String(), "two 60 s receipts at 1000 uchr per participant-minute")
	require.Equal(t, "2000uchr", a.Spent.String())
	require.Equal(t, before, f.Bank.GetBalance(f.Ctx, f.orchOp, "uchr"), "the submitter pays nothing")
	fees, err := f.Incentives.EpochFees(f.Ctx, 1)
	require.NoError(t, err)
	require.Equal(t, "2000", fees.String())
	require.NoError(t, f.Incentives.PoolInvariant(f.Ctx))

	// Once the escrow is spent, the app's receipts earn nothing.
	_, err = f.Incentives.WithdrawApp(f.Ctx, f.other.String(), "demo", sample.Uchr(7_500))
	require.NoError(t, err)
	res = f.submit(t, f.appReceipt(1, 3, "demo"))
	require.Empty(t, res.Accepted)
	require.Equal(t, types.RejectReason_REJECT_REASON_UNPAID, res.Rejected[0].Reason)
	require.NoError(t, f.Incentives.PoolInvariant(f.Ctx))
}

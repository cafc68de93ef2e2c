package tests

import (
	"context"
	"encoding/hex"
	"testing"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"
	epochstypes "github.com/cosmos/cosmos-sdk/x/epochs/types"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/testutil/sample"
	incentivestypes "github.com/chroom/chroom/x/incentives/types"
	verificationtypes "github.com/chroom/chroom/x/verification/types"
)

// TestReceiptRefusalsOnChain sends one MsgSubmitReceipts through a live
// chain (CheckTx, DeliverTx, the real app wiring of x/verification and
// x/incentives) with a receipt paid from an app's escrow and one receipt
// for each refusal this round added, and checks the tx's response: the
// good one accepted, each bad one refused with its reason, and the app's
// escrow debited for the good one only.
func TestReceiptRefusalsOnChain(t *testing.T) {
	c := startChain(t, nil)
	operator := c.val.Address
	media, orch := sample.NodeKey(31), sample.NodeKey(32)
	chainID := c.val.ClientCtx.ChainID
	res := c.deliver(sample.RegisterMediaNode(operator, 31, "DE"), sample.RegisterOrchestrator(operator, 32, "DE"),
		&incentivestypes.MsgCreateApp{Owner: operator.String(), AppId: "paid", OrchestratorIds: []string{orch.ID}},
		&incentivestypes.MsgFundApp{Funder: operator.String(), AppId: "paid", Amount: sample.Uchr(1_500)},
		&incentivestypes.MsgCreateApp{Owner: operator.String(), AppId: "foreign", OrchestratorIds: []string{sample.NodeKey(33).ID}},
		&incentivestypes.MsgFundApp{Funder: operator.String(), AppId: "foreign", Amount: sample.Uchr(1_000_000)})
	require.Zero(t, res.Code, res.RawLog)

	cur, err := epochstypes.NewQueryClient(c.conn).CurrentEpoch(context.Background(), &epochstypes.QueryCurrentEpochRequest{Identifier: "chroom"})
	require.NoError(t, err)
	epoch := cur.CurrentEpoch
	base := time.Now().Add(-2 * time.Minute)
	// receipt n: a 60 s attested segment billed to app, with mutate applied
	// before signing and attest after.
	receipt := func(n int, app string, mutate func(r *format.UsageReceipt), attest func(s *format.SignedReceipt)) format.SignedReceipt {
		r := sample.ReceiptAt(media, orch, epoch, n, base.Add(time.Duration(n)*time.Second))
		r.AppId = app
		if mutate != nil {
			mutate(&r)
		}
		s := sample.Attest(orch, chainID, sample.Sign(media, orch, chainID, r), n, nil)
		if attest != nil {
			attest(&s)
		}
		return s
	}
	batch := []format.SignedReceipt{
		receipt(1, "paid", nil, nil), // 1,000 uchr from the escrow of 1,500
		receipt(2, "paid", nil, nil), // the escrow has 500 left
		receipt(3, "nope", nil, nil),
		receipt(4, "foreign", nil, nil),
		receipt(5, "", nil, func(s *format.SignedReceipt) { s.Attestation.Statement.ElapsedMs++ }), // changed after signing
		receipt(6, "", nil, func(s *format.SignedReceipt) { s.Attestation.Connection = 1 }),
		receipt(7, "", func(r *format.UsageReceipt) { r.EndUnixMs = r.StartUnixMs + 999 }, nil),
		receipt(8, "", func(r *format.UsageReceipt) {
			r.StartUnixMs = time.Now().Add(time.Hour).UnixMilli() // future-dated
			r.EndUnixMs = r.StartUnixMs + 60_000
		}, nil),
		receipt(1, "paid", nil, nil), // the first again
	}
	want := map[uint32]verificationtypes.RejectReason{
		1: verificationtypes.RejectReason_REJECT_REASON_UNPAID,
		2: verificationtypes.RejectReason_REJECT_REASON_UNKNOWN_APP,
		3: verificationtypes.RejectReason_REJECT_REASON_APP_NOT_AUTHORIZED,
		4: verificationtypes.RejectReason_REJECT_REASON_BAD_ATTESTATION,
		5: verificationtypes.RejectReason_REJECT_REASON_BAD_ATTESTATION,
		6: verificationtypes.RejectReason_REJECT_REASON_TOO_SHORT,
		7: verificationtypes.RejectReason_REJECT_REASON_OUT_OF_TIME,
		8: verificationtypes.RejectReason_REJECT_REASON_DUPLICATE,
	}
	res = c.deliver(&verificationtypes.MsgSubmitReceipts{Submitter: operator.String(), Receipts: batch})
	require.Zero(t, res.Code, res.RawLog)

	data, err := hex.DecodeString(res.Data)
	require.NoError(t, err)
	var msgData sdk.TxMsgData
	require.NoError(t, msgData.Unmarshal(data))
	require.Len(t, msgData.MsgResponses, 1)
	var out verificationtypes.MsgSubmitReceiptsResponse
	require.NoError(t, out.Unmarshal(msgData.MsgResponses[0].Value))
	require.Equal(t, []uint32{0}, out.Accepted, "rejected: %v", out.Rejected)
	got := map[uint32]verificationtypes.RejectReason{}
	for _, r := range out.Rejected {
		got[r.Index] = r.Reason
		require.NotEmpty(t, r.Detail, "receipt %d's refusal says why", r.Index)
	}
	require.Equal(t, want, got)

	app, err := incentivestypes.NewQueryClient(c.conn).App(context.Background(), &incentivestypes.QueryAppRequest{AppId: "paid"})
	require.NoError(t, err)
	require.Equal(t, "500uchr", app.App.Balance.String(), "the escrow paid for the accepted receipt only")
	require.Equal(t, "1000uchr", app.App.Spent.String())
}

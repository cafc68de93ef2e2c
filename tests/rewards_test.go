package tests

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"
	clitestutil "github.com/cosmos/cosmos-sdk/testutil/cli"
	sdknetwork "github.com/cosmos/cosmos-sdk/testutil/network"
	sdk "github.com/cosmos/cosmos-sdk/types"
	epochstypes "github.com/cosmos/cosmos-sdk/x/epochs/types"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/cmd/chroomd/cmd"
	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/testutil/sample"
	incentivestypes "github.com/chroom/chroom/x/incentives/types"
	verificationcli "github.com/chroom/chroom/x/verification/client/cli"
	verificationtypes "github.com/chroom/chroom/x/verification/types"
)

// TestReceiptsEarnRewards is the proof-of-resource loop on a live chain:
// register a media node and an orchestrator, sign and countersign a
// receipt with `chroomd receipt`, submit it with `chroomd tx verification
// submit-receipts`, let the epoch after it end, see claimable rewards,
// claim them and see the bank balance rise by that amount.
func TestReceiptsEarnRewards(t *testing.T) {
	c := startChain(t, func(cfg *sdknetwork.Config) {
		var gs epochstypes.GenesisState
		cfg.Codec.MustUnmarshalJSON(cfg.GenesisState[epochstypes.ModuleName], &gs)
		for i := range gs.Epochs {
			if gs.Epochs[i].Identifier == "chroom" {
				gs.Epochs[i].Duration = 4 * time.Second
			}
		}
		cfg.GenesisState[epochstypes.ModuleName] = cfg.Codec.MustMarshalJSON(&gs)
	})
	operator := c.val.Address
	mediaKey, orchKey := sample.NodeKey(11), sample.NodeKey(12)
	dir := t.TempDir()
	mediaFile, orchFile := filepath.Join(dir, "media.json"), filepath.Join(dir, "orch.json")
	require.NoError(t, mediaKey.Save(mediaFile))
	require.NoError(t, orchKey.Save(orchFile))

	res := c.deliver(sample.RegisterMediaNode(operator, 11, "DE"), sample.RegisterOrchestrator(operator, 12, "DE"))
	require.Zero(t, res.Code, res.RawLog)

	epochs := epochstypes.NewQueryClient(c.conn)
	cur, err := epochs.CurrentEpoch(context.Background(), &epochstypes.QueryCurrentEpochRequest{Identifier: "chroom"})
	require.NoError(t, err)
	epoch := cur.CurrentEpoch
	require.Positive(t, epoch)

	// The media node signs, the orchestrator countersigns, with the CLI tools.
	r := sample.ReceiptAt(mediaKey, orchKey, epoch, 1, time.Now().Add(-10*time.Second)) // inside the chain's time window
	r.EndUnixMs = r.StartUnixMs + 3_000                                                 // shorter than the 4 s epoch
	r.BytesIn, r.BytesOut = 100_000, 400_000
	unsigned, err := r.MarshalJSON()
	require.NoError(t, err)
	receiptFile := filepath.Join(dir, "receipt.json")
	require.NoError(t, os.WriteFile(receiptFile, unsigned, 0o600))
	chainFlag := "--chain-id=" + c.val.ClientCtx.ChainID

	out, err := clitestutil.ExecTestCLICmd(c.val.ClientCtx, cmd.ReceiptCmd(), []string{"sign", receiptFile, "--node-key=" + mediaFile, chainFlag})
	require.NoError(t, err)
	signedFile := filepath.Join(dir, "signed.json")
	require.NoError(t, os.WriteFile(signedFile, out.Bytes(), 0o600))
	out, err = clitestutil.ExecTestCLICmd(c.val.ClientCtx, cmd.ReceiptCmd(), []string{"countersign", signedFile, "--node-key=" + orchFile, chainFlag})
	require.NoError(t, err)
	doubleFile := filepath.Join(dir, "double.json")
	require.NoError(t, os.WriteFile(doubleFile, out.Bytes(), 0o600))

	// A countersignature for another chain does not verify here.
	var s format.SignedReceipt
	require.NoError(t, s.UnmarshalJSON(out.Bytes()))
	require.True(t, s.VerifyCountersignature(orchKey.PublicKey, c.val.ClientCtx.ChainID))
	require.False(t, s.VerifyCountersignature(orchKey.PublicKey, "other-chain"))

	out, err = clitestutil.ExecTestCLICmd(c.val.ClientCtx, verificationcli.SubmitReceiptsCmd(), []string{
		doubleFile, "--from=" + operator.String(), chainFlag, "--yes", "--broadcast-mode=sync",
		"--fees=10uchr", "--gas=400000", "--output=json",
	})
	require.NoError(t, err)
	var bres sdk.TxResponse
	require.NoError(t, c.val.ClientCtx.Codec.UnmarshalJSON(out.Bytes(), &bres), out.String())
	require.Zero(t, bres.Code, bres.RawLog)
	require.NoError(t, c.net.WaitForNextBlock())
	require.NoError(t, c.net.WaitForNextBlock())

	ver := verificationtypes.NewQueryClient(c.conn)
	tally, err := ver.NodeEpoch(context.Background(), &verificationtypes.QueryNodeEpochRequest{NodeId: mediaKey.ID, Epoch: epoch})
	require.NoError(t, err)
	require.Equal(t, uint64(1), tally.Tally.Sessions, "the receipt is on chain")
	require.Equal(t, uint64(3), tally.Tally.VerifiedSeconds)

	// Submitting the same receipt again is rejected as a duplicate, and
	// nothing more is tallied.
	res = c.deliver(&verificationtypes.MsgSubmitReceipts{Submitter: operator.String(), Receipts: []format.SignedReceipt{s}})
	require.Zero(t, res.Code, res.RawLog)
	require.Contains(t, res.Events[len(res.Events)-1].Type, "EventReceiptRejected")

	// Once the epoch after the receipt's has ended, the split is credited.
	inc := incentivestypes.NewQueryClient(c.conn)
	var claimable sdkmath.Int
	require.Eventually(t, func() bool {
		r, err := inc.Rewards(context.Background(), &incentivestypes.QueryRewardsRequest{Operator: operator.String()})
		if err != nil {
			return false
		}
		claimable = r.Claimable.Amount
		return claimable.IsPositive()
	}, 60*time.Second, 500*time.Millisecond, "rewards become claimable within two epochs")
	summary, err := inc.EpochSummary(context.Background(), &incentivestypes.QueryEpochSummaryRequest{Epoch: epoch})
	require.NoError(t, err)
	require.Equal(t, uint64(1), summary.Summary.MediaNodesPaid)
	// The validator operates both nodes, so it gets the whole budget.
	require.Equal(t, summary.Summary.Paid.Amount, claimable)

	before := c.balance(operator)
	res = c.deliver(&incentivestypes.MsgClaimRewards{Operator: operator.String()})
	require.Zero(t, res.Code, res.RawLog)
	require.Equal(t, before.Add(claimable).SubRaw(10), c.balance(operator), "balance rises by the claim, minus the 10uchr fee")
	after, err := inc.Rewards(context.Background(), &incentivestypes.QueryRewardsRequest{Operator: operator.String()})
	require.NoError(t, err)
	require.True(t, after.Claimable.IsZero())

	pool, err := inc.Pool(context.Background(), &incentivestypes.QueryPoolRequest{})
	require.NoError(t, err)
	require.Equal(t, pool.ModuleBalance.Amount, pool.Pool.Amount.Add(pool.Claimable.Amount), "pool + claimable = module balance")
}

package keeper_test

import (
	"testing"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/chroom/chroom/format"
	testkeeper "github.com/chroom/chroom/testutil/keeper"
	"github.com/chroom/chroom/testutil/sample"
	registrykeeper "github.com/chroom/chroom/x/registry/keeper"
)

const benchBatch = 500

// BenchmarkSubmitReceipts measures receipts verified and committed per
// second: each iteration submits one MsgSubmitReceipts batch of 500
// distinct receipts (1,000 ed25519 signatures) and commits the store, as a
// block would. "one-bad-signature" puts one forged receipt in every batch,
// which forces the one-by-one fallback after the batch check fails.
// "attested" receipts carry a client attestation: four signatures each
// (media node, orchestrator, grant binding, client statement), 2,000 per
// batch.
func BenchmarkSubmitReceipts(b *testing.B) {
	for _, tc := range []struct {
		name             string
		forged, attested bool
	}{{"all-valid", false, false}, {"one-bad-signature", true, false}, {"attested", false, true}, {"attested-one-bad-signature", true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			c := testkeeper.NewChroom(b)
			media, orch := sample.NodeKey(1), sample.NodeKey(2)
			operator := sample.AccAddress(1)
			c.Bank.Fund(operator, sdk.NewCoins(sample.Uchr(100_000_000)))
			msgs := registrykeeper.NewMsgServerImpl(c.Registry)
			if _, err := msgs.RegisterNode(c.Backdated(), sample.RegisterMediaNode(operator, 1, "DE")); err != nil {
				b.Fatal(err)
			}
			if _, err := msgs.RegisterNode(c.Backdated(), sample.RegisterOrchestrator(operator, 2, "DE")); err != nil {
				b.Fatal(err)
			}
			c.Commit()
			session := 0
			nextBatch := func() []format.SignedReceipt {
				batch := make([]format.SignedReceipt, benchBatch)
				for i := range batch {
					session++
					batch[i] = sample.Sign(media, orch, testkeeper.ChainID, sample.Receipt(media, orch, 1, session))
					if tc.attested {
						batch[i] = sample.Attest(orch, testkeeper.ChainID, batch[i], session, nil)
					}
				}
				if tc.forged {
					batch[benchBatch/2].MediaNodeSignature[0] ^= 1
				}
				return batch
			}
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				batch := nextBatch()
				c.NextBlock(time.Second)
				b.StartTimer()
				start := time.Now()
				accepted, _, err := c.Verification.SubmitReceipts(c.Ctx, operator.String(), batch)
				c.Commit()
				elapsed += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				want := benchBatch
				if tc.forged {
					want--
				}
				if len(accepted) != want {
					b.Fatalf("accepted %d of %d", len(accepted), benchBatch)
				}
			}
			b.ReportMetric(float64(benchBatch*b.N)/elapsed.Seconds(), "receipts/s")
		})
	}
}

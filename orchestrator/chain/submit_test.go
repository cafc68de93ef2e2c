package chain_test

import (
	"encoding/hex"
	"strings"
	"testing"

	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/app"
	"github.com/chroom/chroom/orchestrator/chain"
	verificationtypes "github.com/chroom/chroom/x/verification/types"
)

func TestConstantsMatchTheApp(t *testing.T) {
	require.Equal(t, app.Bech32Prefix, chain.Bech32Prefix)
	require.Equal(t, app.Bech32PrefixValAddr, chain.Bech32PrefixValAddr)
	require.Equal(t, app.ChroomEpochIdentifier, chain.EpochIdentifier)
	require.Equal(t, app.AppName, chain.KeyringAppName)
}

func TestDecodeResult(t *testing.T) {
	resp := &verificationtypes.MsgSubmitReceiptsResponse{
		Accepted: []uint32{0, 2},
		Rejected: []verificationtypes.Rejection{{Index: 1, Reason: verificationtypes.RejectReason_REJECT_REASON_DUPLICATE, Detail: "seen"}},
	}
	a, err := codectypes.NewAnyWithValue(resp)
	require.NoError(t, err)
	other, err := codectypes.NewAnyWithValue(&verificationtypes.MsgSubmitEvidenceResponse{})
	require.NoError(t, err)
	data, err := (&sdk.TxMsgData{MsgResponses: []*codectypes.Any{other, a}}).Marshal()
	require.NoError(t, err)

	r, err := chain.DecodeResult(&sdk.TxResponse{TxHash: "AB", Height: 7, Data: strings.ToUpper(hex.EncodeToString(data)), GasUsed: 5})
	require.NoError(t, err)
	require.Equal(t, "AB", r.TxHash)
	require.Equal(t, int64(7), r.Height)
	require.Equal(t, resp.Accepted, r.Accepted)
	require.Equal(t, []chain.Rejection{{Index: 1, Reason: "duplicate", Detail: "seen"}}, r.Rejected, "the reason as a label")

	// A failed tx has no responses to decode.
	r, err = chain.DecodeResult(&sdk.TxResponse{Code: 11, Codespace: "sdk", RawLog: "out of gas"})
	require.NoError(t, err)
	require.Equal(t, uint32(11), r.Code)
	require.Empty(t, r.Accepted)

	_, err = chain.DecodeResult(&sdk.TxResponse{Data: "zz"})
	require.Error(t, err)
}

func TestTxHashAndExpiry(t *testing.T) {
	// SHA-256("") in uppercase hex, as CometBFT prints tx hashes.
	require.Equal(t, "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", chain.TxHash(nil))
	require.False(t, chain.Expired(100, 100+chain.ExpiryMarginBlocks))
	require.True(t, chain.Expired(100, 101+chain.ExpiryMarginBlocks))
	require.False(t, chain.Expired(0, 1_000_000), "no timeout height: never expires")
}

func TestSequenceMismatch(t *testing.T) {
	e := &chain.TxRefusedError{Code: 32, Codespace: "sdk", Log: "account sequence mismatch, expected 12, got 11: incorrect account sequence"}
	require.True(t, e.SequenceMismatch())
	n, ok := chain.ExpectedSequence(e.Log)
	require.True(t, ok)
	require.Equal(t, uint64(12), n)
	require.False(t, (&chain.TxRefusedError{Code: 13, Codespace: "sdk"}).SequenceMismatch())
	_, ok = chain.ExpectedSequence("insufficient fee")
	require.False(t, ok)
}

// TestGasGrowsAfterOutOfGas: a tx that ran out of gas (SDK code 11) makes
// the next ones ask for 1.5× the per-receipt gas, up to 8×, so a batch
// that did not fit is not sent again with the same limit until its
// receipts go stale; other failures change nothing.
func TestGasGrowsAfterOutOfGas(t *testing.T) {
	s := chain.NewGasTestSubmitter(200_000, 40_000)
	require.EqualValues(t, 200_000+6*40_000, s.Gas(6))
	s.RanOutOfGas(chain.Result{Code: 5, Codespace: "sdk"}) // insufficient funds: not gas
	require.EqualValues(t, 200_000+6*40_000, s.Gas(6))
	s.RanOutOfGas(chain.Result{Code: 11, Codespace: "sdk"})
	require.EqualValues(t, 200_000+6*60_000, s.Gas(6))
	for i := 0; i < 10; i++ {
		s.RanOutOfGas(chain.Result{Code: 11, Codespace: "sdk"})
	}
	require.EqualValues(t, 200_000+6*320_000, s.Gas(6), "at most 8×")
}

package chain_test

import (
	"context"
	"testing"

	clienttx "github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/codec/address"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/crypto/hd"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"
	txtypes "github.com/cosmos/cosmos-sdk/types/tx"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authsigning "github.com/cosmos/cosmos-sdk/x/auth/signing"
	authtx "github.com/cosmos/cosmos-sdk/x/auth/tx"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/orchestrator/chain"
	"github.com/chroom/chroom/testutil/sample"
	verificationtypes "github.com/chroom/chroom/x/verification/types"
)

// TestSignDirectMatchesSDKClient checks the package's own SIGN_MODE_DIRECT
// signing against the SDK client's (client/tx Sign with an x/auth/tx
// TxConfig, what Prepare used before): the same tx, byte for byte — so the
// same hash — which the SDK's tx decoder accepts and whose signature
// verifies over the DIRECT sign bytes.
func TestSignDirectMatchesSDKClient(t *testing.T) {
	reg, err := chain.NewInterfaceRegistry()
	require.NoError(t, err)
	cdc := codec.NewProtoCodec(reg)
	txConfig := authtx.NewTxConfig(cdc, authtx.DefaultSignModes)
	kr := keyring.NewInMemory(cdc)
	rec, _, err := kr.NewMnemonic("operator", keyring.English, sdk.FullFundraiserPath, keyring.DefaultBIP39Passphrase, hd.Secp256k1)
	require.NoError(t, err)
	acc, err := rec.GetAddress()
	require.NoError(t, err)
	submitter, err := address.Bech32Codec{Bech32Prefix: chain.Bech32Prefix}.BytesToString(acc)
	require.NoError(t, err)
	pub, err := rec.GetPubKey()
	require.NoError(t, err)

	const chainID = "chroom-test-1"
	media, orch := sample.NodeKey(1), sample.NodeKey(2)
	receipts := []format.SignedReceipt{
		sample.Sign(media, orch, chainID, sample.Receipt(media, orch, 3, 1)),
		sample.Sign(media, orch, chainID, sample.Receipt(media, orch, 3, 2)),
	}
	for _, tc := range []struct {
		name             string
		number, sequence uint64
		fees             sdk.Coins
		gas, timeout     uint64
	}{
		{name: "no fee, account 0, sequence 0", gas: 250_000},
		{name: "fee", number: 7, sequence: 42, fees: sdk.NewCoins(sdk.NewInt64Coin("uchr", 10)), gas: 250_000, timeout: 120},
		{name: "two denoms", number: 1, sequence: 1, fees: sdk.NewCoins(sdk.NewInt64Coin("uchr", 5), sdk.NewInt64Coin("atom", 1)), gas: 1, timeout: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := &verificationtypes.MsgSubmitReceipts{Submitter: submitter, Receipts: receipts}

			// The SDK client's way.
			b := txConfig.NewTxBuilder()
			require.NoError(t, b.SetMsgs(msg))
			b.SetGasLimit(tc.gas)
			b.SetFeeAmount(tc.fees)
			b.SetTimeoutHeight(tc.timeout)
			f := clienttx.Factory{}.WithChainID(chainID).WithKeybase(kr).WithTxConfig(txConfig).
				WithSignMode(signing.SignMode_SIGN_MODE_DIRECT).WithAccountNumber(tc.number).WithSequence(tc.sequence)
			require.NoError(t, clienttx.Sign(context.Background(), f, "operator", b, true))
			want, err := txConfig.TxEncoder()(b.GetTx())
			require.NoError(t, err)

			// The package's way.
			a, err := codectypes.NewAnyWithValue(msg)
			require.NoError(t, err)
			raw, err := chain.SignDirect(kr, "operator", chainID, tc.number, tc.sequence,
				&txtypes.TxBody{Messages: []*codectypes.Any{a}, TimeoutHeight: tc.timeout},
				&txtypes.Fee{Amount: tc.fees, GasLimit: tc.gas})
			require.NoError(t, err)
			got, err := raw.Marshal()
			require.NoError(t, err)
			require.Equal(t, want, got, "the same tx as the SDK client signs")
			require.Equal(t, chain.TxHash(want), chain.TxHash(got))

			// The chain's decoder accepts it, with the fields asked for.
			decoded, err := txConfig.TxDecoder()(got)
			require.NoError(t, err)
			dtx, ok := decoded.(authsigning.Tx)
			require.True(t, ok)
			require.Equal(t, tc.gas, dtx.GetGas())
			require.True(t, tc.fees.Equal(dtx.GetFee()), "fee %s, want %s", dtx.GetFee(), tc.fees)
			require.Equal(t, tc.timeout, dtx.GetTimeoutHeight())
			require.Len(t, dtx.GetMsgs(), 1)
			require.Equal(t, msg, dtx.GetMsgs()[0])
			sigs, err := dtx.GetSignaturesV2()
			require.NoError(t, err)
			require.Len(t, sigs, 1)
			require.Equal(t, tc.sequence, sigs[0].Sequence)
			require.True(t, pub.Equals(sigs[0].PubKey))
			single, isSingle := sigs[0].Data.(*signing.SingleSignatureData)
			require.True(t, isSingle)
			require.Equal(t, signing.SignMode_SIGN_MODE_DIRECT, single.SignMode)

			// The signature verifies over the DIRECT sign bytes.
			signBytes, err := authsigning.GetSignBytesAdapter(context.Background(), txConfig.SignModeHandler(),
				signing.SignMode_SIGN_MODE_DIRECT, authsigning.SignerData{
					ChainID: chainID, AccountNumber: tc.number, Sequence: tc.sequence, PubKey: pub, Address: acc.String(),
				}, dtx)
			require.NoError(t, err)
			require.True(t, pub.VerifySignature(signBytes, single.Signature))
			require.False(t, pub.VerifySignature(append(signBytes, 0), single.Signature))
		})
	}

	_, err = chain.SignDirect(kr, "nobody", chainID, 0, 0, &txtypes.TxBody{}, &txtypes.Fee{})
	require.Error(t, err, "a key the keyring does not hold")
}

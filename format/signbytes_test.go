package format_test

import (
	"bytes"
	"crypto/ed25519"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
)

func TestSignBytesLayout(t *testing.T) {
	chainID50 := strings.Repeat("c", format.MaxChainIDLength)
	tests := []struct {
		name    string
		object  string
		chainID string
		payload []byte
		want    string
	}{
		{
			name: "usage receipt", object: format.ObjectUsageReceipt, chainID: "chroom-1", payload: []byte{0x0a, 0x02, 0x00, 0xff},
			want: "chroom/usage-receipt/v1\x00chroom-1\x00\x0a\x02\x00\xff",
		},
		{
			name: "countersignature", object: format.ObjectReceiptCountersignature, chainID: "chroom-1", payload: []byte("p"),
			want: "chroom/usage-receipt-countersignature/v1\x00chroom-1\x00p",
		},
		{
			name: "load report on a devnet", object: format.ObjectLoadReport, chainID: "chroom-devnet", payload: []byte("p"),
			want: "chroom/load-report/v1\x00chroom-devnet\x00p",
		},
		{
			name: "nil payload", object: format.ObjectUsageReceipt, chainID: "chroom-1", payload: nil,
			want: "chroom/usage-receipt/v1\x00chroom-1\x00",
		},
		{
			name: "payload holding NUL bytes", object: format.ObjectUsageReceipt, chainID: "chroom-1", payload: []byte{0, 0},
			want: "chroom/usage-receipt/v1\x00chroom-1\x00\x00\x00",
		},
		{
			name: "chain ID of exactly 50 bytes", object: "x", chainID: chainID50, payload: []byte("p"),
			want: "chroom/x/v1\x00" + chainID50 + "\x00p",
		},
		{
			name: "object of digits and dashes", object: "0-9", chainID: "c", payload: nil,
			want: "chroom/0-9/v1\x00c\x00",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := format.SignBytes(tc.object, tc.chainID, tc.payload)
			require.NoError(t, err)
			require.Equal(t, []byte(tc.want), got)
		})
	}
}

func TestSignBytesDoesNotAliasPayload(t *testing.T) {
	payload := []byte("abc")
	got, err := format.SignBytes(format.ObjectUsageReceipt, "chroom-1", payload)
	require.NoError(t, err)
	payload[0] = 'X'
	require.Equal(t, []byte("chroom/usage-receipt/v1\x00chroom-1\x00abc"), got)
}

func TestSignBytesRejects(t *testing.T) {
	tests := []struct {
		name      string
		object    string
		chainID   string
		expErrMsg string
	}{
		{name: "empty object kind", object: "", chainID: "chroom-1", expErrMsg: "object kind is empty"},
		{name: "upper-case object kind", object: "Usage-Receipt", chainID: "chroom-1", expErrMsg: "object kind"},
		{name: "object kind with a slash", object: "usage-receipt/v2", chainID: "chroom-1", expErrMsg: "object kind"},
		{name: "object kind with NUL", object: "usage\x00receipt", chainID: "chroom-1", expErrMsg: "object kind"},
		{name: "object kind with underscore", object: "usage_receipt", chainID: "chroom-1", expErrMsg: "object kind"},
		{name: "object kind with space", object: "usage receipt", chainID: "chroom-1", expErrMsg: "object kind"},
		{name: "non-ASCII object kind", object: "réceipt", chainID: "chroom-1", expErrMsg: "object kind"},
		{name: "invalid UTF-8 object kind", object: "receipt\xff", chainID: "chroom-1", expErrMsg: "object kind"},
		{name: "empty chain ID", object: format.ObjectUsageReceipt, chainID: "", expErrMsg: "chain ID is empty"},
		{name: "chain ID of 51 bytes", object: format.ObjectUsageReceipt, chainID: strings.Repeat("c", 51), expErrMsg: "longer than 50"},
		{name: "NUL at the end of the chain ID", object: format.ObjectUsageReceipt, chainID: "chroom-1\x00", expErrMsg: "NUL"},
		{name: "NUL inside the chain ID", object: format.ObjectUsageReceipt, chainID: "chroom\x00-1", expErrMsg: "NUL"},
		{name: "chain ID that is only NUL", object: format.ObjectUsageReceipt, chainID: "\x00", expErrMsg: "NUL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := format.SignBytes(tc.object, tc.chainID, []byte("payload"))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.expErrMsg)
			require.Nil(t, got)
		})
	}
}

func TestSignAndVerify(t *testing.T) {
	const chainID = "chroom-1"
	k := mustKey(t, 11)
	payload := []byte("deterministic protobuf bytes")
	sig, err := k.Sign(format.ObjectUsageReceipt, chainID, payload)
	require.NoError(t, err)
	require.Len(t, sig, ed25519.SignatureSize)

	// The signature covers exactly the documented bytes, checked here with
	// crypto/ed25519 directly.
	signed := append([]byte("chroom/usage-receipt/v1\x00chroom-1\x00"), payload...)
	require.True(t, ed25519.Verify(k.PublicKey, signed, sig), "signature must cover the documented sign bytes")

	flip := func(b []byte, i int) []byte {
		out := bytes.Clone(b)
		out[i] ^= 0x01
		return out
	}
	tests := []struct {
		name    string
		pubkey  []byte
		object  string
		chainID string
		payload []byte
		sig     []byte
		valid   bool
	}{
		{name: "valid", pubkey: k.PublicKey, object: format.ObjectUsageReceipt, chainID: chainID, payload: payload, sig: sig, valid: true},
		{name: "another object kind", pubkey: k.PublicKey, object: format.ObjectLoadReport, chainID: chainID, payload: payload, sig: sig},
		{name: "countersignature kind", pubkey: k.PublicKey, object: format.ObjectReceiptCountersignature, chainID: chainID, payload: payload, sig: sig},
		{name: "another chain ID", pubkey: k.PublicKey, object: format.ObjectUsageReceipt, chainID: "chroom-2", payload: payload, sig: sig},
		{name: "chain ID with a trailing space", pubkey: k.PublicKey, object: format.ObjectUsageReceipt, chainID: chainID + " ", payload: payload, sig: sig},
		{name: "first payload bit flipped", pubkey: k.PublicKey, object: format.ObjectUsageReceipt, chainID: chainID, payload: flip(payload, 0), sig: sig},
		{name: "last payload bit flipped", pubkey: k.PublicKey, object: format.ObjectUsageReceipt, chainID: chainID, payload: flip(payload, len(payload)-1), sig: sig},
		{name: "payload truncated", pubkey: k.PublicKey, object: format.ObjectUsageReceipt, chainID: chainID, payload: payload[:len(payload)-1], sig: sig},
		{name: "payload extended", pubkey: k.PublicKey, object: format.ObjectUsageReceipt, chainID: chainID, payload: append(bytes.Clone(payload), 0), sig: sig},
		{name: "signature bit flipped", pubkey: k.PublicKey, object: format.ObjectUsageReceipt, chainID: chainID, payload: payload, sig: flip(sig, 10)},
		{name: "truncated signature", pubkey: k.PublicKey, object: format.ObjectUsageReceipt, chainID: chainID, payload: payload, sig: sig[:ed25519.SignatureSize-1]},
		{name: "signature with an extra byte", pubkey: k.PublicKey, object: format.ObjectUsageReceipt, chainID: chainID, payload: payload, sig: append(bytes.Clone(sig), 0)},
		{name: "empty signature", pubkey: k.PublicKey, object: format.ObjectUsageReceipt, chainID: chainID, payload: payload, sig: nil},
		{name: "another key", pubkey: mustKey(t, 12).PublicKey, object: format.ObjectUsageReceipt, chainID: chainID, payload: payload, sig: sig},
		{name: "31-byte pubkey", pubkey: k.PublicKey[:31], object: format.ObjectUsageReceipt, chainID: chainID, payload: payload, sig: sig},
		{name: "33-byte pubkey", pubkey: append(bytes.Clone(k.PublicKey), 0), object: format.ObjectUsageReceipt, chainID: chainID, payload: payload, sig: sig},
		{name: "nil pubkey", pubkey: nil, object: format.ObjectUsageReceipt, chainID: chainID, payload: payload, sig: sig},
		{name: "invalid object kind", pubkey: k.PublicKey, object: "Usage-Receipt", chainID: chainID, payload: payload, sig: sig},
		{name: "empty chain ID", pubkey: k.PublicKey, object: format.ObjectUsageReceipt, chainID: "", payload: payload, sig: sig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.valid, format.Verify(tc.pubkey, tc.object, tc.chainID, tc.payload, tc.sig))
		})
	}
}

func TestSignRejectsInvalidDomain(t *testing.T) {
	k := mustKey(t, 13)
	tests := []struct {
		name    string
		object  string
		chainID string
	}{
		{name: "empty object kind", object: "", chainID: "chroom-1"},
		{name: "empty chain ID", object: format.ObjectLoadReport, chainID: ""},
		{name: "chain ID too long", object: format.ObjectLoadReport, chainID: strings.Repeat("c", 51)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sig, err := k.Sign(tc.object, tc.chainID, []byte("p"))
			require.Error(t, err)
			require.Nil(t, sig)
		})
	}
}

// validObject is the documented object kind alphabet.
var validObject = regexp.MustCompile(`^[a-z0-9-]+$`)

func FuzzSignBytes(f *testing.F) {
	f.Add(format.ObjectUsageReceipt, "chroom-1", []byte{0x0a, 0x00})
	f.Add(format.ObjectLoadReport, "", []byte(nil))
	f.Add("Usage", "chroom-1", []byte("p"))
	f.Add("a", strings.Repeat("c", 51), []byte("p"))
	f.Add("a", "c\x00", []byte("\x00"))
	f.Add("é", "chroom-1", []byte{})
	f.Fuzz(func(t *testing.T, object, chainID string, payload []byte) {
		out, err := format.SignBytes(object, chainID, payload)
		if err != nil {
			require.Nil(t, out)
			return
		}
		// Accepted inputs obey the documented rules.
		require.Regexp(t, validObject, object)
		require.NotEmpty(t, chainID)
		require.LessOrEqual(t, len(chainID), format.MaxChainIDLength)
		require.NotContains(t, chainID, "\x00")

		prefix := "chroom/" + object + "/v1\x00" + chainID + "\x00"
		require.True(t, bytes.HasPrefix(out, []byte(prefix)), "output must start with the domain prefix")
		require.True(t, bytes.HasSuffix(out, payload), "output must end with the payload")
		require.Len(t, out, len(prefix)+len(payload))
	})
}

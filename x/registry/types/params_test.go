package types_test

import (
	"testing"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/x/registry/types"
)

func TestBackedCapacity(t *testing.T) {
	uchr := func(n int64) sdk.Coin { return sdk.NewCoin("uchr", sdkmath.NewInt(n)) }
	declared := types.Capacity{MaxSessions: 500, MaxEgressKbps: 1_000_000}
	noBacking := types.DefaultParams()
	noBacking.StakePerSession, noBacking.StakePerEgressMbps = sdk.Coin{}, uchr(0)
	cases := []struct {
		name   string
		params types.Params
		stake  sdk.Coin
		want   types.Capacity
	}{
		{"5 CHR back the sample node fully", types.DefaultParams(), uchr(5_000_000), declared},
		{"1 CHR backs 100 sessions and 200 Mbit/s", types.DefaultParams(), uchr(1_000_000), types.Capacity{MaxSessions: 100, MaxEgressKbps: 200_000}},
		{"a stake just short of one more session rounds down", types.DefaultParams(), uchr(1_009_999), types.Capacity{MaxSessions: 100, MaxEgressKbps: 201_999}},
		{"more stake never raises the declared capacity", types.DefaultParams(), uchr(1_000_000_000), declared},
		{"no stake (slashed to zero) backs nothing", types.DefaultParams(), uchr(0), types.Capacity{}},
		{"a stake in another denom backs nothing", types.DefaultParams(), sdk.NewCoin("stake", sdkmath.NewInt(5_000_000)), types.Capacity{}},
		{"zero params: as declared", noBacking, uchr(1), declared},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.params.Validate())
			got := tc.params.BackedCapacity(types.Node{Capacity: declared, Stake: tc.stake})
			require.Equal(t, tc.want, got)
		})
	}
}

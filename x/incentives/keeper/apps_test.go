package keeper_test

import (
	"testing"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"

	testkeeper "github.com/chroom/chroom/testutil/keeper"
	"github.com/chroom/chroom/testutil/sample"
	"github.com/chroom/chroom/x/incentives/keeper"
	"github.com/chroom/chroom/x/incentives/types"
)

// TestAppMessages drives the app-account messages through the Msg
// service: each bad message fails with its error and changes nothing; the
// escrow and the module balance move together.
func TestAppMessages(t *testing.T) {
	c := testkeeper.NewChroom(t)
	msgs := keeper.NewMsgServerImpl(c.Incentives)
	owner, stranger := sample.AccAddress(1), sample.AccAddress(2)
	c.Bank.Fund(owner, sdk.NewCoins(sample.Uchr(1_000_000)))
	c.Bank.Fund(stranger, sdk.NewCoins(sample.Uchr(1_000_000)))
	orch := sample.NodeKey(3).ID

	_, err := msgs.CreateApp(c.Ctx, &types.MsgCreateApp{Owner: owner.String(), AppId: "demo", OrchestratorIds: []string{orch, orch}})
	require.NoError(t, err)
	a, err := c.Incentives.App(c.Ctx, "demo")
	require.NoError(t, err)
	require.Equal(t, []string{orch}, a.OrchestratorIds, "deduplicated")
	require.Equal(t, "0uchr", a.Balance.String())

	bad := []struct {
		name string
		run  func() error
		want error
	}{
		{"app ID with upper case", func() error {
			_, err := msgs.CreateApp(c.Ctx, &types.MsgCreateApp{Owner: owner.String(), AppId: "Demo"})
			return err
		}, types.ErrInvalidApp},
		{"app ID starting with a digit", func() error {
			_, err := msgs.CreateApp(c.Ctx, &types.MsgCreateApp{Owner: owner.String(), AppId: "1demo"})
			return err
		}, types.ErrInvalidApp},
		{"app exists", func() error {
			_, err := msgs.CreateApp(c.Ctx, &types.MsgCreateApp{Owner: stranger.String(), AppId: "demo"})
			return err
		}, types.ErrAppExists},
		{"fund an unknown app", func() error {
			_, err := msgs.FundApp(c.Ctx, &types.MsgFundApp{Funder: owner.String(), AppId: "nope", Amount: sample.Uchr(1)})
			return err
		}, types.ErrAppNotFound},
		{"fund with another denom", func() error {
			_, err := msgs.FundApp(c.Ctx, &types.MsgFundApp{Funder: owner.String(), AppId: "demo", Amount: sdk.NewInt64Coin("stake", 1)})
			return err
		}, types.ErrInvalidAmount},
		{"withdraw by a stranger", func() error {
			_, err := msgs.WithdrawApp(c.Ctx, &types.MsgWithdrawApp{Owner: stranger.String(), AppId: "demo", Amount: sample.Uchr(1)})
			return err
		}, types.ErrNotAppOwner},
		{"withdraw more than the escrow", func() error {
			_, err := msgs.WithdrawApp(c.Ctx, &types.MsgWithdrawApp{Owner: owner.String(), AppId: "demo", Amount: sample.Uchr(1)})
			return err
		}, types.ErrInsufficientEscrow},
		{"update by a stranger", func() error {
			_, err := msgs.UpdateApp(c.Ctx, &types.MsgUpdateApp{Owner: stranger.String(), AppId: "demo"})
			return err
		}, types.ErrNotAppOwner},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.run(), tc.want)
			got, err := c.Incentives.App(c.Ctx, "demo")
			require.NoError(t, err)
			require.Equal(t, a, got, "a refused message changes nothing")
		})
	}

	// Anyone may fund; only the owner withdraws; escrow + pool + claimable
	// = module balance throughout.
	res, err := msgs.FundApp(c.Ctx, &types.MsgFundApp{Funder: stranger.String(), AppId: "demo", Amount: sample.Uchr(5_000)})
	require.NoError(t, err)
	require.Equal(t, "5000uchr", res.Balance.String())
	require.NoError(t, c.Incentives.PoolInvariant(c.Ctx))
	w, err := msgs.WithdrawApp(c.Ctx, &types.MsgWithdrawApp{Owner: owner.String(), AppId: "demo", Amount: sample.Uchr(2_000)})
	require.NoError(t, err)
	require.Equal(t, "3000uchr", w.Balance.String())
	require.Equal(t, "1002000uchr", c.Bank.GetBalance(c.Ctx, owner, "uchr").String())
	require.NoError(t, c.Incentives.PoolInvariant(c.Ctx))

	_, err = msgs.UpdateApp(c.Ctx, &types.MsgUpdateApp{Owner: owner.String(), AppId: "demo"})
	require.NoError(t, err)
	_, _, authorized, err := c.Incentives.AppBilling(c.Ctx, "demo", orch)
	require.NoError(t, err)
	require.False(t, authorized, "an app with no orchestrators lets nobody bill it")

	gs, err := c.Incentives.ExportGenesis(c.Ctx)
	require.NoError(t, err)
	require.Len(t, gs.Apps, 1)
	require.NoError(t, gs.Validate())
}

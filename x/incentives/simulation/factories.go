// Package simulation holds the x/incentives simulation: pool funding and
// reward claims.
package simulation

import (
	"context"

	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/testutil/simsx"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/module"

	"github.com/chroom/chroom/x/incentives/keeper"
	"github.com/chroom/chroom/x/incentives/types"
)

// RandomizedGenState writes the default genesis with a random
// orchestrator share and a small payout bound, so splits span blocks.
func RandomizedGenState(simState *module.SimulationState) {
	gs := types.DefaultGenesis()
	gs.Params.OrchestratorShare = sdkmath.LegacyNewDecWithPrec(int64(simState.Rand.Intn(51)), 2)
	gs.Params.MaxPayoutsPerBlock = uint32(1 + simState.Rand.Intn(10))
	simState.GenState[types.ModuleName] = simState.Cdc.MustMarshalJSON(gs)
}

// MsgFundPoolFactory pays a random amount of uchr into the pool.
func MsgFundPoolFactory() simsx.SimMsgFactoryFn[*types.MsgFundPool] {
	return func(ctx context.Context, testData *simsx.ChainDataSource, reporter simsx.SimulationReporter) ([]simsx.SimAccount, *types.MsgFundPool) {
		from := testData.AnyAccount(reporter, simsx.WithDenomBalance(types.RewardDenom))
		if reporter.IsSkipped() {
			return nil, nil
		}
		amount := from.LiquidBalance().RandSubsetCoin(reporter, types.RewardDenom)
		if reporter.IsSkipped() || !amount.IsPositive() {
			reporter.Skip("nothing to fund")
			return nil, nil
		}
		return []simsx.SimAccount{from}, &types.MsgFundPool{Funder: from.AddressBech32, Amount: amount}
	}
}

// MsgClaimRewardsFactory claims for a random account that has rewards.
func MsgClaimRewardsFactory(k keeper.Keeper) simsx.SimMsgFactoryFn[*types.MsgClaimRewards] {
	return func(ctx context.Context, testData *simsx.ChainDataSource, reporter simsx.SimulationReporter) ([]simsx.SimAccount, *types.MsgClaimRewards) {
		op := testData.AnyAccount(reporter, simsx.SimAccountFilterFn(func(a simsx.SimAccount) bool {
			c, err := k.Claimable(ctx, sdk.AccAddress(a.Address))
			return err == nil && c.IsPositive()
		}))
		if reporter.IsSkipped() {
			return nil, nil
		}
		return []simsx.SimAccount{op}, &types.MsgClaimRewards{Operator: op.AddressBech32}
	}
}

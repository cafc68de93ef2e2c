package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/chroom/chroom/x/incentives/types"
)

// FundPool moves amount (uchr, positive) from funder into the pool and
// counts it as fees of the current epoch, so it is paid out with that
// epoch's budget. Errors: ErrInvalidAddress, ErrInvalidAmount, the bank's
// insufficient-funds error, or a missing epoch.
func (k Keeper) FundPool(ctx context.Context, funder string, amount sdk.Coin) error {
	addr, err := k.addressCodec.StringToBytes(funder)
	if err != nil {
		return errorsmod.Wrapf(types.ErrInvalidAddress, "funder %q: %s", funder, err)
	}
	if err := amount.Validate(); err != nil || amount.Denom != types.RewardDenom || !amount.IsPositive() {
		return errorsmod.Wrapf(types.ErrInvalidAmount, "amount must be a positive amount of %s, got %s", types.RewardDenom, amount)
	}
	params, err := k.params.Get(ctx)
	if err != nil {
		return err
	}
	epoch, err := k.currentEpoch(ctx, params.EpochIdentifier)
	if err != nil {
		return err
	}
	if err := k.bank.SendCoinsFromAccountToModule(ctx, addr, types.ModuleName, sdk.NewCoins(amount)); err != nil {
		return errorsmod.Wrap(err, "fund pool")
	}
	if err := k.addFees(ctx, epoch, amount.Amount); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventPoolFunded{
		Funder: sdk.AccAddress(addr).String(), Epoch: epoch, Amount: amount,
	})
}

// ClaimRewards pays operator all its claimable rewards and returns the
// amount. Errors: ErrInvalidAddress, ErrNothingToClaim.
func (k Keeper) ClaimRewards(ctx context.Context, operator string) (sdk.Coin, error) {
	addr, err := k.addressCodec.StringToBytes(operator)
	if err != nil {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrInvalidAddress, "operator %q: %s", operator, err)
	}
	amount, err := k.Claimable(ctx, addr)
	if err != nil {
		return sdk.Coin{}, err
	}
	if !amount.IsPositive() {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrNothingToClaim, "%s has no claimable rewards", sdk.AccAddress(addr))
	}
	coin := sdk.NewCoin(types.RewardDenom, amount)
	if err := k.addClaimable(ctx, addr, amount.Neg()); err != nil {
		return sdk.Coin{}, err
	}
	if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, addr, sdk.NewCoins(coin)); err != nil {
		return sdk.Coin{}, errorsmod.Wrap(err, "pay rewards")
	}
	return coin, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventRewardsClaimed{
		Operator: sdk.AccAddress(addr).String(), Amount: coin,
	})
}

// CanPay reports whether payer can spend amount (x/verification's
// FeeCollector): its spendable balance, not counting coins locked in
// vesting, is at least amount.
func (k Keeper) CanPay(ctx context.Context, payer sdk.AccAddress, amount sdk.Coin) bool {
	return !k.bank.SpendableCoin(ctx, payer, amount.Denom).IsLT(amount)
}

// CollectUsageFee moves a usage fee (x/verification
// price_per_participant_minute) from payer into the pool as fees of
// epoch (x/verification's FeeCollector). Errors: ErrInvalidAmount, the
// bank's insufficient-funds error.
func (k Keeper) CollectUsageFee(ctx context.Context, payer sdk.AccAddress, epoch int64, amount sdk.Coin) error {
	if err := amount.Validate(); err != nil || amount.Denom != types.RewardDenom || !amount.IsPositive() {
		return errorsmod.Wrapf(types.ErrInvalidAmount, "usage fee must be a positive amount of %s, got %s", types.RewardDenom, amount)
	}
	if err := k.bank.SendCoinsFromAccountToModule(ctx, payer, types.ModuleName, sdk.NewCoins(amount)); err != nil {
		return errorsmod.Wrap(err, "collect usage fee")
	}
	return k.addFees(ctx, epoch, amount.Amount)
}

// addFees adds amount (uchr already in the module account) to the pool
// and to epoch's fees, which emission and the split of that epoch follow.
func (k Keeper) addFees(ctx context.Context, epoch int64, amount sdkmath.Int) error {
	if err := k.addPool(ctx, amount); err != nil {
		return err
	}
	fees, err := getInt(k.fees.Get(ctx, epoch))
	if err != nil {
		return err
	}
	return k.fees.Set(ctx, epoch, fees.Add(amount))
}

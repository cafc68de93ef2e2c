package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/chroom/chroom/x/incentives/types"
)

// App returns an app account. Errors: ErrAppNotFound, store errors.
func (k Keeper) App(ctx context.Context, id string) (types.App, error) {
	a, err := k.apps.Get(ctx, id)
	if errors.Is(err, collections.ErrNotFound) {
		return types.App{}, errorsmod.Wrapf(types.ErrAppNotFound, "no app %q", id)
	}
	return a, err
}

// Escrowed returns Σ app balances in uchr.
func (k Keeper) Escrowed(ctx context.Context) (sdkmath.Int, error) {
	return getInt(k.escrowed.Get(ctx))
}

// setApp stores a and moves the escrow total by delta (uchr).
func (k Keeper) setApp(ctx context.Context, a types.App, delta sdkmath.Int) error {
	if err := k.apps.Set(ctx, a.AppId, a); err != nil {
		return err
	}
	if delta.IsZero() {
		return nil
	}
	total, err := k.Escrowed(ctx)
	if err != nil {
		return err
	}
	total = total.Add(delta)
	if total.IsNegative() {
		return errorsmod.Wrapf(types.ErrInsufficientEscrow, "escrow total would go negative (%s)", total)
	}
	return k.escrowed.Set(ctx, total)
}

func validEscrowAmount(amount sdk.Coin) error {
	if err := amount.Validate(); err != nil || amount.Denom != types.RewardDenom || !amount.IsPositive() {
		return errorsmod.Wrapf(types.ErrInvalidAmount, "amount must be a positive amount of %s, got %s", types.RewardDenom, amount)
	}
	return nil
}

// CreateApp creates app id owned by owner, billable by orchestrators.
// Errors: ErrInvalidAddress, ErrInvalidApp (bad ID or orchestrator list),
// ErrAppExists.
func (k Keeper) CreateApp(ctx context.Context, owner, id string, orchestrators []string) error {
	addr, err := k.addressCodec.StringToBytes(owner)
	if err != nil {
		return errorsmod.Wrapf(types.ErrInvalidAddress, "owner %q: %s", owner, err)
	}
	if err := types.ValidateAppID(id); err != nil {
		return errorsmod.Wrap(types.ErrInvalidApp, err.Error())
	}
	orchs, err := types.NormalizeOrchestrators(orchestrators)
	if err != nil {
		return errorsmod.Wrap(types.ErrInvalidApp, err.Error())
	}
	if has, err := k.apps.Has(ctx, id); err != nil {
		return err
	} else if has {
		return errorsmod.Wrapf(types.ErrAppExists, "app %q exists", id)
	}
	a := types.App{
		AppId: id, Owner: sdk.AccAddress(addr).String(), OrchestratorIds: orchs,
		Balance: sdk.NewCoin(types.RewardDenom, sdkmath.ZeroInt()), Spent: sdk.NewCoin(types.RewardDenom, sdkmath.ZeroInt()),
	}
	if err := k.setApp(ctx, a, sdkmath.ZeroInt()); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventAppCreated{AppId: id, Owner: a.Owner, OrchestratorIds: orchs})
}

// FundApp moves amount (uchr) from funder into app id's escrow and
// returns the new balance. Errors: ErrInvalidAddress, ErrInvalidAmount,
// ErrAppNotFound, the bank's insufficient-funds error.
func (k Keeper) FundApp(ctx context.Context, funder, id string, amount sdk.Coin) (sdk.Coin, error) {
	addr, err := k.addressCodec.StringToBytes(funder)
	if err != nil {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrInvalidAddress, "funder %q: %s", funder, err)
	}
	if err := validEscrowAmount(amount); err != nil {
		return sdk.Coin{}, err
	}
	a, err := k.App(ctx, id)
	if err != nil {
		return sdk.Coin{}, err
	}
	if err := k.bank.SendCoinsFromAccountToModule(ctx, addr, types.ModuleName, sdk.NewCoins(amount)); err != nil {
		return sdk.Coin{}, errorsmod.Wrap(err, "fund app")
	}
	a.Balance = a.Balance.Add(amount)
	if err := k.setApp(ctx, a, amount.Amount); err != nil {
		return sdk.Coin{}, err
	}
	return a.Balance, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventAppFunded{
		AppId: id, Funder: sdk.AccAddress(addr).String(), Amount: amount, Balance: a.Balance,
	})
}

// WithdrawApp pays amount from app id's escrow to its owner and returns
// the new balance. Errors: ErrInvalidAddress, ErrInvalidAmount,
// ErrAppNotFound, ErrNotAppOwner, ErrInsufficientEscrow.
func (k Keeper) WithdrawApp(ctx context.Context, owner, id string, amount sdk.Coin) (sdk.Coin, error) {
	a, addr, err := k.ownedApp(ctx, owner, id)
	if err != nil {
		return sdk.Coin{}, err
	}
	if err := validEscrowAmount(amount); err != nil {
		return sdk.Coin{}, err
	}
	if a.Balance.IsLT(amount) {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrInsufficientEscrow, "app %s holds %s, cannot withdraw %s", id, a.Balance, amount)
	}
	a.Balance = a.Balance.Sub(amount)
	if err := k.setApp(ctx, a, amount.Amount.Neg()); err != nil {
		return sdk.Coin{}, err
	}
	if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, addr, sdk.NewCoins(amount)); err != nil {
		return sdk.Coin{}, errorsmod.Wrap(err, "withdraw app escrow")
	}
	return a.Balance, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventAppWithdrawn{AppId: id, Amount: amount, Balance: a.Balance})
}

// UpdateApp replaces the orchestrators allowed to bill app id. Errors:
// ErrInvalidAddress, ErrAppNotFound, ErrNotAppOwner, ErrInvalidApp.
func (k Keeper) UpdateApp(ctx context.Context, owner, id string, orchestrators []string) error {
	a, _, err := k.ownedApp(ctx, owner, id)
	if err != nil {
		return err
	}
	orchs, err := types.NormalizeOrchestrators(orchestrators)
	if err != nil {
		return errorsmod.Wrap(types.ErrInvalidApp, err.Error())
	}
	a.OrchestratorIds = orchs
	if err := k.setApp(ctx, a, sdkmath.ZeroInt()); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventAppUpdated{AppId: id, OrchestratorIds: orchs})
}

func (k Keeper) ownedApp(ctx context.Context, owner, id string) (types.App, sdk.AccAddress, error) {
	addr, err := k.addressCodec.StringToBytes(owner)
	if err != nil {
		return types.App{}, nil, errorsmod.Wrapf(types.ErrInvalidAddress, "owner %q: %s", owner, err)
	}
	a, err := k.App(ctx, id)
	if err != nil {
		return types.App{}, nil, err
	}
	if a.Owner != sdk.AccAddress(addr).String() {
		return types.App{}, nil, errorsmod.Wrapf(types.ErrNotAppOwner, "app %s is owned by %s", id, a.Owner)
	}
	return a, addr, nil
}

// AppBilling implements x/verification's FeeCollector: app id's escrow,
// whether it exists and whether orchestratorID may bill it.
func (k Keeper) AppBilling(ctx context.Context, id, orchestratorID string) (sdk.Coin, bool, bool, error) {
	a, err := k.apps.Get(ctx, id)
	if errors.Is(err, collections.ErrNotFound) {
		return sdk.Coin{}, false, false, nil
	}
	if err != nil {
		return sdk.Coin{}, false, false, err
	}
	return a.Balance, true, a.Authorizes(orchestratorID), nil
}

// CollectAppFee implements x/verification's FeeCollector: it moves a usage
// fee from app id's escrow into the pool as fees of epoch (the coins stay
// in the module account). Errors: ErrInvalidAmount, ErrAppNotFound,
// ErrInsufficientEscrow.
func (k Keeper) CollectAppFee(ctx context.Context, id string, epoch int64, amount sdk.Coin) error {
	if err := validEscrowAmount(amount); err != nil {
		return err
	}
	a, err := k.App(ctx, id)
	if err != nil {
		return err
	}
	if a.Balance.IsLT(amount) {
		return errorsmod.Wrapf(types.ErrInsufficientEscrow, "app %s holds %s, cannot pay %s", id, a.Balance, amount)
	}
	a.Balance = a.Balance.Sub(amount)
	a.Spent = a.Spent.Add(amount)
	if err := k.setApp(ctx, a, amount.Amount.Neg()); err != nil {
		return err
	}
	if err := k.addFees(ctx, epoch, amount.Amount); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventAppCharged{AppId: id, Epoch: epoch, Amount: amount, Balance: a.Balance})
}

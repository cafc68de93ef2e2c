// Package keeper builds keepers over in-memory stores for unit tests, with
// a small in-memory bank that moves, mints and burns coins for real so
// tests can check balances.
package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
)

// Bank is an in-memory ledger that implements the bank keeper interfaces
// Chroom modules expect. Module accounts live at their module addresses.
type Bank struct {
	balances map[string]sdk.Coins
}

// NewBank returns an empty ledger.
func NewBank() *Bank { return &Bank{balances: map[string]sdk.Coins{}} }

// Fund mints coins into addr.
func (b *Bank) Fund(addr sdk.AccAddress, coins sdk.Coins) {
	b.balances[addr.String()] = b.balances[addr.String()].Add(coins...)
}

// Balances returns all balances of addr.
func (b *Bank) Balances(addr sdk.AccAddress) sdk.Coins { return b.balances[addr.String()] }

// ModuleBalance returns the balance of a module account in denom.
func (b *Bank) ModuleBalance(module, denom string) sdk.Coin {
	return b.GetBalance(context.Background(), authtypes.NewModuleAddress(module), denom)
}

// Snapshot returns a copy of every balance, for before/after comparisons.
func (b *Bank) Snapshot() map[string]sdk.Coins {
	out := make(map[string]sdk.Coins, len(b.balances))
	for k, v := range b.balances {
		out[k] = sdk.NewCoins(v...)
	}
	return out
}

func (b *Bank) send(from, to sdk.AccAddress, amt sdk.Coins) error {
	have := b.balances[from.String()]
	rest, negative := have.SafeSub(amt...)
	if negative {
		return errorsmod.Wrapf(sdkerrors.ErrInsufficientFunds, "spendable balance %s is smaller than %s", have, amt)
	}
	b.balances[from.String()] = rest
	b.balances[to.String()] = b.balances[to.String()].Add(amt...)
	return nil
}

// SendCoinsFromAccountToModule implements the expected bank keeper.
func (b *Bank) SendCoinsFromAccountToModule(_ context.Context, from sdk.AccAddress, module string, amt sdk.Coins) error {
	return b.send(from, authtypes.NewModuleAddress(module), amt)
}

// SendCoinsFromModuleToAccount implements the expected bank keeper.
func (b *Bank) SendCoinsFromModuleToAccount(_ context.Context, module string, to sdk.AccAddress, amt sdk.Coins) error {
	return b.send(authtypes.NewModuleAddress(module), to, amt)
}

// SendCoinsFromModuleToModule implements the expected bank keeper.
func (b *Bank) SendCoinsFromModuleToModule(_ context.Context, from, to string, amt sdk.Coins) error {
	return b.send(authtypes.NewModuleAddress(from), authtypes.NewModuleAddress(to), amt)
}

// MintCoins implements the expected bank keeper.
func (b *Bank) MintCoins(_ context.Context, module string, amt sdk.Coins) error {
	b.Fund(authtypes.NewModuleAddress(module), amt)
	return nil
}

// BurnCoins implements the expected bank keeper.
func (b *Bank) BurnCoins(_ context.Context, module string, amt sdk.Coins) error {
	addr := authtypes.NewModuleAddress(module)
	rest, negative := b.balances[addr.String()].SafeSub(amt...)
	if negative {
		return errorsmod.Wrapf(sdkerrors.ErrInsufficientFunds, "module %s cannot burn %s", module, amt)
	}
	b.balances[addr.String()] = rest
	return nil
}

// GetBalance implements the expected bank keeper.
func (b *Bank) GetBalance(_ context.Context, addr sdk.AccAddress, denom string) sdk.Coin {
	return sdk.NewCoin(denom, b.balances[addr.String()].AmountOf(denom))
}

// SpendableCoin is GetBalance: this bank has no vesting accounts.
func (b *Bank) SpendableCoin(ctx context.Context, addr sdk.AccAddress, denom string) sdk.Coin {
	return b.GetBalance(ctx, addr, denom)
}

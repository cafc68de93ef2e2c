// Package keeper implements x/incentives: the reward pool, the per-epoch
// split of DESIGN.md §2 and claimable rewards.
package keeper

import (
	"context"
	"errors"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	"cosmossdk.io/core/store"
	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/chroom/chroom/x/incentives/types"
)

// Keeper holds x/incentives state.
type Keeper struct {
	cdc          codec.BinaryCodec
	addressCodec address.Codec
	bank         types.BankKeeper
	verification types.VerificationKeeper
	registry     types.RegistryKeeper
	epochs       types.EpochsKeeper
	authority    string

	// Schema is the collections schema.
	Schema collections.Schema
	params collections.Item[types.Params]
	// pool is the undistributed reward balance, in uchr.
	pool collections.Item[sdkmath.Int]
	// claimable is each operator's unclaimed rewards, in uchr.
	claimable collections.Map[sdk.AccAddress, sdkmath.Int]
	// totalClaimable is Σ claimable, kept so queries stay O(1).
	totalClaimable collections.Item[sdkmath.Int]
	// fees are the uchr funded into the pool during each epoch.
	fees      collections.Map[int64, sdkmath.Int]
	summaries collections.Map[int64, types.EpochSummary]
	// pending are the epochs whose split is not finished.
	pending collections.KeySet[int64]
	// apps are the app accounts (escrows) by app ID.
	apps collections.Map[string, types.App]
	// escrowed is Σ app balances, in uchr, kept so queries stay O(1).
	escrowed collections.Item[sdkmath.Int]
}

// NewKeeper returns the x/incentives keeper.
func NewKeeper(
	cdc codec.BinaryCodec,
	storeService store.KVStoreService,
	addressCodec address.Codec,
	bank types.BankKeeper,
	verification types.VerificationKeeper,
	registry types.RegistryKeeper,
	epochs types.EpochsKeeper,
	authority string,
) Keeper {
	if _, err := addressCodec.StringToBytes(authority); err != nil {
		panic(fmt.Errorf("x/incentives authority %q is not an address: %w", authority, err))
	}
	sb := collections.NewSchemaBuilder(storeService)
	k := Keeper{
		cdc: cdc, addressCodec: addressCodec, bank: bank, verification: verification,
		registry: registry, epochs: epochs, authority: authority,
		params:         collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		pool:           collections.NewItem(sb, types.PoolKey, "pool", sdk.IntValue),
		claimable:      collections.NewMap(sb, types.ClaimableKey, "claimable", sdk.AccAddressKey, sdk.IntValue),
		totalClaimable: collections.NewItem(sb, types.TotalClaimableKey, "total_claimable", sdk.IntValue),
		fees:           collections.NewMap(sb, types.EpochFeesKey, "epoch_fees", collections.Int64Key, sdk.IntValue),
		summaries:      collections.NewMap(sb, types.SummariesKey, "summaries", collections.Int64Key, codec.CollValue[types.EpochSummary](cdc)),
		pending:        collections.NewKeySet(sb, types.PendingKey, "pending", collections.Int64Key),
		apps:           collections.NewMap(sb, types.AppsKey, "apps", collections.StringKey, codec.CollValue[types.App](cdc)),
		escrowed:       collections.NewItem(sb, types.EscrowedKey, "escrowed", sdk.IntValue),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(err)
	}
	k.Schema = schema
	return k
}

// Params returns the params.
func (k Keeper) Params(ctx context.Context) (types.Params, error) { return k.params.Get(ctx) }

// SetParams validates and stores params.
func (k Keeper) SetParams(ctx context.Context, p types.Params) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return k.params.Set(ctx, p)
}

// getInt reads an Int item or map entry, zero when absent.
func getInt(v sdkmath.Int, err error) (sdkmath.Int, error) {
	if errors.Is(err, collections.ErrNotFound) {
		return sdkmath.ZeroInt(), nil
	}
	return v, err
}

// Pool returns the undistributed pool in uchr.
func (k Keeper) Pool(ctx context.Context) (sdkmath.Int, error) { return getInt(k.pool.Get(ctx)) }

// TotalClaimable returns Σ claimable in uchr.
func (k Keeper) TotalClaimable(ctx context.Context) (sdkmath.Int, error) {
	return getInt(k.totalClaimable.Get(ctx))
}

// Claimable returns an operator's claimable rewards in uchr.
func (k Keeper) Claimable(ctx context.Context, operator sdk.AccAddress) (sdkmath.Int, error) {
	return getInt(k.claimable.Get(ctx, operator))
}

// Summary returns an epoch's reward split, or ErrSummaryNotFound.
func (k Keeper) Summary(ctx context.Context, epoch int64) (types.EpochSummary, error) {
	s, err := k.summaries.Get(ctx, epoch)
	if errors.Is(err, collections.ErrNotFound) {
		return s, fmt.Errorf("%w %d: its rewards are split at the end of epoch %d", types.ErrSummaryNotFound, epoch, epoch+1)
	}
	return s, err
}

func (k Keeper) addPool(ctx context.Context, delta sdkmath.Int) error {
	p, err := k.Pool(ctx)
	if err != nil {
		return err
	}
	p = p.Add(delta)
	if p.IsNegative() {
		return fmt.Errorf("reward pool would go negative (%s)", p)
	}
	return k.pool.Set(ctx, p)
}

func (k Keeper) addClaimable(ctx context.Context, operator sdk.AccAddress, delta sdkmath.Int) error {
	c, err := k.Claimable(ctx, operator)
	if err != nil {
		return err
	}
	total, err := k.TotalClaimable(ctx)
	if err != nil {
		return err
	}
	c = c.Add(delta)
	if c.IsZero() {
		if err := k.claimable.Remove(ctx, operator); err != nil {
			return err
		}
	} else if err := k.claimable.Set(ctx, operator, c); err != nil {
		return err
	}
	return k.totalClaimable.Set(ctx, total.Add(delta))
}

// currentEpoch is the x/epochs epoch now (1 before counting starts).
func (k Keeper) currentEpoch(ctx context.Context, identifier string) (int64, error) {
	info, err := k.epochs.GetEpochInfo(sdk.UnwrapSDKContext(ctx), identifier)
	if err != nil {
		return 0, fmt.Errorf("x/epochs has no %q epoch: %w", identifier, err)
	}
	if info.CurrentEpoch < 1 {
		return 1, nil
	}
	return info.CurrentEpoch, nil
}

// EpochFees returns the fees funded into the pool during epoch, in uchr.
func (k Keeper) EpochFees(ctx context.Context, epoch int64) (sdkmath.Int, error) {
	return getInt(k.fees.Get(ctx, epoch))
}

package keeper

import (
	"testing"
	"time"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cosmos/cosmos-sdk/runtime"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	"github.com/cosmos/cosmos-sdk/testutil"
	sdk "github.com/cosmos/cosmos-sdk/types"
	moduletestutil "github.com/cosmos/cosmos-sdk/types/module/testutil"
	authcodec "github.com/cosmos/cosmos-sdk/x/auth/codec"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"

	registrykeeper "github.com/chroom/chroom/x/registry/keeper"
	registrytypes "github.com/chroom/chroom/x/registry/types"
)

// GenesisTime is the block time of contexts these helpers build.
var GenesisTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Registry is an x/registry keeper over an in-memory store.
type Registry struct {
	Keeper    registrykeeper.Keeper
	Ctx       sdk.Context
	Bank      *Bank
	Authority string
	Codec     moduletestutil.TestEncodingConfig
	cms       storetypes.CommitMultiStore
}

// Commit commits the store, as a block does, so reads hit persisted IAVL
// state instead of the uncommitted working set.
func (r *Registry) Commit() { r.cms.Commit() }

// NewRegistry returns an x/registry keeper with default params, a fresh
// in-memory store and bank, and a context at height 1 and GenesisTime.
func NewRegistry(tb testing.TB) *Registry {
	tb.Helper()
	key := storetypes.NewKVStoreKey(registrytypes.StoreKey)
	testCtx := testutil.DefaultContextWithDB(tb, key, storetypes.NewTransientStoreKey("transient_registry"))
	ctx := testCtx.Ctx.WithBlockHeader(cmtproto.Header{Height: 1, Time: GenesisTime})
	enc := moduletestutil.MakeTestEncodingConfig()
	registrytypes.RegisterInterfaces(enc.InterfaceRegistry)

	bank := NewBank()
	authority := authtypes.NewModuleAddress(govtypes.ModuleName).String()
	k := registrykeeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(key), authcodec.NewBech32Codec(sdk.GetConfig().GetBech32AccountAddrPrefix()), bank, authority)
	if err := k.InitGenesis(ctx, registrytypes.DefaultGenesis()); err != nil {
		tb.Fatalf("init registry genesis: %v", err)
	}
	return &Registry{Keeper: k, Ctx: ctx, Bank: bank, Authority: authority, Codec: enc, cms: testCtx.CMS}
}

// AdvanceTime moves the context's block time forward by d and the height by one.
func (r *Registry) AdvanceTime(d time.Duration) {
	r.Ctx = r.Ctx.WithBlockHeader(cmtproto.Header{Height: r.Ctx.BlockHeight() + 1, Time: r.Ctx.BlockTime().Add(d)})
}

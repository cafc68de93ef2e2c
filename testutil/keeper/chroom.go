package keeper

import (
	"context"
	"fmt"
	"testing"
	"time"

	"cosmossdk.io/log/v2"
	sdkmath "cosmossdk.io/math"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	dbm "github.com/cosmos/cosmos-db"
	"github.com/cosmos/cosmos-sdk/runtime"
	"github.com/cosmos/cosmos-sdk/store/v2"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	moduletestutil "github.com/cosmos/cosmos-sdk/types/module/testutil"
	authcodec "github.com/cosmos/cosmos-sdk/x/auth/codec"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	epochstypes "github.com/cosmos/cosmos-sdk/x/epochs/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"

	incentiveskeeper "github.com/chroom/chroom/x/incentives/keeper"
	incentivestypes "github.com/chroom/chroom/x/incentives/types"
	registrykeeper "github.com/chroom/chroom/x/registry/keeper"
	registrytypes "github.com/chroom/chroom/x/registry/types"
	verificationkeeper "github.com/chroom/chroom/x/verification/keeper"
	verificationtypes "github.com/chroom/chroom/x/verification/types"
)

// ChainID is the chain ID of contexts built here; receipts must be signed
// for it.
const ChainID = "chroom-test-1"

// Epochs is an in-memory x/epochs keeper with one epoch whose number and
// duration tests set directly.
type Epochs struct {
	Identifier string
	Current    int64
	Duration   time.Duration
	// Start is when the current epoch started; zero (the default) reports
	// none, and x/verification then bounds receipt times by the block time
	// only. Tests of the epoch window set it; Chroom.EndEpoch moves a
	// non-zero Start to the block time.
	Start time.Time
}

// GetEpochInfo implements the expected epochs keeper.
func (e *Epochs) GetEpochInfo(_ sdk.Context, identifier string) (epochstypes.EpochInfo, error) {
	if identifier != e.Identifier {
		return epochstypes.EpochInfo{}, fmt.Errorf("no epoch %q", identifier)
	}
	return epochstypes.EpochInfo{
		Identifier: identifier, Duration: e.Duration, CurrentEpoch: e.Current,
		EpochCountingStarted: e.Current > 0, CurrentEpochStartTime: e.Start,
	}, nil
}

// Chroom is x/registry, x/verification and x/incentives over one
// in-memory multi-store, wired as in the app, with the in-memory bank and
// epochs.
type Chroom struct {
	Ctx          sdk.Context
	Bank         *Bank
	Epochs       *Epochs
	Registry     registrykeeper.Keeper
	Verification verificationkeeper.Keeper
	Incentives   incentiveskeeper.Keeper
	Authority    string
	cms          storetypes.CommitMultiStore
}

// NewChroom returns the three modules with default genesis, epoch 1 of one
// hour, at height 1 and GenesisTime, on chain ChainID.
func NewChroom(tb testing.TB) *Chroom {
	tb.Helper()
	keys := storetypes.NewKVStoreKeys(registrytypes.StoreKey, verificationtypes.StoreKey, incentivestypes.StoreKey)
	tkey := storetypes.NewTransientStoreKey("transient_chroom")
	db := dbm.NewMemDB()
	cms := store.NewCommitMultiStore(db, log.NewNopLogger())
	for _, k := range keys {
		cms.MountStoreWithDB(k, storetypes.StoreTypeIAVL, nil) // nil: prefixed in the shared db
	}
	cms.MountStoreWithDB(tkey, storetypes.StoreTypeTransient, nil)
	if err := cms.LoadLatestVersion(); err != nil {
		tb.Fatal(err)
	}
	ctx := sdk.NewContext(cms, cmtproto.Header{Height: 1, Time: GenesisTime, ChainID: ChainID}, false, log.NewNopLogger()).
		WithChainID(ChainID)

	enc := moduletestutil.MakeTestEncodingConfig()
	registrytypes.RegisterInterfaces(enc.InterfaceRegistry)
	verificationtypes.RegisterInterfaces(enc.InterfaceRegistry)
	incentivestypes.RegisterInterfaces(enc.InterfaceRegistry)
	addrCodec := authcodec.NewBech32Codec(sdk.GetConfig().GetBech32AccountAddrPrefix())
	authority := authtypes.NewModuleAddress(govtypes.ModuleName).String()
	bank := NewBank()
	epochs := &Epochs{Identifier: "chroom", Current: 1, Duration: time.Hour}

	reg := registrykeeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(keys[registrytypes.StoreKey]), addrCodec, bank, authority)
	ver := verificationkeeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(keys[verificationtypes.StoreKey]), addrCodec, reg, epochs, authority)
	inc := incentiveskeeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(keys[incentivestypes.StoreKey]), addrCodec, bank, ver, reg, epochs, authority)
	ver.SetFeeCollector(inc)
	if err := reg.InitGenesis(ctx, registrytypes.DefaultGenesis()); err != nil {
		tb.Fatalf("init registry genesis: %v", err)
	}
	// Receipts are free and emission fixed here, so keeper tests can state
	// exact figures; WithFees turns the fee rules (the defaults) on.
	vgs := verificationtypes.DefaultGenesis()
	vgs.Params.PricePerParticipantMinute = sdk.NewCoin("uchr", sdkmath.ZeroInt())
	if err := ver.InitGenesis(ctx, vgs); err != nil {
		tb.Fatalf("init verification genesis: %v", err)
	}
	igs := incentivestypes.DefaultGenesis()
	igs.Params.FeeBurnFraction, igs.Params.EmissionPerFee = sdkmath.LegacyZeroDec(), sdkmath.LegacyZeroDec()
	if err := inc.InitGenesis(ctx, igs); err != nil {
		tb.Fatalf("init incentives genesis: %v", err)
	}
	return &Chroom{Ctx: ctx, Bank: bank, Epochs: epochs, Registry: reg, Verification: ver, Incentives: inc, Authority: authority, cms: cms}
}

// WithFees sets the default fee rules: receipts cost their submitter
// price_per_participant_minute, fee_burn_fraction of the fees is burned
// and emission follows fees (emission_per_fee).
func (c *Chroom) WithFees(tb testing.TB) *Chroom {
	tb.Helper()
	vp, err := c.Verification.Params(c.Ctx)
	if err != nil {
		tb.Fatal(err)
	}
	vp.PricePerParticipantMinute = verificationtypes.DefaultPricePerParticipantMinute
	if err := c.Verification.SetParams(c.Ctx, vp); err != nil {
		tb.Fatal(err)
	}
	ip, err := c.Incentives.Params(c.Ctx)
	if err != nil {
		tb.Fatal(err)
	}
	ip.FeeBurnFraction, ip.EmissionPerFee = incentivestypes.DefaultFeeBurnFraction, incentivestypes.DefaultEmissionPerFee
	if err := c.Incentives.SetParams(c.Ctx, ip); err != nil {
		tb.Fatal(err)
	}
	return c
}

// Backdated is the context at the time nodes of the fixture are taken to
// have registered: three hours before the current block, before any
// sample receipt starts (x/verification refuses receipts that start
// before their media node registered).
func (c *Chroom) Backdated() sdk.Context {
	return c.Ctx.WithBlockTime(c.Ctx.BlockTime().Add(-3 * time.Hour))
}

// Commit commits the store, as a block does.
func (c *Chroom) Commit() { c.cms.Commit() }

// NextBlock advances the height by one and the time by d, with a fresh
// event manager.
func (c *Chroom) NextBlock(d time.Duration) {
	c.Ctx = c.Ctx.WithBlockHeader(cmtproto.Header{Height: c.Ctx.BlockHeight() + 1, Time: c.Ctx.BlockTime().Add(d), ChainID: ChainID}).
		WithEventManager(sdk.NewEventManager())
}

// EndEpoch ends the current epoch as x/epochs does, with the hooks in app
// order: x/verification's and x/incentives' AfterEpochEnd for it, then the
// next epoch and x/verification's BeforeEpochStart for it.
func (c *Chroom) EndEpoch(tb testing.TB) {
	tb.Helper()
	if err := c.Verification.Hooks().AfterEpochEnd(c.Ctx, c.Epochs.Identifier, c.Epochs.Current); err != nil {
		tb.Fatalf("end epoch %d (verification): %v", c.Epochs.Current, err)
	}
	if err := c.Incentives.Hooks().AfterEpochEnd(c.Ctx, c.Epochs.Identifier, c.Epochs.Current); err != nil {
		tb.Fatalf("end epoch %d: %v", c.Epochs.Current, err)
	}
	c.Epochs.Current++
	if !c.Epochs.Start.IsZero() {
		c.Epochs.Start = c.Ctx.BlockTime()
	}
	if err := c.Verification.Hooks().BeforeEpochStart(c.Ctx, c.Epochs.Identifier, c.Epochs.Current); err != nil {
		tb.Fatalf("start epoch %d (verification): %v", c.Epochs.Current, err)
	}
}

// WithProbes turns QoS probes on (max_probes_per_epoch = max; the other
// probe params at their defaults). They are off by default, as on chain.
func (c *Chroom) WithProbes(tb testing.TB, max uint32) *Chroom {
	tb.Helper()
	p, err := c.Verification.Params(c.Ctx)
	if err != nil {
		tb.Fatal(err)
	}
	p.MaxProbesPerEpoch = max
	if err := c.Verification.SetParams(c.Ctx, p); err != nil {
		tb.Fatal(err)
	}
	return c
}

// EndBlock runs the end-blockers of the three modules, in app order.
func (c *Chroom) EndBlock(ctx context.Context) error {
	if err := c.Registry.EndBlocker(ctx); err != nil {
		return err
	}
	if err := c.Verification.EndBlocker(ctx); err != nil {
		return err
	}
	return c.Incentives.EndBlocker(ctx)
}

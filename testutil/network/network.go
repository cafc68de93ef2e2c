// Package network starts in-process Chroom chains (the SDK's
// testutil/network with the Chroom app) for whole-chain tests.
package network

import (
	"os"
	"testing"
	"time"

	"cosmossdk.io/log/v2"
	dbm "github.com/cosmos/cosmos-db"
	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/client/flags"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	pruningtypes "github.com/cosmos/cosmos-sdk/store/v2/pruning/types"
	"github.com/cosmos/cosmos-sdk/testutil/network"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	moduletestutil "github.com/cosmos/cosmos-sdk/types/module/testutil"

	"github.com/chroom/chroom/app"
)

// Fixture returns the Chroom app's network fixture: its constructor,
// default genesis and codecs.
func Fixture() network.TestFixture {
	dir, err := os.MkdirTemp("", "chroom-network")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	a := app.New(log.NewNopLogger(), dbm.NewMemDB(), true, simtestutil.NewAppOptionsWithFlagHome(dir))
	enc := a.EncodingConfig()
	return network.TestFixture{
		AppConstructor: func(val network.ValidatorI) servertypes.Application {
			return app.New(val.GetCtx().Logger, dbm.NewMemDB(), true,
				simtestutil.NewAppOptionsWithFlagHome(val.GetCtx().Config.RootDir),
				baseapp.SetPruning(pruningtypes.NewPruningOptionsFromString(val.GetAppConfig().Pruning)),
				baseapp.SetMinGasPrices(val.GetAppConfig().MinGasPrices),
				baseapp.SetChainID(val.GetCtx().Viper.GetString(flags.FlagChainID)),
			)
		},
		GenesisState: a.DefaultGenesis(),
		EncodingConfig: moduletestutil.TestEncodingConfig{
			InterfaceRegistry: enc.InterfaceRegistry,
			Codec:             enc.Codec,
			TxConfig:          enc.TxConfig,
			Amino:             enc.Amino,
		},
	}
}

// DefaultConfig is a one-validator network with 500 ms blocks.
func DefaultConfig() network.Config {
	cfg := network.DefaultConfig(Fixture)
	cfg.NumValidators = 1
	cfg.TimeoutCommit = 500 * time.Millisecond
	cfg.ChainID = "chroom-test-1"
	return cfg
}

// New starts a network with cfg and stops it when the test ends.
func New(t *testing.T, cfg network.Config) *network.Network {
	t.Helper()
	n, err := network.New(t, t.TempDir(), cfg)
	if err != nil {
		t.Fatalf("start network: %v", err)
	}
	t.Cleanup(n.Cleanup)
	if _, err := n.WaitForHeight(1); err != nil {
		t.Fatalf("network produces no blocks: %v", err)
	}
	return n
}

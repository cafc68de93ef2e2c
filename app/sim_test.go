//go:build sims

package app_test

import (
	"bytes"
	"encoding/hex"
	"testing"

	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	"github.com/cosmos/cosmos-sdk/testutil/simsx"
	simtypes "github.com/cosmos/cosmos-sdk/types/simulation"
	simcli "github.com/cosmos/cosmos-sdk/x/simulation/client/cli"

	"github.com/chroom/chroom/app"
)

func init() {
	simcli.GetSimulatorFlags()
}

func stateFactory(a *app.ChroomApp) simsx.SimStateFactory {
	return simsx.SimStateFactory{
		Codec:         a.AppCodec(),
		AppStateFn:    simtestutil.AppStateFn(a.AppCodec(), a.SimulationManager(), a.DefaultGenesis()),
		BlockedAddr:   app.BlockedAddresses(),
		AccountSource: a.AccountKeeper,
		BalanceSource: a.BankKeeper,
	}
}

// TestFullAppSimulation runs the simulation with the flags' settings
// (-NumBlocks, -BlockSize, …) for a few seeds.
func TestFullAppSimulation(t *testing.T) {
	simsx.RunWithSeeds(t, app.New, stateFactory, []int64{11, 582582, 989182}, nil)
}

// TestAppStateDeterminism runs 3 seeds 3 times each for 50 blocks and
// requires the same app hash from every run of a seed.
func TestAppStateDeterminism(t *testing.T) {
	cfg := simcli.NewConfigFromFlags()
	cfg.ChainID = simsx.SimAppChainID
	cfg.NumBlocks = 50
	cfg.BlockSize = 40
	cfg.Commit = true
	for _, seed := range []int64{1, 7, 42} {
		var hashes [][]byte
		for run := 0; run < 3; run++ {
			simsx.RunWithSeed(t, cfg, app.New, stateFactory, seed, nil,
				func(tb testing.TB, ti simsx.TestInstance[*app.ChroomApp], _ []simtypes.Account) {
					hashes = append(hashes, ti.App.LastCommitID().Hash)
				})
		}
		for run := 1; run < len(hashes); run++ {
			if !bytes.Equal(hashes[0], hashes[run]) {
				t.Fatalf("seed %d: run %d app hash %s differs from run 0 %s", seed, run,
					hex.EncodeToString(hashes[run]), hex.EncodeToString(hashes[0]))
			}
		}
		t.Logf("seed %d: 3 runs, app hash %s", seed, hex.EncodeToString(hashes[0]))
	}
}

package app

import (
	"encoding/json"
	"time"

	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/types/module"
	"github.com/cosmos/cosmos-sdk/x/epochs"
	epochstypes "github.com/cosmos/cosmos-sdk/x/epochs/types"
)

// epochsModule is the SDK's x/epochs module whose default genesis also
// holds the "chroom" epoch (one hour) that x/verification and x/incentives
// count in, so `chroomd init` writes it.
type epochsModule struct {
	epochs.AppModule
}

// DefaultGenesis returns x/epochs' default epochs plus the chroom epoch.
func (m epochsModule) DefaultGenesis(cdc codec.JSONCodec) json.RawMessage {
	var gs epochstypes.GenesisState
	cdc.MustUnmarshalJSON(m.AppModule.DefaultGenesis(cdc), &gs)
	gs.Epochs = append(gs.Epochs, epochstypes.NewGenesisEpochInfo(ChroomEpochIdentifier, DefaultChroomEpochDuration))
	return cdc.MustMarshalJSON(&gs)
}

// GenerateGenesisState writes x/epochs' simulation genesis plus a chroom
// epoch of one to five minutes, so epochs end within a short simulation.
func (m epochsModule) GenerateGenesisState(simState *module.SimulationState) {
	m.AppModule.GenerateGenesisState(simState)
	var gs epochstypes.GenesisState
	simState.Cdc.MustUnmarshalJSON(simState.GenState[epochstypes.ModuleName], &gs)
	d := time.Duration(60+simState.Rand.Intn(240)) * time.Second
	gs.Epochs = append(gs.Epochs, epochstypes.NewGenesisEpochInfo(ChroomEpochIdentifier, d))
	simState.GenState[epochstypes.ModuleName] = simState.Cdc.MustMarshalJSON(&gs)
}

package app

import (
	"encoding/json"

	"github.com/cosmos/cosmos-sdk/codec"
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

package cmd

import (
	"fmt"
	"time"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/server"
	epochstypes "github.com/cosmos/cosmos-sdk/x/epochs/types"
	"github.com/cosmos/cosmos-sdk/x/genutil"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"
	"github.com/spf13/cobra"
)

// SetEpochDurationCmd returns `chroomd genesis set-epoch-duration`, which
// sets an x/epochs epoch's duration in genesis.json (devnets use seconds
// instead of the default hour).
func SetEpochDurationCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "set-epoch-duration <identifier> <duration>",
		Short:   "Set the duration of an x/epochs epoch in genesis.json (e.g. chroom 30s)",
		Example: "chroomd genesis set-epoch-duration chroom 30s --home ~/.chroom",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			identifier := args[0]
			d, err := time.ParseDuration(args[1])
			if err != nil || d <= 0 {
				return fmt.Errorf("duration %q must be positive, like 30s or 1h", args[1])
			}
			clientCtx := client.GetClientContextFromCmd(cmd)
			genFile := server.GetServerContextFromCmd(cmd).Config.GenesisFile()
			appGenesis, err := genutiltypes.AppGenesisFromFile(genFile)
			if err != nil {
				return fmt.Errorf("read %s: %w", genFile, err)
			}
			appState, err := genutiltypes.GenesisStateFromAppGenesis(appGenesis)
			if err != nil {
				return err
			}
			var gs epochstypes.GenesisState
			if err := clientCtx.Codec.UnmarshalJSON(appState[epochstypes.ModuleName], &gs); err != nil {
				return fmt.Errorf("epochs genesis: %w", err)
			}
			found := false
			for i := range gs.Epochs {
				if gs.Epochs[i].Identifier == identifier {
					gs.Epochs[i].Duration = d
					found = true
				}
			}
			if !found {
				return fmt.Errorf("genesis has no epoch %q", identifier)
			}
			if appState[epochstypes.ModuleName], err = clientCtx.Codec.MarshalJSON(&gs); err != nil {
				return err
			}
			if appGenesis.AppState, err = jsonMarshal(appState); err != nil {
				return err
			}
			if err := genutil.ExportGenesisFile(appGenesis, genFile); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "epoch %q lasts %s in %s\n", identifier, d, genFile)
			return err
		},
	}
}

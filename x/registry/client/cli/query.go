// Package cli holds the x/registry query command autocli cannot express:
// `node`, which shows a media node together with its health from
// x/verification (QoS probes, score history).
package cli

import (
	"encoding/json"
	"fmt"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/spf13/cobra"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/x/registry/types"
	verificationtypes "github.com/chroom/chroom/x/verification/types"
)

// QueryCmd returns `chroomd query registry`; autocli adds the other
// queries to it.
func QueryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        types.ModuleName,
		Short:                      "Query the registry of media nodes and orchestrators",
		DisableFlagParsing:         true,
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(NodeCmd())
	return cmd
}

// NodeCmd returns `node <node-id>`: the registered node and, for a media
// node, its health (x/verification NodeHealth: quality score, probe
// record, last probes, score history).
func NodeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node <node-id>",
		Short: "Show one registered node; for a media node also its health: score, QoS probes and score history",
		Long: `Show one registered node (x/registry Node) and, for a media node, its health from
x/verification: the quality score (QoS probes mixed with the clients' figures), failed probes
in a row, the last probes and the score per epoch. Output: {"node": {...}, "health": {...}}.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := format.ValidateNodeID(args[0]); err != nil {
				return fmt.Errorf("node ID %q: %w", args[0], err)
			}
			clientCtx, err := client.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			res, err := types.NewQueryClient(clientCtx).Node(cmd.Context(), &types.QueryNodeRequest{NodeId: args[0]})
			if err != nil {
				return err
			}
			out := map[string]json.RawMessage{}
			if out["node"], err = clientCtx.Codec.MarshalJSON(&res.Node); err != nil {
				return err
			}
			if res.Node.NodeType == types.NodeType_NODE_TYPE_MEDIA {
				h, err := verificationtypes.NewQueryClient(clientCtx).NodeHealth(cmd.Context(), &verificationtypes.QueryNodeHealthRequest{NodeId: args[0]})
				if err != nil {
					return fmt.Errorf("node %s is registered but its health cannot be read: %w", args[0], err)
				}
				if out["health"], err = clientCtx.Codec.MarshalJSON(h); err != nil {
					return err
				}
			}
			b, err := json.Marshal(out)
			if err != nil {
				return err
			}
			return clientCtx.PrintRaw(b)
		},
	}
	flags.AddQueryFlagsToCmd(cmd)
	return cmd
}

package cmd

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chroom/chroom/format"
)

const flagOut = "out"

// nodeKeyInfo is what node-key commands print.
type nodeKeyInfo struct {
	NodeID string `json:"node_id"`
	// Pubkey is the ed25519 public key in standard base64.
	Pubkey string `json:"pubkey"`
}

// NodeKeyCmd returns `chroomd node-key`, which creates and shows the ed25519
// node keys that media nodes and orchestrators sign with (DESIGN.md §1).
func NodeKeyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node-key",
		Short: "Create or show a media node's or orchestrator's ed25519 node key",
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(nodeKeyGenerateCmd(), nodeKeyShowCmd())
	return cmd
}

func nodeKeyGenerateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "generate --out FILE",
		Short: "Generate a node key file (mode 0600) and print its node ID and public key",
		Long: `Generate a new ed25519 node key and write it to FILE with mode 0600.
An existing file is never overwritten. Prints {"node_id","pubkey"}; pass the
pubkey to 'chroomd tx registry register-node --pubkey'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, _ := cmd.Flags().GetString(flagOut)
			if out == "" {
				return errors.New("--out FILE is required: where to write the node key")
			}
			key, err := format.GenerateNodeKey(nil)
			if err != nil {
				return err
			}
			if err := key.Save(out); err != nil {
				return err
			}
			return printNodeKey(cmd, key)
		},
	}
	cmd.Flags().String(flagOut, "", "path of the node key file to create")
	return cmd
}

func nodeKeyShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show FILE",
		Short: "Print the node ID and public key of a node key file",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, err := format.LoadNodeKey(args[0])
			if err != nil {
				return err
			}
			return printNodeKey(cmd, key)
		},
	}
}

func printNodeKey(cmd *cobra.Command, key *format.NodeKey) error {
	out, err := json.Marshal(nodeKeyInfo{NodeID: key.ID, Pubkey: key.PublicKeyBase64()})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(cmd.OutOrStdout(), string(out))
	return err
}

package cmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/gogoproto/jsonpb"
	"github.com/cosmos/gogoproto/proto"
	"github.com/spf13/cobra"

	"github.com/chroom/chroom/format"
)

const flagNodeKey = "node-key"

// ReceiptCmd returns `chroomd receipt`: operator tools that sign and
// countersign usage receipts offline and print the signed receipt JSON.
func ReceiptCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "receipt",
		Short: "Sign and countersign usage receipts with a node key (offline)",
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(receiptSignCmd(), receiptCountersignCmd())
	return cmd
}

func receiptSignCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sign RECEIPT.json --node-key FILE --chain-id ID",
		Short: "Sign a usage receipt as its media node and print the signed receipt JSON",
		Long: `RECEIPT.json is a UsageReceipt in proto3 JSON (snake_case fields, bytes in base64,
64-bit numbers as strings). The node key must be the receipt's media node.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, chainID, err := receiptFlags(cmd)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var r format.UsageReceipt
			if err := r.UnmarshalJSON(data); err != nil {
				return fmt.Errorf("%s is not a usage receipt: %w", args[0], err)
			}
			signed, err := format.SignReceipt(key, chainID, r)
			if err != nil {
				return err
			}
			return printSigned(cmd, signed)
		},
	}
	addReceiptFlags(cmd)
	return cmd
}

func receiptCountersignCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "countersign SIGNED.json --node-key FILE --chain-id ID",
		Short: "Countersign a media-node-signed receipt as its orchestrator and print it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, chainID, err := receiptFlags(cmd)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var s format.SignedReceipt
			if err := s.UnmarshalJSON(data); err != nil {
				return fmt.Errorf("%s is not a signed receipt: %w", args[0], err)
			}
			if err := s.Receipt.ValidateBasic(); err != nil {
				return err
			}
			if err := format.Countersign(key, chainID, &s); err != nil {
				return err
			}
			return printSigned(cmd, &s)
		},
	}
	addReceiptFlags(cmd)
	return cmd
}

func addReceiptFlags(cmd *cobra.Command) {
	cmd.Flags().String(flagNodeKey, "", "node key file (chroomd node-key generate)")
	cmd.Flags().String(flags.FlagChainID, "", "chain ID the signature is bound to")
}

func receiptFlags(cmd *cobra.Command) (*format.NodeKey, string, error) {
	path, _ := cmd.Flags().GetString(flagNodeKey)
	chainID, _ := cmd.Flags().GetString(flags.FlagChainID)
	if path == "" {
		return nil, "", errors.New("--node-key FILE is required")
	}
	if chainID == "" {
		return nil, "", errors.New("--chain-id is required: signatures are bound to one chain")
	}
	key, err := format.LoadNodeKey(path)
	return key, chainID, err
}

func printSigned(cmd *cobra.Command, s *format.SignedReceipt) error {
	out, err := s.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(cmd.OutOrStdout(), string(out))
	return err
}

func jsonMarshal(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }

// ProbeCmd returns `chroomd probe`: the offline signing of a QoS probe
// result by its prober orchestrator's node key.
func ProbeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Sign QoS probe results with an orchestrator's node key (offline)",
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	sign := &cobra.Command{
		Use:   "sign RESULT.json --node-key FILE --chain-id ID",
		Short: "Sign a probe result as its prober and print the signed result JSON (for 'tx verification submit-probe')",
		Long: `RESULT.json is a ProbeResult in proto3 JSON (snake_case fields, 64-bit numbers as
strings): epoch, media_node_id, prober_id, started_unix_ms, connected, setup_ms, rtt_ms,
jitter_ms, loss_permille, bitrate_kbps, target_kbps, relayed, error. The node key must
be the prober's (prober_id).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, chainID, err := receiptFlags(cmd)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var r format.ProbeResult
			if err := jsonpbUnmarshal(data, &r); err != nil {
				return fmt.Errorf("%s is not a probe result: %w", args[0], err)
			}
			signed, err := format.SignProbe(key, chainID, r)
			if err != nil {
				return err
			}
			out, err := signed.MarshalJSON()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), string(out))
			return err
		},
	}
	addReceiptFlags(sign)
	cmd.AddCommand(sign)
	return cmd
}

// jsonpbUnmarshal decodes proto3 JSON; unknown fields are an error.
func jsonpbUnmarshal(data []byte, m proto.Message) error {
	return jsonpb.Unmarshal(bytes.NewReader(data), m)
}

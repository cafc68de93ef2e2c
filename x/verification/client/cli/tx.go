// Package cli holds the x/verification tx commands that read JSON files.
package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/spf13/cobra"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/x/verification/types"
)

// MaxFileBytes bounds the JSON files the commands read.
const MaxFileBytes = 16 << 20

// TxCmd returns `chroomd tx verification`.
func TxCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        types.ModuleName,
		Short:                      "Submit usage receipts and equivocation evidence",
		DisableFlagParsing:         true,
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(SubmitReceiptsCmd(), SubmitEvidenceCmd(), SubmitProbeCmd())
	return cmd
}

// SubmitReceiptsCmd returns `submit-receipts FILE.json`.
func SubmitReceiptsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "submit-receipts FILE.json --from KEY",
		Short: "Submit doubly signed usage receipts (the --from account must operate their orchestrator)",
		Long: `Submit usage receipts signed by a media node and countersigned by an orchestrator.
FILE.json holds one signed receipt as 'chroomd receipt countersign' prints it, or a
batch {"receipts": [ ... ]}. Each receipt is accepted or rejected on its own; the
tx result lists the rejections with their reasons.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			receipts, err := ReadReceiptsFile(args[0])
			if err != nil {
				return err
			}
			msg := &types.MsgSubmitReceipts{Submitter: clientCtx.GetFromAddress().String(), Receipts: receipts}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msg)
		},
	}
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}

// SubmitEvidenceCmd returns `submit-evidence FILE.json`.
func SubmitEvidenceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "submit-evidence FILE.json --from KEY",
		Short: "Prove that a media node signed two conflicting receipts for one session",
		Long: `FILE.json is {"receipt_a": {...}, "receipt_b": {...}}: two signed receipts for the
same (epoch, media node, session) with different contents. The media node (and an
orchestrator that countersigned both) is slashed and jailed; the --from account gets
the bounty.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			a, b, err := ReadEvidenceFile(args[0])
			if err != nil {
				return err
			}
			msg := &types.MsgSubmitEvidence{Reporter: clientCtx.GetFromAddress().String(), ReceiptA: a, ReceiptB: b}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msg)
		},
	}
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}

// SubmitProbeCmd returns `submit-probe FILE.json`.
func SubmitProbeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "submit-probe FILE.json --from KEY",
		Short: "Submit the signed result of a QoS probe the chain assigned your orchestrator",
		Long: `FILE.json is a SignedProbeResult in proto3 JSON: {"result": {...}, "signature": "<base64>"},
the result signed by the assigned orchestrator's node key ('chroomd probe sign').
The --from account must operate that orchestrator. See the assignments with
'chroomd query verification probe-assignments <epoch>'.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			data, err := readFile(args[0])
			if err != nil {
				return err
			}
			var sp format.SignedProbeResult
			if err := sp.UnmarshalJSON(data); err != nil {
				return fmt.Errorf("%s is not a signed probe result: %w", args[0], err)
			}
			if err := sp.Result.ValidateBasic(); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			msg := &types.MsgSubmitProbe{Submitter: clientCtx.GetFromAddress().String(), Probe: sp}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msg)
		},
	}
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}

func readFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxFileBytes {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d allowed", path, st.Size(), MaxFileBytes)
	}
	return os.ReadFile(path)
}

// ReadReceiptsFile reads one signed receipt or a {"receipts": [...]} batch.
func ReadReceiptsFile(path string) ([]format.SignedReceipt, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return ParseReceipts(data)
}

// ParseReceipts decodes one signed receipt or a {"receipts": [...]} batch.
func ParseReceipts(data []byte) ([]format.SignedReceipt, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("receipts file is not a JSON object: %w", err)
	}
	raw, isBatch := top["receipts"]
	if !isBatch {
		var s format.SignedReceipt
		if err := s.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("signed receipt: %w", err)
		}
		return []format.SignedReceipt{s}, nil
	}
	if len(top) != 1 {
		return nil, fmt.Errorf(`a batch file holds only {"receipts": [...]}`)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("receipts must be a JSON array: %w", err)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("receipts is empty")
	}
	out := make([]format.SignedReceipt, len(items))
	for i, item := range items {
		if err := out[i].UnmarshalJSON(item); err != nil {
			return nil, fmt.Errorf("receipts[%d]: %w", i, err)
		}
	}
	return out, nil
}

// ReadEvidenceFile reads {"receipt_a": ..., "receipt_b": ...}.
func ReadEvidenceFile(path string) (a, b format.SignedReceipt, err error) {
	data, err := readFile(path)
	if err != nil {
		return a, b, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return a, b, fmt.Errorf("evidence file is not a JSON object: %w", err)
	}
	ra, okA := top["receipt_a"]
	rb, okB := top["receipt_b"]
	if !okA || !okB || len(top) != 2 {
		return a, b, fmt.Errorf(`evidence file must be {"receipt_a": {...}, "receipt_b": {...}}`)
	}
	if err := a.UnmarshalJSON(ra); err != nil {
		return a, b, fmt.Errorf("receipt_a: %w", err)
	}
	if err := b.UnmarshalJSON(rb); err != nil {
		return a, b, fmt.Errorf("receipt_b: %w", err)
	}
	return a, b, nil
}

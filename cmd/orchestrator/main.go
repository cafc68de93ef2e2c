// Command orchestrator runs a Chroom orchestrator: it signs people into
// rooms, places rooms on media nodes, serves the web client, and turns
// media nodes' receipts into on-chain proof of work.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/orchestrator/config"
	"github.com/chroom/chroom/orchestrator/node"
)

var version = "dev"

func main() {
	if err := rootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "orchestrator:", err)
		os.Exit(1)
	}
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "orchestrator",
		Short:         "Chroom orchestrator: join grants, room placement, web client and receipt attestation",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	home, _ := os.UserHomeDir()
	root.PersistentFlags().String("home", filepath.Join(home, ".chroom-orchestrator"), "folder with config.yaml, node_key.json and the receipt queue")
	root.AddCommand(initCmd(), startCmd(), &cobra.Command{
		Use: "version", Short: "Print the version",
		Run: func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "orchestrator", version) },
	})
	return root
}

func initCmd() *cobra.Command {
	var v config.SampleValues
	cmd := &cobra.Command{
		Use:   "init --home DIR",
		Short: "Write a commented config.yaml, a node key and a devnet API key, and print the register-node command",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, _ := cmd.Flags().GetString("home")
			if err := os.MkdirAll(home, 0o700); err != nil {
				return err
			}
			cfgPath := filepath.Join(home, "config.yaml")
			if _, err := os.Stat(cfgPath); err == nil {
				return fmt.Errorf("%s exists; refusing to overwrite it", cfgPath)
			}
			key, err := format.GenerateNodeKey(nil)
			if err != nil {
				return err
			}
			if err := key.Save(filepath.Join(home, "node_key.json")); err != nil {
				return err
			}
			secret := make([]byte, 16)
			if _, err := rand.Read(secret); err != nil {
				return err
			}
			v.APIKey = "chroom_" + hex.EncodeToString(secret)
			if v.Moniker == "" {
				v.Moniker = "orchestrator-" + key.ID[:8]
			}
			data, err := config.Sample(v)
			if err != nil {
				return err
			}
			if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "wrote %s and %s\nnode ID: %s\ndevnet API key: %s\n\n", cfgPath, filepath.Join(home, "node_key.json"), key.ID, v.APIKey)
			fmt.Fprintf(out, "Register and stake this orchestrator (the --from account must be chain.key_name, which pays for receipt txs):\n\n")
			fmt.Fprintf(out, "  chroomd tx registry register-node --node-type orchestrator --pubkey %s --stake 5000000uchr \\\n", key.PublicKeyBase64())
			fmt.Fprintf(out, "    --moniker %s --region %s --endpoints http://%s:%d,http://%s:%d/rpc \\\n", v.Moniker, v.Region, v.PublicHost, v.HTTPPort, v.PublicHost, v.RPCPort)
			fmt.Fprintf(out, "    --max-sessions 10000 --max-egress-kbps 1000000 --chain-id %s --from %s \\\n    --gas auto --gas-adjustment 1.5 --gas-prices 0.01uchr\n\n", v.ChainID, v.KeyName)
			fmt.Fprintf(out, "Then: orchestrator start --home %s\n", home)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&v.ChainID, "chain-id", "chroom-devnet-1", "chain ID")
	f.StringVar(&v.GRPC, "grpc", "127.0.0.1:9090", "chroomd gRPC address")
	f.StringVar(&v.RESTURL, "rest-url", "http://127.0.0.1:1317", "chroomd REST gateway")
	f.StringVar(&v.KeyringDir, "keyring-dir", "", "chroomd keyring folder (the --home of 'chroomd keys')")
	f.StringVar(&v.KeyName, "key-name", "orchestrator-operator", "keyring key that pays for receipt txs")
	f.StringVar(&v.PublicHost, "public-host", "127.0.0.1", "host name or IP clients and media nodes reach this orchestrator at")
	f.StringVar(&v.Region, "region", "DE", "ISO 3166-1 alpha-2 region")
	f.StringVar(&v.Moniker, "moniker", "", "name shown on chain")
	f.IntVar(&v.HTTPPort, "http-port", 7800, "API and web client port")
	f.IntVar(&v.RPCPort, "rpc-port", 7801, "Media Node RPC port")
	f.BoolVar(&v.Anonymous, "allow-anonymous-join", false, "let the web client join without an API key (devnets, demos)")
	f.StringVar(&v.BindIP, "bind", "0.0.0.0", "address the HTTP and RPC listeners bind (127.0.0.1: this machine only)")
	f.BoolVar(&v.AllowPrivate, "allow-private-endpoints", false, "let registry endpoints on loopback and private addresses be dialled (devnets on one machine)")
	return cmd
}

func startCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "start --home DIR [--config FILE]",
		Short: "Run the orchestrator until SIGINT or SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, _ := cmd.Flags().GetString("home")
			path, _ := cmd.Flags().GetString("config")
			if path == "" {
				path = filepath.Join(home, "config.yaml")
			}
			cfg, err := config.Load(path, home)
			if err != nil {
				return fmt.Errorf("invalid configuration:\n%w", err)
			}
			level := slog.LevelInfo
			if lv, _ := cmd.Flags().GetString("log-level"); lv != "" {
				if err := level.UnmarshalText([]byte(lv)); err != nil {
					return fmt.Errorf("--log-level: %w", err)
				}
			}
			log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("service", "orchestrator")
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o, err := node.New(ctx, cfg, log)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "orchestrator %s serving on %s (rpc %s), paying from %s\n", o.ID(), o.HTTPAddr(), o.RPCAddr(), o.Operator())
			if err := o.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().String("config", "", "config file (default <home>/config.yaml)")
	cmd.Flags().String("log-level", "info", "debug, info, warn or error")
	return cmd
}

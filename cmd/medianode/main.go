// Command medianode runs a Chroom media node: a WebRTC SFU with an
// embedded TURN relay that serves rooms for orchestrators and earns CHR
// for verified work.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/medianode/config"
	"github.com/chroom/chroom/medianode/node"
)

func main() {
	if err := rootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "medianode:", err)
		os.Exit(1)
	}
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "medianode",
		Short:         "Chroom media node: a WebRTC SFU with TURN that earns CHR for verified work",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("home", defaultHome(), "folder with config.yaml, node_key.json and receipts.db")
	root.AddCommand(initCmd(), startCmd(), versionCmd())
	return root
}

func defaultHome() string {
	h, err := os.UserHomeDir()
	if err != nil {
		return ".medianode"
	}
	return filepath.Join(h, ".chroom-medianode")
}

func initCmd() *cobra.Command {
	var v config.SampleValues
	cmd := &cobra.Command{
		Use:   "init --home DIR",
		Short: "Write a commented config.yaml and a node key, and print the register-node command",
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
			secret := make([]byte, 24)
			if _, err := rand.Read(secret); err != nil {
				return err
			}
			v.TURNSecret = base64.RawURLEncoding.EncodeToString(secret)
			if v.TURNTLSPort > 0 && v.Devnet {
				// A devnet has no certificate of its own: a self-signed one
				// for the public host (tests start Chromium with
				// --ignore-certificate-errors).
				v.TURNTLSCert, v.TURNTLSKey = "turn-tls.crt", "turn-tls.key"
				if err := writeSelfSignedCert(filepath.Join(home, v.TURNTLSCert), filepath.Join(home, v.TURNTLSKey), v.PublicHost); err != nil {
					return fmt.Errorf("self-signed TURN certificate: %w", err)
				}
			}
			if v.Moniker == "" {
				v.Moniker = "media-" + key.ID[:8]
			}
			data, err := config.Sample(v)
			if err != nil {
				return err
			}
			if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
				return err
			}
			base := fmt.Sprintf("http://%s:%d", v.PublicHost, v.HTTPPort)
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "wrote %s and %s\nnode ID: %s\n\n", cfgPath, filepath.Join(home, "node_key.json"), key.ID)
			fmt.Fprintf(out, "Register and stake this node (from the operator's account):\n\n")
			fmt.Fprintf(out, "  chroomd tx registry register-node --node-type media --pubkey %s --stake 5000000uchr \\\n", key.PublicKeyBase64())
			fmt.Fprintf(out, "    --moniker %s --region %s --endpoints %s,%s/rpc,turn:%s:%d \\\n", v.Moniker, v.Region, base, fmt.Sprintf("http://%s:%d", v.PublicHost, v.RPCPort), v.PublicHost, v.TURNPort)
			fmt.Fprintf(out, "    --max-sessions 500 --max-egress-kbps 1000000 --chain-id %s --from <operator-key> \\\n    --gas auto --gas-adjustment 1.5 --gas-prices 0.01uchr\n\n", v.ChainID)
			if v.TURNTLSPort > 0 && !v.Devnet {
				fmt.Fprintf(out, "TURN over TLS on port %d needs a certificate for %s: set turn.tls_cert and turn.tls_key\n(or http.tls_cert and http.tls_key) in %s before starting.\n\n", v.TURNTLSPort, v.PublicHost, cfgPath)
			}
			fmt.Fprintf(out, "Then: medianode start --home %s\n", home)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&v.ChainID, "chain-id", "chroom-devnet-1", "chain ID grants and receipts are bound to")
	f.StringVar(&v.RESTURL, "rest-url", "http://127.0.0.1:1317", "chroomd REST gateway")
	f.StringVar(&v.PublicHost, "public-host", "127.0.0.1", "host name or IP clients reach this node at")
	f.StringVar(&v.Region, "region", "DE", "ISO 3166-1 alpha-2 region (with optional sub-region)")
	f.StringVar(&v.Moniker, "moniker", "", "name shown on chain (default media-<node id>)")
	f.IntVar(&v.HTTPPort, "http-port", 7880, "signaling port (WebSocket, WHIP, WHEP)")
	f.IntVar(&v.RPCPort, "rpc-port", 7881, "Media Node RPC port")
	f.IntVar(&v.UDPPort, "udp-port", 7882, "WebRTC media UDP port")
	f.IntVar(&v.TCPPort, "tcp-port", 7883, "ICE-TCP port (0 disables)")
	f.IntVar(&v.TURNPort, "turn-port", 3478, "TURN port (UDP and TCP)")
	f.IntVar(&v.TURNTLSPort, "turn-tls-port", 0, "TURN over TLS port, e.g. 443 or 5349 (0: off; needs a certificate, self-signed with --devnet)")
	f.IntVar(&v.MetricsPort, "metrics-port", 9100, "Prometheus port")
	f.BoolVar(&v.Devnet, "devnet", false, "bind media to 127.0.0.1 and allow loopback TURN peers (local testing only)")
	return cmd
}

func startCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "start --home DIR [--config FILE]",
		Short: "Run the media node until SIGINT or SIGTERM, then drain",
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
			log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("service", "medianode")
			n, err := node.New(cfg, log)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			fmt.Fprintf(cmd.OutOrStdout(), "media node %s serving on %s (rpc %s)\n", n.ID(), n.HTTPAddr(), n.RPCAddr())
			if err := n.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().String("config", "", "config file (default <home>/config.yaml)")
	cmd.Flags().String("log-level", "info", "debug, info, warn or error")
	return cmd
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run: func(cmd *cobra.Command, _ []string) {
			v := "devel"
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						v = s.Value
					}
				}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "medianode", version+" "+v)
		},
	}
}

// version is set with -ldflags "-X main.version=…".
var version = "dev"

// writeSelfSignedCert writes a PEM certificate (ECDSA P-256, one year)
// for host, 127.0.0.1 and localhost, and its PKCS #8 key (mode 0600).
func writeSelfSignedCert(certPath, keyPath, host string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	} else if host != "" {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600)
}

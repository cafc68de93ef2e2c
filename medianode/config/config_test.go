package config_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/medianode/config"
)

func TestGrantsMaxLifetime(t *testing.T) {
	require.Equal(t, 6*time.Hour, config.Default().Grants.MaxLifetime, "default 6h, the orchestrator's default api.grant_ttl")

	for _, d := range []time.Duration{0, -time.Hour} {
		cfg := config.Default()
		cfg.Chain.ChainID = "chroom-test-1"
		cfg.TURN.Secret = "0123456789abcdef"
		cfg.Grants.MaxLifetime = d
		require.ErrorContains(t, cfg.Validate(), "grants.max_lifetime: must be a positive duration", "max_lifetime %s", d)
	}
}

// TestSampleLoads: the commented sample that `medianode init` writes is
// valid and carries every default it documents.
func TestSampleLoads(t *testing.T) {
	home := t.TempDir()
	data, err := config.Sample(config.SampleValues{
		ChainID: "chroom-test-1", RESTURL: "http://127.0.0.1:1317", PublicHost: "127.0.0.1", Region: "DE",
		Moniker: "m", TURNSecret: "0123456789abcdef0123456789abcdef",
		HTTPPort: 7880, RPCPort: 7881, UDPPort: 7882, TCPPort: 7883, TURNPort: 3478, MetricsPort: 9100,
	})
	require.NoError(t, err)
	require.Contains(t, string(data), "\n  max_lifetime: 6h\n")
	path := filepath.Join(home, "config.yaml")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	cfg, err := config.Load(path, home)
	require.NoError(t, err)
	require.Equal(t, 6*time.Hour, cfg.Grants.MaxLifetime)

	// A file without a grants section gets the default; a bad value names
	// the key.
	require.NoError(t, os.WriteFile(path, []byte("chain:\n  chain_id: chroom-test-1\nturn:\n  secret: 0123456789abcdef\n"), 0o600))
	cfg, err = config.Load(path, home)
	require.NoError(t, err)
	require.Equal(t, config.DefaultGrantMaxLifetime, cfg.Grants.MaxLifetime)
	require.NoError(t, os.WriteFile(path, []byte("chain:\n  chain_id: chroom-test-1\nturn:\n  secret: 0123456789abcdef\ngrants:\n  max_lifetime: 90m\n"), 0o600))
	cfg, err = config.Load(path, home)
	require.NoError(t, err)
	require.Equal(t, 90*time.Minute, cfg.Grants.MaxLifetime)
	require.NoError(t, os.WriteFile(path, []byte("chain:\n  chain_id: chroom-test-1\nturn:\n  secret: 0123456789abcdef\ngrants:\n  max_lifetime: 0s\n"), 0o600))
	_, err = config.Load(path, home)
	require.ErrorContains(t, err, "grants.max_lifetime: must be a positive duration")
}

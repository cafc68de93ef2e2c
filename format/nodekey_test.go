package format_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
)

// seed returns a fixed 32-byte ed25519 seed whose bytes all equal b.
func seed(b byte) []byte { return bytes.Repeat([]byte{b}, ed25519.SeedSize) }

// mustKey returns the node key of seed(b).
func mustKey(t testing.TB, b byte) *format.NodeKey {
	t.Helper()
	k, err := format.NodeKeyFromSeed(seed(b))
	require.NoError(t, err)
	return k
}

// expectedNodeID computes a node ID independently of the package:
// lowercase hex of the first 20 bytes of SHA-256(pubkey).
func expectedNodeID(pubkey []byte) string {
	sum := sha256.Sum256(pubkey)
	return hex.EncodeToString(sum[:20])
}

func TestNodeID(t *testing.T) {
	tests := []struct {
		name   string
		pubkey []byte
	}{
		{name: "all-zero key", pubkey: make([]byte, ed25519.PublicKeySize)},
		{name: "all-0xff key", pubkey: bytes.Repeat([]byte{0xff}, ed25519.PublicKeySize)},
		{name: "key of seed 0x01", pubkey: ed25519.NewKeyFromSeed(seed(0x01)).Public().(ed25519.PublicKey)},
		{name: "key of seed 0x42", pubkey: ed25519.NewKeyFromSeed(seed(0x42)).Public().(ed25519.PublicKey)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := format.NodeID(tc.pubkey)
			require.NoError(t, err)
			require.Equal(t, expectedNodeID(tc.pubkey), id)
			require.Len(t, id, format.NodeIDLength)
			require.Equal(t, strings.ToLower(id), id, "node ID must be lowercase")
			require.NoError(t, format.ValidateNodeID(id), "a derived node ID must validate")
		})
	}
}

func TestNodeIDRejectsWrongKeyLength(t *testing.T) {
	tests := []struct {
		name   string
		pubkey []byte
	}{
		{name: "nil", pubkey: nil},
		{name: "empty", pubkey: []byte{}},
		{name: "31 bytes", pubkey: make([]byte, 31)},
		{name: "33 bytes", pubkey: make([]byte, 33)},
		{name: "64-byte private key", pubkey: ed25519.NewKeyFromSeed(seed(1))},
		{name: "33-byte compressed secp256k1 shape", pubkey: append([]byte{0x02}, make([]byte, 32)...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := format.NodeID(tc.pubkey)
			require.Error(t, err)
			require.Contains(t, err.Error(), "32 bytes")
			require.Empty(t, id)
		})
	}
}

func TestValidateNodeID(t *testing.T) {
	valid := expectedNodeID(make([]byte, 32))
	tests := []struct {
		name      string
		id        string
		expErrMsg string
	}{
		{name: "derived ID", id: valid},
		{name: "all zeros", id: strings.Repeat("0", 40)},
		{name: "all f", id: strings.Repeat("f", 40)},
		{name: "upper case", id: strings.ToUpper(strings.Repeat("ab", 20)), expErrMsg: "lowercase hex"},
		{name: "one upper-case letter", id: "A" + strings.Repeat("a", 39), expErrMsg: "lowercase hex"},
		{name: "empty", id: "", expErrMsg: "40 hex characters, got 0"},
		{name: "39 characters", id: valid[:39], expErrMsg: "got 39"},
		{name: "41 characters", id: valid + "0", expErrMsg: "got 41"},
		{name: "full SHA-256 (64 characters)", id: strings.Repeat("a", 64), expErrMsg: "got 64"},
		{name: "non-hex letter g", id: "g" + valid[1:], expErrMsg: "lowercase hex"},
		{name: "0x prefix", id: "0x" + valid[2:], expErrMsg: "lowercase hex"},
		{name: "space", id: " " + valid[1:], expErrMsg: "lowercase hex"},
		{name: "NUL byte", id: valid[:39] + "\x00", expErrMsg: "lowercase hex"},
		{name: "multi-byte runes of 40 bytes", id: strings.Repeat("é", 20), expErrMsg: "lowercase hex"},
		{name: "bech32-looking", id: "chroom1" + valid[7:], expErrMsg: "lowercase hex"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := format.ValidateNodeID(tc.id)
			if tc.expErrMsg == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.expErrMsg)
		})
	}
}

func TestNodeKeyFromSeed(t *testing.T) {
	tests := []struct {
		name      string
		seed      []byte
		expErrMsg string
	}{
		{name: "32-byte seed", seed: seed(7)},
		{name: "all-zero seed", seed: make([]byte, 32)},
		{name: "nil", seed: nil, expErrMsg: "got 0"},
		{name: "31 bytes", seed: make([]byte, 31), expErrMsg: "got 31"},
		{name: "33 bytes", seed: make([]byte, 33), expErrMsg: "got 33"},
		{name: "64-byte private key instead of seed", seed: ed25519.NewKeyFromSeed(seed(7)), expErrMsg: "got 64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := format.NodeKeyFromSeed(tc.seed)
			if tc.expErrMsg != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), tc.expErrMsg)
				require.Nil(t, k)
				return
			}
			require.NoError(t, err)
			want := ed25519.NewKeyFromSeed(tc.seed)
			require.Equal(t, want.Public().(ed25519.PublicKey), k.PublicKey)
			require.Equal(t, want, k.PrivateKey())
			require.Equal(t, expectedNodeID(k.PublicKey), k.ID)
			require.Equal(t, base64.StdEncoding.EncodeToString(k.PublicKey), k.PublicKeyBase64())

			again, err := format.NodeKeyFromSeed(tc.seed)
			require.NoError(t, err)
			require.Equal(t, k.ID, again.ID, "a seed must always give the same key")
		})
	}
}

func TestGenerateNodeKey(t *testing.T) {
	t.Run("uses the given entropy", func(t *testing.T) {
		k, err := format.GenerateNodeKey(bytes.NewReader(seed(9)))
		require.NoError(t, err)
		require.Equal(t, mustKey(t, 9).ID, k.ID)
	})
	t.Run("short entropy fails", func(t *testing.T) {
		k, err := format.GenerateNodeKey(bytes.NewReader(make([]byte, 31)))
		require.Error(t, err)
		require.Nil(t, k)
	})
	t.Run("nil reader uses crypto/rand", func(t *testing.T) {
		a, err := format.GenerateNodeKey(nil)
		require.NoError(t, err)
		b, err := format.GenerateNodeKey(nil)
		require.NoError(t, err)
		require.NotEqual(t, a.ID, b.ID)
		require.Equal(t, expectedNodeID(a.PublicKey), a.ID)
	})
}

func TestSaveAndLoadNodeKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config", "node_key.json")
	k := mustKey(t, 3)

	require.NoError(t, k.Save(path), "Save must create missing parent directories")

	if runtime.GOOS != "windows" {
		info, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, fs.FileMode(0o600), info.Mode().Perm(), "key file mode")
		dirInfo, err := os.Stat(filepath.Dir(path))
		require.NoError(t, err)
		require.Zero(t, dirInfo.Mode().Perm()&0o077, "key directory must not be readable by group or others")
	}

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var file map[string]string
	require.NoError(t, json.Unmarshal(raw, &file))
	require.Equal(t, map[string]string{
		"type":        format.NodeKeyType,
		"node_id":     k.ID,
		"public_key":  base64.StdEncoding.EncodeToString(k.PublicKey),
		"private_key": base64.StdEncoding.EncodeToString(seed(3)),
	}, file, "key file fields")

	loaded, err := format.LoadNodeKey(path)
	require.NoError(t, err)
	require.Equal(t, k.ID, loaded.ID)
	require.Equal(t, k.PublicKey, loaded.PublicKey)
	require.Equal(t, k.PrivateKey(), loaded.PrivateKey())

	t.Run("refuses to overwrite", func(t *testing.T) {
		other := mustKey(t, 4)
		err := other.Save(path)
		require.Error(t, err)
		require.Contains(t, err.Error(), "already exists")
		after, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, raw, after, "the existing key file must be left untouched")
	})

	t.Run("missing file", func(t *testing.T) {
		_, err := format.LoadNodeKey(filepath.Join(dir, "absent.json"))
		require.ErrorIs(t, err, fs.ErrNotExist)
	})
}

// keyFile returns the JSON fields of a valid key file for seed(b).
func keyFile(t testing.TB, b byte) map[string]any {
	t.Helper()
	k := mustKey(t, b)
	return map[string]any{
		"type":        format.NodeKeyType,
		"node_id":     k.ID,
		"public_key":  k.PublicKeyBase64(),
		"private_key": base64.StdEncoding.EncodeToString(seed(b)),
	}
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	bz, err := json.Marshal(v)
	require.NoError(t, err)
	return bz
}

func TestParseNodeKey(t *testing.T) {
	other := mustKey(t, 6)
	with := func(field string, value any) []byte {
		f := keyFile(t, 5)
		f[field] = value
		return marshal(t, f)
	}
	without := func(field string) []byte {
		f := keyFile(t, 5)
		delete(f, field)
		return marshal(t, f)
	}
	tests := []struct {
		name      string
		data      []byte
		expErrMsg string
	}{
		{name: "valid", data: marshal(t, keyFile(t, 5))},
		{name: "empty input", data: nil, expErrMsg: "not valid JSON"},
		{name: "truncated JSON", data: []byte(`{"type":`), expErrMsg: "not valid JSON"},
		{name: "not JSON", data: []byte("node key"), expErrMsg: "not valid JSON"},
		{name: "JSON array", data: []byte(`[]`), expErrMsg: "not valid JSON"},
		{name: "type is a number", data: with("type", 1), expErrMsg: "not valid JSON"},
		{name: "JSON null", data: []byte(`null`), expErrMsg: "type"},
		{name: "wrong type tag", data: with("type", "chroom/ed25519-node-key/v2"), expErrMsg: "type"},
		{name: "CometBFT node key tag", data: with("type", "tendermint/PrivKeyEd25519"), expErrMsg: "type"},
		{name: "missing type", data: without("type"), expErrMsg: "type"},
		{name: "private_key not base64", data: with("private_key", "!!not base64!!"), expErrMsg: "not base64"},
		{name: "private_key unpadded base64", data: with("private_key", base64.RawStdEncoding.EncodeToString(seed(5))), expErrMsg: "not base64"},
		{name: "private_key hex", data: with("private_key", hex.EncodeToString(seed(5))), expErrMsg: "private_key"},
		{name: "private_key empty", data: with("private_key", ""), expErrMsg: "got 0"},
		{name: "seed of 31 bytes", data: with("private_key", base64.StdEncoding.EncodeToString(seed(5)[:31])), expErrMsg: "got 31"},
		{name: "64-byte private key instead of seed", data: with("private_key", base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(seed(5)))), expErrMsg: "got 64"},
		{name: "public_key of another key", data: with("public_key", other.PublicKeyBase64()), expErrMsg: "public_key does not match"},
		{name: "public_key in hex", data: with("public_key", hex.EncodeToString(mustKey(t, 5).PublicKey)), expErrMsg: "public_key does not match"},
		{name: "public_key missing", data: without("public_key"), expErrMsg: "public_key does not match"},
		{name: "node_id of another key", data: with("node_id", other.ID), expErrMsg: "node_id"},
		{name: "node_id upper case", data: with("node_id", strings.ToUpper(mustKey(t, 5).ID)), expErrMsg: "node_id"},
		{name: "node_id missing", data: without("node_id"), expErrMsg: "node_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := format.ParseNodeKey(tc.data)
			if tc.expErrMsg != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), tc.expErrMsg)
				require.Nil(t, k)
				return
			}
			require.NoError(t, err)
			require.Equal(t, mustKey(t, 5).ID, k.ID)
		})
	}
}

func FuzzParseNodeKey(f *testing.F) {
	f.Add(marshal(f, keyFile(f, 1)))
	f.Add([]byte(`{"type":"chroom/ed25519-node-key/v1","node_id":"","public_key":"","private_key":""}`))
	f.Add([]byte(`{"type":"chroom/ed25519-node-key/v1","private_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := format.ParseNodeKey(data)
		if err != nil {
			require.Nil(t, k)
			return
		}
		id, err := format.NodeID(k.PublicKey)
		require.NoError(t, err)
		require.Equal(t, id, k.ID)
		require.Equal(t, k.PublicKey, k.PrivateKey().Public().(ed25519.PublicKey))
	})
}

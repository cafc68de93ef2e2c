package format

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"filippo.io/edwards25519"
)

const (
	// NodeIDBytes is how many bytes of SHA-256(public key) form a node ID.
	NodeIDBytes = 20
	// NodeIDLength is the length of a node ID string: NodeIDBytes in hex.
	NodeIDLength = 2 * NodeIDBytes
	// NodeKeyType tags the node key file format and its version.
	NodeKeyType = "chroom/ed25519-node-key/v1"
)

// NodeID returns the node ID of an ed25519 public key: the lowercase hex of
// the first 20 bytes of SHA-256(pubkey), 40 characters (DESIGN.md §1). It
// returns an error if pubkey is not ed25519.PublicKeySize (32) bytes long.
func NodeID(pubkey []byte) (string, error) {
	if len(pubkey) != ed25519.PublicKeySize {
		return "", fmt.Errorf("pubkey must be %d bytes (ed25519), got %d", ed25519.PublicKeySize, len(pubkey))
	}
	sum := sha256.Sum256(pubkey)
	return hex.EncodeToString(sum[:NodeIDBytes]), nil
}

// ValidateNodeID checks that id has the shape of a node ID: 40 lowercase
// hexadecimal characters.
func ValidateNodeID(id string) error {
	if len(id) != NodeIDLength {
		return fmt.Errorf("node ID must be %d hex characters, got %d", NodeIDLength, len(id))
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fmt.Errorf("node ID must be lowercase hex, got %q", id)
		}
	}
	return nil
}

// NodeKey is a node's ed25519 key pair. The private part never leaves the
// node's home directory.
type NodeKey struct {
	// ID is the node ID derived from PublicKey.
	ID         string
	PublicKey  ed25519.PublicKey
	privateKey ed25519.PrivateKey
}

// nodeKeyFile is the JSON shape of a node key file.
type nodeKeyFile struct {
	Type      string `json:"type"`
	NodeID    string `json:"node_id"`
	PublicKey string `json:"public_key"`
	// PrivateKey is the 32-byte ed25519 seed (RFC 8032 §5.1.5), base64.
	PrivateKey string `json:"private_key"`
}

// GenerateNodeKey creates a key pair from the entropy of r, or of
// crypto/rand when r is nil.
func GenerateNodeKey(r io.Reader) (*NodeKey, error) {
	if r == nil {
		r = rand.Reader
	}
	pub, priv, err := ed25519.GenerateKey(r)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	return newNodeKey(priv, pub)
}

// NodeKeyFromSeed returns the key pair of a 32-byte ed25519 seed.
func NodeKeyFromSeed(seed []byte) (*NodeKey, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("ed25519 seed must be %d bytes, got %d", ed25519.SeedSize, len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return newNodeKey(priv, priv.Public().(ed25519.PublicKey))
}

func newNodeKey(priv ed25519.PrivateKey, pub ed25519.PublicKey) (*NodeKey, error) {
	id, err := NodeID(pub)
	if err != nil {
		return nil, err
	}
	return &NodeKey{ID: id, PublicKey: pub, privateKey: priv}, nil
}

// PublicKeyBase64 returns the public key in standard base64, the form the
// `chroomd tx registry register-node --pubkey` flag takes.
func (k *NodeKey) PublicKeyBase64() string {
	return base64.StdEncoding.EncodeToString(k.PublicKey)
}

// Save writes the key file to path with mode 0600, creating parent
// directories (0700). It refuses to overwrite an existing file so a node's
// identity is never replaced by accident.
func (k *NodeKey) Save(path string) error {
	data, err := json.MarshalIndent(nodeKeyFile{
		Type:       NodeKeyType,
		NodeID:     k.ID,
		PublicKey:  k.PublicKeyBase64(),
		PrivateKey: base64.StdEncoding.EncodeToString(k.privateKey.Seed()),
	}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create key directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("node key file %s already exists; refusing to overwrite it", path)
		}
		return fmt.Errorf("create node key file: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write node key file: %w", err)
	}
	return f.Close()
}

// LoadNodeKey reads and checks a key file written by Save: the type tag,
// the seed length, and that node_id and public_key match the seed.
func LoadNodeKey(path string) (*NodeKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read node key file: %w", err)
	}
	return ParseNodeKey(data)
}

// ParseNodeKey decodes the JSON of a node key file; see LoadNodeKey.
func ParseNodeKey(data []byte) (*NodeKey, error) {
	var f nodeKeyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("node key file is not valid JSON: %w", err)
	}
	if f.Type != NodeKeyType {
		return nil, fmt.Errorf("node key file type is %q, want %q", f.Type, NodeKeyType)
	}
	seed, err := base64.StdEncoding.DecodeString(f.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("node key file private_key is not base64: %w", err)
	}
	k, err := NodeKeyFromSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("node key file private_key: %w", err)
	}
	if f.PublicKey != k.PublicKeyBase64() {
		return nil, errors.New("node key file public_key does not match its private_key")
	}
	if f.NodeID != k.ID {
		return nil, fmt.Errorf("node key file node_id %q does not match its key (%s)", f.NodeID, k.ID)
	}
	return k, nil
}

// Sign signs payload as an object of the given kind for chainID; see
// SignBytes for what is covered.
func (k *NodeKey) Sign(object, chainID string, payload []byte) ([]byte, error) {
	msg, err := SignBytes(object, chainID, payload)
	if err != nil {
		return nil, err
	}
	return ed25519.Sign(k.privateKey, msg), nil
}

// PrivateKey returns the ed25519 private key, for signers such as a JWT
// library that need it directly.
func (k *NodeKey) PrivateKey() ed25519.PrivateKey { return k.privateKey }

// Verify reports whether sig is pubkey's signature over payload as an
// object of the given kind for chainID. It is false for a malformed key or
// signature, a different object kind, or a different chain. Verification
// follows ZIP-215 (github.com/hdevalence/ed25519consensus), as the chain
// does.
func Verify(pubkey []byte, object, chainID string, payload, sig []byte) bool {
	if len(pubkey) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	msg, err := SignBytes(object, chainID, payload)
	if err != nil {
		return false
	}
	return verifyEd25519(pubkey, msg, sig)
}

// ValidatePublicKey checks that pubkey is a usable ed25519 public key: 32
// bytes that decode to a curve point outside the small-order subgroup.
// Under ZIP-215 verification a small-order key (such as the identity)
// "verifies" forged signatures, so such keys must never be registered.
func ValidatePublicKey(pubkey []byte) error {
	if len(pubkey) != ed25519.PublicKeySize {
		return fmt.Errorf("pubkey must be %d bytes (ed25519), got %d", ed25519.PublicKeySize, len(pubkey))
	}
	p, err := new(edwards25519.Point).SetBytes(pubkey)
	if err != nil {
		return errors.New("pubkey is not a valid ed25519 point")
	}
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return errors.New("pubkey is a small-order point, which cannot be safely verified")
	}
	return nil
}

package grant

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chroom/chroom/format"
)

// generatedIDBytes is how many random bytes Issue draws for a missing jti.
const generatedIDBytes = 16

// Issue signs c as a join grant with the orchestrator's node key and returns
// the compact JWT (RFC 7519, EdDSA per RFC 8037).
//
// Issue sets iss to key.ID (any Issuer in c is ignored), iat to the current
// time if it is unset, and jti to 16 random bytes in hex if it is empty. It
// requires a chain_id (the chain the media node serves, 1–50 printable
// bytes), gty = TypeJoin, sub, exactly one aud that is a node ID, exp and
// nbf with exp after nbf, a room of 1–MaxRoomBytes printable bytes, a valid
// role and a name of at most MaxNameBytes printable bytes; a violation is an
// error wrapping ErrInvalidClaims. It does not bound exp − iat: media nodes
// refuse grants that live longer than their configured maximum (see
// Verifier.MaxLifetime). The permissions are taken as given: start from
// DefaultPermissions(c.Role).
func Issue(key *format.NodeKey, c Claims) (string, error) {
	if key == nil || len(key.PrivateKey()) != ed25519.PrivateKeySize {
		return "", errors.New("issue grant: no node key")
	}
	c.Issuer = key.ID

	if len(c.Audience) != 1 {
		return "", fmt.Errorf("issue grant: %w: aud must name exactly one media node, got %d", ErrInvalidClaims, len(c.Audience))
	}
	if err := format.ValidateNodeID(c.Audience[0]); err != nil {
		return "", fmt.Errorf("issue grant: %w: aud: %v", ErrInvalidClaims, err)
	}
	switch {
	case c.ExpiresAt == nil:
		return "", fmt.Errorf("issue grant: %w: exp is missing", ErrInvalidClaims)
	case c.NotBefore == nil:
		return "", fmt.Errorf("issue grant: %w: nbf is missing", ErrInvalidClaims)
	case c.ExpiresAt.Unix() <= c.NotBefore.Unix(): // the wire form has whole seconds
		return "", fmt.Errorf("issue grant: %w: exp %s is not after nbf %s", ErrInvalidClaims,
			c.ExpiresAt.UTC().Format(time.RFC3339), c.NotBefore.UTC().Format(time.RFC3339))
	}
	if c.IssuedAt == nil {
		c.IssuedAt = jwt.NewNumericDate(time.Now())
	}
	if c.ID == "" {
		b := make([]byte, generatedIDBytes)
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("issue grant: generate jti: %w", err)
		}
		c.ID = hex.EncodeToString(b)
	}
	if err := c.validate(); err != nil {
		return "", fmt.Errorf("issue grant: %w", err)
	}
	if c.Type != TypeJoin {
		return "", fmt.Errorf("issue grant: %w: gty is %q, want %q (the only grant type this package issues)", ErrInvalidClaims, c.Type, TypeJoin)
	}

	token, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(key.PrivateKey())
	if err != nil {
		return "", fmt.Errorf("issue grant: sign: %w", err)
	}
	if len(token) > MaxTokenBytes {
		return "", fmt.Errorf("issue grant: %w: token is %d bytes, over the %d-byte limit", ErrInvalidClaims, len(token), MaxTokenBytes)
	}
	return token, nil
}

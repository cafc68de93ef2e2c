package grant

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chroom/chroom/format"
)

// TypeJoin is the grant type (claim gty) of a join grant: it admits its
// holder to one room on one media node. The value follows the domain
// names of DESIGN.md §1 ("chroom/<object>/v1"), so a token minted for
// another purpose with the same orchestrator key (a relay grant, say)
// can never be accepted as a join grant, and a later incompatible version
// of join grants gets a new value.
const TypeJoin = "chroom/join-grant/v1"

// Limits on claim sizes, in bytes of UTF-8. They keep a grant well under
// MaxTokenBytes.
const (
	// MaxRoomBytes is the longest room name.
	MaxRoomBytes = 128
	// MaxSubjectBytes is the longest identity (sub).
	MaxSubjectBytes = 256
	// MaxNameBytes is the longest display name.
	MaxNameBytes = 128
	// MaxAppBytes is the longest app claim (x/incentives app IDs).
	MaxAppBytes = 64
	// MaxIDBytes is the longest grant ID (jti).
	MaxIDBytes = 128
	// MaxTypeBytes is the longest grant type (gty).
	MaxTypeBytes = 64
)

// Claims are the claims of a join grant. The registered claims carry iss
// (orchestrator node ID), sub (identity), aud (media node ID; exactly one),
// exp, nbf, iat and jti (RFC 7519 §4.1); the private claims carry the chain
// ID and the grant type (domain separation, DESIGN.md §1), the room, the
// role, an optional display name and the permissions.
type Claims struct {
	jwt.RegisteredClaims
	// ChainID is the ID of the Chroom chain whose registry the issuer and
	// the media node belong to (1–format.MaxChainIDLength printable bytes).
	// A media node accepts only grants for the chain it serves, so a grant
	// cannot be replayed on another network (a testnet and mainnet sharing
	// node keys, say).
	ChainID string `json:"chain_id"`
	// Type is the grant type; a join grant has TypeJoin. Media nodes
	// accept nothing else as a join grant.
	Type string `json:"gty"`
	// Room is the room name: 1–MaxRoomBytes bytes of printable UTF-8.
	Room string `json:"room"`
	// Role is the participant's role in the room.
	Role Role `json:"role"`
	// Name is an optional display name: at most MaxNameBytes bytes of
	// printable UTF-8.
	Name string `json:"name,omitempty"`
	// App, if set, is the on-chain app (x/incentives app ID, at most 64
	// bytes) whose escrow pays for the session: the media node copies it
	// into the session's usage receipts (app_id).
	App string `json:"app,omitempty"`
	// Cnf, if set, binds the grant to a key the client holds (RFC 7800
	// proof-of-possession, "cnf" with a "jwk" member): the client signs its
	// usage statements with it, and the orchestrator credits no more
	// session time than those statements attest.
	Cnf *Confirmation `json:"cnf,omitempty"`
	// AudioOnly marks a session of an audio space (a room of mode
	// audio_space): the media node lets it publish audio only and sends it
	// no video, whatever its role.
	AudioOnly bool `json:"audio_only,omitempty"`
	Permissions
}

// Confirmation is the cnf claim (RFC 7800 §3.2): the client's public key
// as a JWK.
type Confirmation struct {
	JWK *JWK `json:"jwk"`
}

// JWK is an Ed25519 public key as a JSON Web Key (RFC 8037 §2): kty "OKP",
// crv "Ed25519", x the 32-byte key in base64url without padding.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
}

// Ed25519JWK returns the JWK of an Ed25519 public key (32 bytes).
func Ed25519JWK(pub []byte) *JWK {
	return &JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub)}
}

// Ed25519Key returns the public key of an OKP/Ed25519 JWK. Errors wrap
// ErrInvalidClaims.
func (j *JWK) Ed25519Key() ([]byte, error) {
	if j == nil || j.Kty != "OKP" || j.Crv != "Ed25519" {
		return nil, fmt.Errorf("%w: cnf.jwk must be kty OKP, crv Ed25519", ErrInvalidClaims)
	}
	k, err := base64.RawURLEncoding.DecodeString(j.X)
	if err != nil || len(k) != 32 {
		return nil, fmt.Errorf("%w: cnf.jwk.x must be 32 bytes of base64url", ErrInvalidClaims)
	}
	return k, nil
}

// MarshalJSON encodes the claims with a one-element aud as a single string,
// as DESIGN.md §3 specifies (jwt.ClaimStrings would write an array).
func (c Claims) MarshalJSON() ([]byte, error) {
	type plain Claims // drops this method, so json.Marshal does not recurse
	var aud any
	switch len(c.Audience) {
	case 0:
	case 1:
		aud = c.Audience[0]
	default:
		aud = []string(c.Audience)
	}
	return json.Marshal(struct {
		plain
		Audience any `json:"aud,omitempty"` // shadows RegisteredClaims.Audience
	}{plain(c), aud})
}

// validate checks the claims that Issue and Verify agree on: chain_id and
// gty present, sub, room, role, name and jti. Time, audience, chain and
// type values are checked by the callers (they fail differently).
func (c *Claims) validate() error {
	if err := checkText("chain_id", c.ChainID, 1, format.MaxChainIDLength); err != nil {
		return err
	}
	if err := checkText("gty", c.Type, 1, MaxTypeBytes); err != nil {
		return err
	}
	if err := checkText("sub", c.Subject, 1, MaxSubjectBytes); err != nil {
		return err
	}
	if err := checkText("room", c.Room, 1, MaxRoomBytes); err != nil {
		return err
	}
	if !c.Role.Valid() {
		if c.Role == "" {
			return fmt.Errorf("%w: role is missing", ErrInvalidClaims)
		}
		return fmt.Errorf("%w: unknown role %q: want host, presenter, participant, viewer or relay", ErrInvalidClaims, c.Role)
	}
	if err := checkText("name", c.Name, 0, MaxNameBytes); err != nil {
		return err
	}
	if err := checkText("app", c.App, 0, MaxAppBytes); err != nil {
		return err
	}
	if err := checkText("jti", c.ID, 1, MaxIDBytes); err != nil {
		return err
	}
	if c.Cnf != nil {
		if _, err := c.Cnf.JWK.Ed25519Key(); err != nil {
			return err
		}
	}
	return nil
}

// checkText checks that s is minBytes–maxBytes bytes of valid UTF-8 whose
// runes are all printable (unicode.IsPrint: the ASCII space is allowed,
// tabs, newlines and other controls are not).
func checkText(claim, s string, minBytes, maxBytes int) error {
	switch {
	case len(s) < minBytes && len(s) == 0:
		return fmt.Errorf("%w: %s is missing", ErrInvalidClaims, claim)
	case len(s) < minBytes:
		return fmt.Errorf("%w: %s is %d bytes, want at least %d", ErrInvalidClaims, claim, len(s), minBytes)
	case len(s) > maxBytes:
		return fmt.Errorf("%w: %s is %d bytes, want at most %d", ErrInvalidClaims, claim, len(s), maxBytes)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidClaims, claim)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%w: %s contains the non-printable character %U", ErrInvalidClaims, claim, r)
		}
	}
	return nil
}

// PeekClaims decodes a token's claims WITHOUT verifying anything, so a
// server can find which key or record to verify it against. Never trust
// its result before Verify succeeds.
func PeekClaims(token string) (*Claims, error) {
	if len(token) > MaxTokenBytes {
		return nil, fmt.Errorf("%w: token larger than %d bytes", ErrMalformed, MaxTokenBytes)
	}
	var c Claims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformed, err)
	}
	return &c, nil
}

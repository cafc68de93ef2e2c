package grant

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// MaxTokenBytes is the largest token Verify reads, in bytes. Issue
	// refuses to produce a larger one. A grant is normally under 1 KiB.
	MaxTokenBytes = 8 << 10
	// DefaultLeeway is the clock skew, in either direction, that Verify
	// tolerates on exp and nbf when Verifier.Leeway is zero.
	DefaultLeeway = 5 * time.Second
	// maxShownBytes bounds how much of an untrusted value an error shows.
	maxShownBytes = 64
)

// Issuers looks up the node keys of orchestrators; the registry view
// implements it. OrchestratorKey returns the 32-byte ed25519 public key of
// the orchestrator with node ID id, or an error wrapping ErrUnknownIssuer if
// no orchestrator has that ID, or ErrIssuerNotActive if it is not ACTIVE.
type Issuers interface {
	OrchestratorKey(id string) (ed25519.PublicKey, error)
}

// Verifier checks join grants on a media node. Its fields are read-only
// once Verify is in use; Verify is then safe for concurrent use.
type Verifier struct {
	// Audience is this media node's ID; a grant's aud must equal it.
	// Required.
	Audience string
	// ChainID is the chain this media node serves; a grant's chain_id must
	// equal it. Required.
	ChainID string
	// Issuers resolves iss to an active orchestrator's key. Required.
	Issuers Issuers
	// MaxLifetime is the longest lifetime, exp − iat, of a grant this node
	// accepts; a grant that claims a longer one is refused, and so is a
	// grant without iat. Zero means no limit (and iat is optional).
	//
	// iat is the issuer's word: an ACTIVE orchestrator could state a late
	// iat, but it could as well mint a fresh grant whenever it likes, so
	// iat is not checked against this node's clock (which would make a few
	// seconds of clock skew refuse every grant issued at the maximum).
	MaxLifetime time.Duration
	// Leeway is the clock skew tolerated on exp and nbf. Zero means
	// DefaultLeeway (5 s); a negative value means none.
	Leeway time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Verify checks token, a compact JWT (RFC 7519) signed with EdDSA (RFC 8037),
// and returns its claims. It accepts a token only if all of these hold:
//
//   - it is at most MaxTokenBytes long and has three base64url segments;
//   - the header's alg is "EdDSA", its typ (if present) is "JWT", and it has
//     no crit parameter;
//   - iss is an ACTIVE orchestrator according to v.Issuers and the signature
//     verifies under its key;
//   - chain_id is present and equals v.ChainID, and gty is TypeJoin;
//   - exp is present and now ≤ exp + leeway; nbf, if present, ≤ now + leeway;
//   - if v.MaxLifetime is set: iat is present and exp − iat ≤ v.MaxLifetime;
//   - aud is exactly v.Audience;
//   - sub, room, role, name and jti are valid (see Issue).
//
// Otherwise the error wraps ErrMalformed, ErrAlgorithm, ErrUnknownIssuer,
// ErrIssuerNotActive, ErrBadSignature, ErrWrongChain, ErrWrongType,
// ErrExpired, ErrNotYetValid, ErrLifetimeTooLong, ErrWrongAudience or
// ErrInvalidClaims and says what is wrong. Verify does not check
// permissions: call Claims.Allow for each action.
func (v *Verifier) Verify(token string) (*Claims, error) {
	if v == nil || v.Audience == "" {
		return nil, errors.New("grant verifier has no audience (this node's ID) configured")
	}
	if v.ChainID == "" {
		return nil, errors.New("grant verifier has no chain ID configured")
	}
	if v.Issuers == nil {
		return nil, errors.New("grant verifier has no issuer registry configured")
	}
	switch {
	case token == "":
		return nil, fmt.Errorf("%w: no token", ErrMalformed)
	case len(token) > MaxTokenBytes:
		return nil, fmt.Errorf("%w: token is %d bytes, over the %d-byte limit", ErrMalformed, len(token), MaxTokenBytes)
	case strings.Count(token, ".") != 2:
		return nil, fmt.Errorf("%w: token is not three dot-separated segments (header.claims.signature)", ErrMalformed)
	}
	header, _, _ := strings.Cut(token, ".")
	if err := checkHeader(header); err != nil {
		return nil, err
	}

	claims := new(Claims)
	var lookupErr error
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithStrictDecoding(),
		jwt.WithoutClaimsValidation(), // done below, with our errors and clock
	)
	_, err := parser.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) {
		key, err := v.issuerKey(claims.Issuer)
		lookupErr = err
		return key, err
	})
	switch {
	case lookupErr != nil:
		return nil, lookupErr
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return nil, fmt.Errorf("%w: it does not verify under the key of orchestrator %s", ErrBadSignature, claims.Issuer)
	case err != nil:
		msg := strings.TrimPrefix(err.Error(), jwt.ErrTokenMalformed.Error()+": ")
		return nil, fmt.Errorf("%w: %s", ErrMalformed, msg)
	}

	// Chain and type first: a token for another network or purpose is
	// refused as such, whatever else it says.
	switch {
	case claims.ChainID == "":
		return nil, fmt.Errorf("%w: chain_id is missing", ErrInvalidClaims)
	case claims.ChainID != v.ChainID:
		return nil, fmt.Errorf("%w: chain_id is %q, this node serves %q", ErrWrongChain, shorten(claims.ChainID), v.ChainID)
	}
	switch {
	case claims.Type == "":
		return nil, fmt.Errorf("%w: gty is missing, want %q", ErrInvalidClaims, TypeJoin)
	case claims.Type != TypeJoin:
		return nil, fmt.Errorf("%w: gty is %q, want %q", ErrWrongType, shorten(claims.Type), TypeJoin)
	}

	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t := now()
	leeway := v.Leeway
	switch {
	case leeway == 0:
		leeway = DefaultLeeway
	case leeway < 0:
		leeway = 0
	}
	switch {
	case claims.ExpiresAt == nil:
		return nil, fmt.Errorf("%w: exp is missing", ErrInvalidClaims)
	case t.After(claims.ExpiresAt.Add(leeway)):
		return nil, fmt.Errorf("%w: exp was %s, %s ago", ErrExpired,
			claims.ExpiresAt.UTC().Format(time.RFC3339), t.Sub(claims.ExpiresAt.Time).Truncate(time.Second))
	case claims.NotBefore != nil && claims.NotBefore.After(t.Add(leeway)):
		return nil, fmt.Errorf("%w: nbf is %s, %s from now", ErrNotYetValid,
			claims.NotBefore.UTC().Format(time.RFC3339), claims.NotBefore.Sub(t).Truncate(time.Second))
	}
	if v.MaxLifetime > 0 {
		if claims.IssuedAt == nil {
			return nil, fmt.Errorf("%w: iat is missing; this node needs it to enforce its maximum grant lifetime of %s", ErrInvalidClaims, v.MaxLifetime)
		}
		if life := claims.ExpiresAt.Sub(claims.IssuedAt.Time); life > v.MaxLifetime {
			return nil, fmt.Errorf("%w: the grant lives %s (iat %s to exp %s), longer than this node's maximum of %s", ErrLifetimeTooLong,
				life, claims.IssuedAt.UTC().Format(time.RFC3339), claims.ExpiresAt.UTC().Format(time.RFC3339), v.MaxLifetime)
		}
	}
	switch {
	case len(claims.Audience) != 1:
		return nil, fmt.Errorf("%w: aud must name exactly one media node, got %d", ErrWrongAudience, len(claims.Audience))
	case claims.Audience[0] != v.Audience:
		return nil, fmt.Errorf("%w: aud is %q, this node is %s", ErrWrongAudience, shorten(claims.Audience[0]), v.Audience)
	}
	if err := claims.validate(); err != nil {
		return nil, err
	}
	return claims, nil
}

// issuerKey returns the registered key of the orchestrator iss.
func (v *Verifier) issuerKey(iss string) (ed25519.PublicKey, error) {
	if iss == "" {
		return nil, fmt.Errorf("%w: iss is missing", ErrInvalidClaims)
	}
	key, err := v.Issuers.OrchestratorKey(iss)
	if err != nil {
		return nil, fmt.Errorf("%w (iss %q)", err, shorten(iss))
	}
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: iss %q has a %d-byte key registered, want %d", ErrUnknownIssuer, shorten(iss), len(key), ed25519.PublicKeySize)
	}
	return key, nil
}

// checkHeader checks the JOSE header (RFC 7515 §4) before anything else is
// decoded: alg must be EdDSA, typ (if present) JWT, and crit absent, since
// this verifier understands no header extensions (RFC 7515 §4.1.11).
func checkHeader(segment string) error {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(segment)
	if err != nil {
		return fmt.Errorf("%w: header is not unpadded base64url: %v", ErrMalformed, err)
	}
	var h map[string]json.RawMessage
	if err := json.Unmarshal(raw, &h); err != nil || h == nil {
		return fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	var alg string
	if a, ok := h["alg"]; !ok {
		return fmt.Errorf("%w: header has no alg", ErrAlgorithm)
	} else if err := json.Unmarshal(a, &alg); err != nil {
		return fmt.Errorf("%w: header alg is not a string", ErrAlgorithm)
	}
	if alg != jwt.SigningMethodEdDSA.Alg() {
		return fmt.Errorf("%w: alg is %q; only EdDSA (RFC 8037) is accepted", ErrAlgorithm, shorten(alg))
	}
	if t, ok := h["typ"]; ok {
		var typ string
		if err := json.Unmarshal(t, &typ); err != nil {
			return fmt.Errorf("%w: header typ is not a string", ErrMalformed)
		}
		if !strings.EqualFold(typ, "JWT") {
			return fmt.Errorf("%w: header typ is %q, want \"JWT\"", ErrMalformed, shorten(typ))
		}
	}
	if _, ok := h["crit"]; ok {
		return fmt.Errorf("%w: header has crit extensions, which this verifier does not support", ErrMalformed)
	}
	return nil
}

// shorten cuts an untrusted value for an error message.
func shorten(s string) string {
	if len(s) <= maxShownBytes {
		return s
	}
	return s[:maxShownBytes] + "…"
}

package grant

import "errors"

// Sentinel errors. Issue, Verify and Allow wrap them with details (what was
// wrong, and the offending value where it is safe to show); callers test them
// with errors.Is, for example to answer 401 or 403.
var (
	// ErrMalformed means the token is not a well-formed compact JWS/JWT: empty,
	// too large, not three base64url segments, or a header or claims segment
	// that is not the expected JSON.
	ErrMalformed = errors.New("malformed grant")
	// ErrAlgorithm means the header names a signing algorithm other than
	// EdDSA (RFC 8037), such as "none", "HS256" or "RS256".
	ErrAlgorithm = errors.New("grant signing algorithm not accepted")
	// ErrBadSignature means the signature does not verify under the issuer's
	// registered node key.
	ErrBadSignature = errors.New("grant signature is invalid")
	// ErrExpired means exp has passed (beyond the verifier's leeway).
	ErrExpired = errors.New("grant has expired")
	// ErrNotYetValid means nbf is in the future (beyond the verifier's leeway).
	ErrNotYetValid = errors.New("grant is not valid yet")
	// ErrWrongAudience means aud does not name exactly this media node.
	ErrWrongAudience = errors.New("grant is for another media node")
	// ErrUnknownIssuer means iss is not a registered orchestrator.
	ErrUnknownIssuer = errors.New("grant issuer is not a registered orchestrator")
	// ErrIssuerNotActive means iss is a registered orchestrator whose status
	// is not ACTIVE (it is JAILED or UNBONDING).
	ErrIssuerNotActive = errors.New("grant issuer is not an active orchestrator")
	// ErrWrongChain means chain_id names another chain than the one this
	// media node serves.
	ErrWrongChain = errors.New("grant is for another chain")
	// ErrWrongType means gty is not TypeJoin: the token is not a join grant.
	ErrWrongType = errors.New("grant is not a join grant")
	// ErrLifetimeTooLong means the grant was issued to live (exp − iat)
	// longer than the verifier's MaxLifetime.
	ErrLifetimeTooLong = errors.New("grant lifetime is longer than this node accepts")
	// ErrInvalidClaims means a claim is missing or out of range: chain_id,
	// gty, sub, room, role, name, jti, exp, iat (when a maximum lifetime
	// is enforced), or aud, nbf and gty values when issuing.
	ErrInvalidClaims = errors.New("grant claims are invalid")
	// ErrWrongRoom means a verified grant is used for a room it does not name.
	ErrWrongRoom = errors.New("grant is for another room")
	// ErrNotPermitted means a verified grant does not carry the permission an
	// action needs.
	ErrNotPermitted = errors.New("grant does not permit this action")
)

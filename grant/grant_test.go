package grant_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/grant"
)

// now is the verifier's clock in every test.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	// chainID is the chain the fixture's media node serves.
	chainID = "chroom-test-1"
	// maxLifetime is the fixture verifier's MaxLifetime.
	maxLifetime = 2 * time.Hour
)

// fixture holds the keys of a small registry: an active orchestrator, a
// jailed one, a key nobody registered, and the media node that verifies.
type fixture struct {
	orch, jailed, stranger, media *format.NodeKey
	verifier                      *grant.Verifier
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	key := func(b byte) *format.NodeKey {
		k, err := format.NodeKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
		require.NoError(tb, err)
		return k
	}
	f := &fixture{orch: key(1), jailed: key(2), stranger: key(3), media: key(4)}
	f.verifier = &grant.Verifier{
		Audience: f.media.ID,
		ChainID:  chainID,
		Issuers: fakeIssuers{
			f.orch.ID:   {key: f.orch.PublicKey, active: true},
			f.jailed.ID: {key: f.jailed.PublicKey, active: false},
		},
		MaxLifetime: maxLifetime,
		Now:         func() time.Time { return now },
	}
	return f
}

type issuer struct {
	key    ed25519.PublicKey
	active bool
}

// fakeIssuers is an in-memory grant.Issuers.
type fakeIssuers map[string]issuer

func (f fakeIssuers) OrchestratorKey(id string) (ed25519.PublicKey, error) {
	is, ok := f[id]
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: no orchestrator %q", grant.ErrUnknownIssuer, id)
	case !is.active:
		return nil, fmt.Errorf("%w: %s is jailed", grant.ErrIssuerNotActive, id)
	}
	return is.key, nil
}

// claims returns valid participant claims for the fixture's media node,
// with a fixed jti so tokens are reproducible.
func (f *fixture) claims() grant.Claims {
	return grant.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   "alice@example.com",
			Audience:  jwt.ClaimStrings{f.media.ID},
			ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute)),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			IssuedAt:  jwt.NewNumericDate(now.Add(-time.Minute)),
			ID:        "0123456789abcdef0123456789abcdef",
		},
		ChainID:     chainID,
		Type:        grant.TypeJoin,
		Room:        "standup",
		Role:        grant.RoleParticipant,
		Name:        "Alice",
		Permissions: grant.DefaultPermissions(grant.RoleParticipant),
	}
}

func (f *fixture) issue(tb testing.TB, c grant.Claims) string {
	tb.Helper()
	tok, err := grant.Issue(f.orch, c)
	require.NoError(tb, err)
	return tok
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// signRaw assembles a compact JWS by hand, so tests can sign headers and
// claims that Issue would refuse to produce.
func signRaw(tb testing.TB, key ed25519.PrivateKey, header map[string]any, claims any) string {
	tb.Helper()
	h, err := json.Marshal(header)
	require.NoError(tb, err)
	c, err := json.Marshal(claims)
	require.NoError(tb, err)
	input := b64(h) + "." + b64(c)
	return input + "." + b64(ed25519.Sign(key, []byte(input)))
}

var edHeader = map[string]any{"alg": "EdDSA", "typ": "JWT"}

// segments splits a token and decodes its three parts.
func segments(tb testing.TB, tok string) (header, payload, sig []byte) {
	tb.Helper()
	parts := strings.Split(tok, ".")
	require.Len(tb, parts, 3)
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		require.NoError(tb, err)
		return b
	}
	return dec(parts[0]), dec(parts[1]), dec(parts[2])
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	f := newFixture(t)
	c := f.claims()
	c.ID = "" // Issue generates one
	c.Issuer = "ignored"
	tok, err := grant.Issue(f.orch, c)
	require.NoError(t, err)

	header, payload, _ := segments(t, tok)
	require.JSONEq(t, `{"alg":"EdDSA","typ":"JWT"}`, string(header))
	var wire map[string]any
	require.NoError(t, json.Unmarshal(payload, &wire))
	require.Equal(t, f.media.ID, wire["aud"], "aud must be a single string, not an array")
	require.Equal(t, f.orch.ID, wire["iss"])
	require.Equal(t, chainID, wire["chain_id"])
	require.Equal(t, "chroom/join-grant/v1", wire["gty"])
	require.Equal(t, "participant", wire["role"])
	require.Equal(t, true, wire["can_publish"])
	require.Equal(t, false, wire["can_publish_screen"])

	got, err := f.verifier.Verify(tok)
	require.NoError(t, err)
	require.Equal(t, f.orch.ID, got.Issuer)
	require.Equal(t, c.Subject, got.Subject)
	require.Equal(t, jwt.ClaimStrings{f.media.ID}, got.Audience)
	require.Equal(t, c.ExpiresAt.Unix(), got.ExpiresAt.Unix())
	require.Equal(t, c.NotBefore.Unix(), got.NotBefore.Unix())
	require.Equal(t, chainID, got.ChainID)
	require.Equal(t, grant.TypeJoin, got.Type)
	require.Regexp(t, `^[0-9a-f]{32}$`, got.ID)
	require.Equal(t, "standup", got.Room)
	require.Equal(t, grant.RoleParticipant, got.Role)
	require.Equal(t, "Alice", got.Name)
	require.Equal(t, grant.DefaultPermissions(grant.RoleParticipant), got.Permissions)

	tok2, err := grant.Issue(f.orch, c)
	require.NoError(t, err)
	got2, err := f.verifier.Verify(tok2)
	require.NoError(t, err)
	require.NotEqual(t, got.ID, got2.ID, "generated jti must differ between grants")
}

func TestIssueRejects(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		key    *format.NodeKey
		mutate func(*grant.Claims)
		errMsg string
	}{
		{name: "nil key", key: nil, mutate: func(*grant.Claims) {}, errMsg: "no node key"},
		{name: "no aud", mutate: func(c *grant.Claims) { c.Audience = nil }, errMsg: "exactly one media node, got 0"},
		{name: "two auds", mutate: func(c *grant.Claims) { c.Audience = append(c.Audience, f.orch.ID) }, errMsg: "got 2"},
		{name: "aud not a node ID", mutate: func(c *grant.Claims) { c.Audience = jwt.ClaimStrings{"sfu-1"} }, errMsg: "aud: node ID must be 40"},
		{name: "no exp", mutate: func(c *grant.Claims) { c.ExpiresAt = nil }, errMsg: "exp is missing"},
		{name: "no nbf", mutate: func(c *grant.Claims) { c.NotBefore = nil }, errMsg: "nbf is missing"},
		{name: "exp equals nbf", mutate: func(c *grant.Claims) { c.ExpiresAt = c.NotBefore }, errMsg: "is not after nbf"},
		{name: "exp before nbf", mutate: func(c *grant.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour)) }, errMsg: "is not after nbf"},
		{name: "no sub", mutate: func(c *grant.Claims) { c.Subject = "" }, errMsg: "sub is missing"},
		{name: "no room", mutate: func(c *grant.Claims) { c.Room = "" }, errMsg: "room is missing"},
		{name: "room too long", mutate: func(c *grant.Claims) { c.Room = strings.Repeat("r", 129) }, errMsg: "room is 129 bytes, want at most 128"},
		{name: "room with newline", mutate: func(c *grant.Claims) { c.Room = "a\nb" }, errMsg: "room contains the non-printable character U+000A"},
		{name: "room not UTF-8", mutate: func(c *grant.Claims) { c.Room = "\xff" }, errMsg: "room is not valid UTF-8"},
		{name: "no role", mutate: func(c *grant.Claims) { c.Role = "" }, errMsg: "role is missing"},
		{name: "unknown role", mutate: func(c *grant.Claims) { c.Role = "admin" }, errMsg: `unknown role "admin"`},
		{name: "name too long", mutate: func(c *grant.Claims) { c.Name = strings.Repeat("n", 129) }, errMsg: "name is 129 bytes"},
		{name: "no chain_id", mutate: func(c *grant.Claims) { c.ChainID = "" }, errMsg: "chain_id is missing"},
		{name: "chain_id too long", mutate: func(c *grant.Claims) { c.ChainID = strings.Repeat("c", 51) }, errMsg: "chain_id is 51 bytes, want at most 50"},
		{name: "chain_id with NUL", mutate: func(c *grant.Claims) { c.ChainID = "chroom\x001" }, errMsg: "chain_id contains the non-printable character U+0000"},
		{name: "no gty", mutate: func(c *grant.Claims) { c.Type = "" }, errMsg: "gty is missing"},
		{name: "unknown gty", mutate: func(c *grant.Claims) { c.Type = "chroom/relay-grant/v1" }, errMsg: `gty is "chroom/relay-grant/v1", want "chroom/join-grant/v1"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := f.orch
			if tc.name == "nil key" {
				key = tc.key
			}
			c := f.claims()
			tc.mutate(&c)
			tok, err := grant.Issue(key, c)
			require.ErrorContains(t, err, tc.errMsg)
			require.Empty(t, tok)
			if key != nil {
				require.ErrorIs(t, err, grant.ErrInvalidClaims)
			}
		})
	}
}

// TestVerify is the grant matrix: every way a token can be wrong, and the
// sentinel error a media node sees for it.
func TestVerify(t *testing.T) {
	f := newFixture(t)
	valid := f.issue(t, f.claims())
	_, payload, sig := segments(t, valid)
	parts := strings.Split(valid, ".")

	// with returns a grant issued by the active orchestrator after mutate.
	with := func(mutate func(*grant.Claims)) string {
		c := f.claims()
		mutate(&c)
		return f.issue(t, c)
	}
	// rawClaims are valid claims as a map, for hand-signed tokens.
	rawClaims := func(mutate func(map[string]any)) map[string]any {
		var m map[string]any
		require.NoError(t, json.Unmarshal(payload, &m))
		mutate(m)
		return m
	}
	tamperedPayload := func() string {
		m := rawClaims(func(m map[string]any) { m["room"] = "boardroom" })
		c, err := json.Marshal(m)
		require.NoError(t, err)
		return parts[0] + "." + b64(c) + "." + parts[2]
	}()
	tamperedSig := func() string {
		s := bytes.Clone(sig)
		s[0] ^= 0x01
		return parts[0] + "." + parts[1] + "." + b64(s)
	}()
	hs256, err := jwt.NewWithClaims(jwt.SigningMethodHS256, f.claims()).SignedString([]byte(f.orch.PublicKey))
	require.NoError(t, err)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	orchClaims := f.claims()
	orchClaims.Issuer = f.orch.ID
	rs256, err := jwt.NewWithClaims(jwt.SigningMethodRS256, orchClaims).SignedString(rsaKey)
	require.NoError(t, err)
	// forged: the active orchestrator's iss, signed by a stranger's key.
	forged, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, orchClaims).SignedString(f.stranger.PrivateKey())
	require.NoError(t, err)
	strangerTok, err := grant.Issue(f.stranger, f.claims())
	require.NoError(t, err)
	jailedTok, err := grant.Issue(f.jailed, f.claims())
	require.NoError(t, err)
	// mediaTok is issued by a media node's key, which is not an orchestrator.
	mediaTok, err := grant.Issue(f.media, f.claims())
	require.NoError(t, err)

	tests := []struct {
		name    string
		token   string
		wantErr error  // nil: the token verifies
		errMsg  string // a substring of the error message
	}{
		{name: "valid", token: valid},
		{name: "expired within leeway", token: with(func(c *grant.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-4 * time.Second)) })},
		{name: "nbf within leeway", token: with(func(c *grant.Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(4 * time.Second)) })},
		{name: "aud as one-element array", token: signRaw(t, f.orch.PrivateKey(), edHeader,
			rawClaims(func(m map[string]any) { m["aud"] = []string{f.media.ID} }))},
		{name: "typ absent", token: signRaw(t, f.orch.PrivateKey(), map[string]any{"alg": "EdDSA"}, rawClaims(func(map[string]any) {}))},
		{name: "nbf absent", token: signRaw(t, f.orch.PrivateKey(), edHeader, rawClaims(func(m map[string]any) { delete(m, "nbf") }))},
		{name: "lifetime at the maximum", token: with(func(c *grant.Claims) { c.ExpiresAt = jwt.NewNumericDate(c.IssuedAt.Add(maxLifetime)) })},
		{name: "lifetime counted from iat, not nbf", token: with(func(c *grant.Claims) {
			c.NotBefore = jwt.NewNumericDate(now.Add(-24 * time.Hour))
			c.ExpiresAt = jwt.NewNumericDate(c.IssuedAt.Add(maxLifetime))
		})},

		{name: "missing token", token: "", wantErr: grant.ErrMalformed, errMsg: "no token"},
		{name: "garbage", token: "not a token", wantErr: grant.ErrMalformed, errMsg: "three dot-separated segments"},
		{name: "garbage segments", token: "a.b.c", wantErr: grant.ErrMalformed, errMsg: "header is not"},
		{name: "four segments", token: valid + ".x", wantErr: grant.ErrMalformed, errMsg: "three dot-separated segments"},
		{name: "truncated", token: valid[:len(valid)/2], wantErr: grant.ErrMalformed, errMsg: "three dot-separated segments"},
		{name: "truncated signature", token: parts[0] + "." + parts[1] + "." + b64(sig[:40]), wantErr: grant.ErrBadSignature},
		{name: "signature stripped", token: parts[0] + "." + parts[1] + ".", wantErr: grant.ErrBadSignature},
		{name: "padded base64", token: parts[0] + "=." + parts[1] + "." + parts[2], wantErr: grant.ErrMalformed, errMsg: "base64url"},
		{name: "oversized", token: valid + strings.Repeat("A", grant.MaxTokenBytes), wantErr: grant.ErrMalformed, errMsg: "over the 8192-byte limit"},
		{name: "claims not JSON", token: parts[0] + "." + b64([]byte("{")) + "." + parts[2], wantErr: grant.ErrMalformed},
		{name: "claims wrong type", token: signRaw(t, f.orch.PrivateKey(), edHeader, rawClaims(func(m map[string]any) { m["exp"] = "tomorrow" })), wantErr: grant.ErrMalformed},
		{name: "expired", token: with(func(c *grant.Claims) {
			c.NotBefore = jwt.NewNumericDate(now.Add(-time.Hour))
			c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute))
		}), wantErr: grant.ErrExpired, errMsg: "exp was 2026-03-01T11:59:00Z, 1m0s ago"},
		{name: "not yet valid", token: with(func(c *grant.Claims) {
			c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute))
			c.ExpiresAt = jwt.NewNumericDate(now.Add(time.Hour))
		}), wantErr: grant.ErrNotYetValid, errMsg: "1m0s from now"},
		{name: "exp missing", token: signRaw(t, f.orch.PrivateKey(), edHeader, rawClaims(func(m map[string]any) { delete(m, "exp") })), wantErr: grant.ErrInvalidClaims, errMsg: "exp is missing"},
		{name: "tampered payload", token: tamperedPayload, wantErr: grant.ErrBadSignature},
		{name: "tampered signature", token: tamperedSig, wantErr: grant.ErrBadSignature},
		{name: "signed by another key", token: forged, wantErr: grant.ErrBadSignature},
		{name: "wrong audience", token: with(func(c *grant.Claims) { c.Audience = jwt.ClaimStrings{f.orch.ID} }), wantErr: grant.ErrWrongAudience, errMsg: `aud is "` + f.orch.ID + `"`},
		{name: "two audiences", token: signRaw(t, f.orch.PrivateKey(), edHeader,
			rawClaims(func(m map[string]any) { m["aud"] = []string{f.media.ID, f.orch.ID} })), wantErr: grant.ErrWrongAudience, errMsg: "exactly one"},
		{name: "aud missing", token: signRaw(t, f.orch.PrivateKey(), edHeader, rawClaims(func(m map[string]any) { delete(m, "aud") })), wantErr: grant.ErrWrongAudience},
		{name: "alg none", token: b64(mustJSON(t, map[string]any{"alg": "none", "typ": "JWT"})) + "." + parts[1] + ".", wantErr: grant.ErrAlgorithm, errMsg: `alg is "none"`},
		{name: "alg None", token: b64(mustJSON(t, map[string]any{"alg": "None"})) + "." + parts[1] + ".", wantErr: grant.ErrAlgorithm},
		{name: "alg missing", token: b64([]byte(`{"typ":"JWT"}`)) + "." + parts[1] + "." + parts[2], wantErr: grant.ErrAlgorithm, errMsg: "no alg"},
		{name: "alg not a string", token: b64([]byte(`{"alg":["EdDSA"]}`)) + "." + parts[1] + "." + parts[2], wantErr: grant.ErrAlgorithm},
		{name: "HS256 with public key as secret", token: hs256, wantErr: grant.ErrAlgorithm, errMsg: `alg is "HS256"`},
		{name: "RS256", token: rs256, wantErr: grant.ErrAlgorithm, errMsg: `alg is "RS256"`},
		{name: "typ JWS", token: signRaw(t, f.orch.PrivateKey(), map[string]any{"alg": "EdDSA", "typ": "JWS"}, rawClaims(func(map[string]any) {})), wantErr: grant.ErrMalformed, errMsg: `typ is "JWS"`},
		{name: "crit header", token: signRaw(t, f.orch.PrivateKey(), map[string]any{"alg": "EdDSA", "crit": []string{"b64"}, "b64": false}, rawClaims(func(map[string]any) {})), wantErr: grant.ErrMalformed, errMsg: "crit"},
		{name: "header not an object", token: b64([]byte(`"EdDSA"`)) + "." + parts[1] + "." + parts[2], wantErr: grant.ErrMalformed},
		{name: "unknown issuer", token: strangerTok, wantErr: grant.ErrUnknownIssuer, errMsg: f.stranger.ID},
		{name: "media node as issuer", token: mediaTok, wantErr: grant.ErrUnknownIssuer},
		{name: "jailed issuer", token: jailedTok, wantErr: grant.ErrIssuerNotActive, errMsg: f.jailed.ID},
		{name: "iss missing", token: signRaw(t, f.orch.PrivateKey(), edHeader, rawClaims(func(m map[string]any) { delete(m, "iss") })), wantErr: grant.ErrInvalidClaims, errMsg: "iss is missing"},
		{name: "room missing", token: signRaw(t, f.orch.PrivateKey(), edHeader, rawClaims(func(m map[string]any) { delete(m, "room") })), wantErr: grant.ErrInvalidClaims, errMsg: "room is missing"},
		{name: "role unknown", token: signRaw(t, f.orch.PrivateKey(), edHeader, rawClaims(func(m map[string]any) { m["role"] = "root" })), wantErr: grant.ErrInvalidClaims, errMsg: `unknown role "root"`},
		{name: "sub missing", token: signRaw(t, f.orch.PrivateKey(), edHeader, rawClaims(func(m map[string]any) { delete(m, "sub") })), wantErr: grant.ErrInvalidClaims, errMsg: "sub is missing"},
		{name: "jti missing", token: signRaw(t, f.orch.PrivateKey(), edHeader, rawClaims(func(m map[string]any) { delete(m, "jti") })), wantErr: grant.ErrInvalidClaims, errMsg: "jti is missing"},

		// Domain separation (DESIGN.md §1): chain and grant type.
		{name: "wrong chain", token: with(func(c *grant.Claims) { c.ChainID = "chroom-1" }), wantErr: grant.ErrWrongChain,
			errMsg: `chain_id is "chroom-1", this node serves "chroom-test-1"`},
		{name: "chain differs in case", token: with(func(c *grant.Claims) { c.ChainID = "Chroom-Test-1" }), wantErr: grant.ErrWrongChain},
		{name: "chain missing", token: signRaw(t, f.orch.PrivateKey(), edHeader, rawClaims(func(m map[string]any) { delete(m, "chain_id") })), wantErr: grant.ErrInvalidClaims, errMsg: "chain_id is missing"},
		{name: "chain empty", token: signRaw(t, f.orch.PrivateKey(), edHeader, rawClaims(func(m map[string]any) { m["chain_id"] = "" })), wantErr: grant.ErrInvalidClaims, errMsg: "chain_id is missing"},
		{name: "chain not a string", token: signRaw(t, f.orch.PrivateKey(), edHeader, rawClaims(func(m map[string]any) { m["chain_id"] = 1 })), wantErr: grant.ErrMalformed},
		{name: "wrong type", token: signRaw(t, f.orch.PrivateKey(), edHeader, rawClaims(func(m map[string]any) { m["gty"] = "chroom/relay-grant/v1" })), wantErr: grant.ErrWrongType,
			errMsg: `gty is "chroom/relay-grant/v1", want "chroom/join-grant/v1"`},
		{name: "type of another version", token: signRaw(t, f.orch.PrivateKey(), edHeader, rawClaims(func(m map[string]any) { m["gty"] = "chroom/join-grant/v2" })), wantErr: grant.ErrWrongType},
		{name: "type missing", token: signRaw(t, f.orch.PrivateKey(), edHeader, rawClaims(func(m map[string]any) { delete(m, "gty") })), wantErr: grant.ErrInvalidClaims, errMsg: "gty is missing"},
		{name: "wrong chain and expired", token: with(func(c *grant.Claims) {
			c.ChainID = "chroom-1"
			c.NotBefore = jwt.NewNumericDate(now.Add(-time.Hour))
			c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute))
		}), wantErr: grant.ErrWrongChain},

		// Maximum lifetime (maxLifetime, 2 h, in the fixture).
		{name: "lifetime too long", token: with(func(c *grant.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(3 * time.Hour)) }), wantErr: grant.ErrLifetimeTooLong,
			errMsg: "the grant lives 3h1m0s (iat 2026-03-01T11:59:00Z to exp 2026-03-01T15:00:00Z), longer than this node's maximum of 2h0m0s"},
		{name: "lifetime one second too long", token: with(func(c *grant.Claims) { c.ExpiresAt = jwt.NewNumericDate(c.IssuedAt.Add(maxLifetime + time.Second)) }), wantErr: grant.ErrLifetimeTooLong,
			errMsg: "2h0m1s"},
		{name: "iat missing", token: signRaw(t, f.orch.PrivateKey(), edHeader, rawClaims(func(m map[string]any) { delete(m, "iat") })), wantErr: grant.ErrInvalidClaims,
			errMsg: "iat is missing; this node needs it to enforce its maximum grant lifetime of 2h0m0s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.verifier.Verify(tc.token)
			if tc.wantErr == nil {
				require.NoError(t, err)
				require.Equal(t, "standup", got.Room)
				return
			}
			t.Log(err)
			require.ErrorIs(t, err, tc.wantErr, "error: %v", err)
			require.ErrorContains(t, err, tc.errMsg)
			require.Nil(t, got)
		})
	}
}

func TestVerifierConfig(t *testing.T) {
	f := newFixture(t)
	tok := f.issue(t, f.claims())
	tests := []struct {
		name   string
		v      *grant.Verifier
		errMsg string
	}{
		{name: "nil verifier", v: nil, errMsg: "no audience"},
		{name: "no audience", v: &grant.Verifier{Issuers: f.verifier.Issuers}, errMsg: "no audience"},
		{name: "no chain ID", v: &grant.Verifier{Audience: f.media.ID, Issuers: f.verifier.Issuers}, errMsg: "no chain ID"},
		{name: "no issuers", v: &grant.Verifier{Audience: f.media.ID, ChainID: chainID}, errMsg: "no issuer registry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.v.Verify(tok)
			require.ErrorContains(t, err, tc.errMsg)
		})
	}

	t.Run("negative leeway is none", func(t *testing.T) {
		v := *f.verifier
		v.Leeway = -1
		c := f.claims()
		c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Second))
		_, err := v.Verify(f.issue(t, c))
		require.ErrorIs(t, err, grant.ErrExpired)
	})
	t.Run("no maximum lifetime", func(t *testing.T) {
		v := *f.verifier
		v.MaxLifetime = 0
		c := f.claims()
		c.ExpiresAt = jwt.NewNumericDate(now.Add(30 * 24 * time.Hour))
		_, err := v.Verify(f.issue(t, c))
		require.NoError(t, err, "MaxLifetime 0 sets no limit")

		_, payload, _ := segments(t, f.issue(t, f.claims()))
		var m map[string]any
		require.NoError(t, json.Unmarshal(payload, &m))
		delete(m, "iat")
		_, err = v.Verify(signRaw(t, f.orch.PrivateKey(), edHeader, m))
		require.NoError(t, err, "without a maximum lifetime iat is optional")
	})
	t.Run("wide leeway", func(t *testing.T) {
		v := *f.verifier
		v.Leeway = 2 * time.Minute
		c := f.claims()
		c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute))
		c.NotBefore = jwt.NewNumericDate(now.Add(-time.Hour))
		_, err := v.Verify(f.issue(t, c))
		require.NoError(t, err)
	})
}

func TestAllow(t *testing.T) {
	f := newFixture(t)
	actions := []grant.Action{grant.ActionSubscribe, grant.ActionPublish, grant.ActionPublishData, grant.ActionPublishScreen, grant.ActionAdmin}
	tests := []struct {
		role    grant.Role
		allowed []grant.Action
	}{
		{role: grant.RoleViewer, allowed: []grant.Action{grant.ActionSubscribe}},
		{role: grant.RoleParticipant, allowed: []grant.Action{grant.ActionSubscribe, grant.ActionPublish, grant.ActionPublishData}},
		{role: grant.RolePresenter, allowed: []grant.Action{grant.ActionSubscribe, grant.ActionPublish, grant.ActionPublishData, grant.ActionPublishScreen}},
		{role: grant.RoleHost, allowed: actions},
	}
	for _, tc := range tests {
		c := f.claims()
		c.Role = tc.role
		c.Permissions = grant.DefaultPermissions(tc.role)
		got, err := f.verifier.Verify(f.issue(t, c))
		require.NoError(t, err)
		for _, a := range actions {
			t.Run(fmt.Sprintf("%s/%s", tc.role, a), func(t *testing.T) {
				err := got.Allow("standup", a)
				if slices.Contains(tc.allowed, a) {
					require.NoError(t, err)
					return
				}
				require.ErrorIs(t, err, grant.ErrNotPermitted)
				require.ErrorContains(t, err, fmt.Sprintf("%s is not allowed for %q (role %s)", a, "alice@example.com", tc.role))
			})
		}
		t.Run(fmt.Sprintf("%s/wrong room", tc.role), func(t *testing.T) {
			err := got.Allow("boardroom", grant.ActionSubscribe)
			require.ErrorIs(t, err, grant.ErrWrongRoom)
			require.ErrorContains(t, err, `grant names room "standup", not "boardroom"`)
		})
	}

	t.Run("screen share needs can_publish too", func(t *testing.T) {
		c := &grant.Claims{Room: "r", Permissions: grant.Permissions{CanPublishScreen: true}}
		require.ErrorIs(t, c.Allow("r", grant.ActionPublishScreen), grant.ErrNotPermitted)
	})
	t.Run("unknown action", func(t *testing.T) {
		c := &grant.Claims{Room: "r", Permissions: grant.DefaultPermissions(grant.RoleHost)}
		require.ErrorIs(t, c.Allow("r", "teleport"), grant.ErrNotPermitted)
	})
	t.Run("nil claims", func(t *testing.T) {
		var c *grant.Claims
		require.ErrorIs(t, c.Allow("r", grant.ActionSubscribe), grant.ErrNotPermitted)
	})
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		in      string
		want    grant.Role
		wantErr bool
	}{
		{in: "host", want: grant.RoleHost},
		{in: "presenter", want: grant.RolePresenter},
		{in: "participant", want: grant.RoleParticipant},
		{in: "viewer", want: grant.RoleViewer},
		{in: "", wantErr: true},
		{in: "Host", wantErr: true},
		{in: "admin", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := grant.ParseRole(tc.in)
			if tc.wantErr {
				require.ErrorContains(t, err, "unknown role")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	require.Equal(t, grant.Permissions{}, grant.DefaultPermissions("root"))
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	require.NoError(tb, err)
	return b
}

// sentinels are the errors every Verify failure must wrap (with a
// configured verifier).
var sentinels = []error{
	grant.ErrMalformed, grant.ErrAlgorithm, grant.ErrBadSignature, grant.ErrExpired,
	grant.ErrNotYetValid, grant.ErrWrongAudience, grant.ErrUnknownIssuer,
	grant.ErrIssuerNotActive, grant.ErrInvalidClaims, grant.ErrWrongChain, grant.ErrWrongType,
	grant.ErrLifetimeTooLong,
}

func wrapsSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

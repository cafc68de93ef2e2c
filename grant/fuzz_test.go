package grant_test

import (
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chroom/chroom/grant"
)

// FuzzVerify checks that Verify never panics, that every failure wraps one
// of the package's sentinel errors, and that a token that verifies has a
// room, a valid role, the verifier's chain, the join type and a lifetime
// within the verifier's maximum.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	valid := fx.issue(f, fx.claims())
	parts := strings.Split(valid, ".")
	hs256, err := jwt.NewWithClaims(jwt.SigningMethodHS256, fx.claims()).SignedString([]byte(fx.orch.PublicKey))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		valid,
		"",
		"a.b.c",
		"..",
		valid[:len(valid)/2],
		parts[0] + "." + parts[1] + ".",
		b64([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".",
		b64([]byte(`{"alg":"EdDSA","crit":["exp"]}`)) + "." + parts[1] + "." + parts[2],
		parts[0] + "." + b64([]byte(`{"exp":1e300,"nbf":-1e300,"aud":[],"room":null}`)) + "." + parts[2],
		parts[0] + "." + b64([]byte(`null`)) + "." + parts[2],
		parts[0] + "." + b64([]byte(`{"chain_id":"chroom-test-1","gty":"chroom/join-grant/v1","iat":1e300,"exp":-1e300}`)) + "." + parts[2],
		hs256,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := fx.verifier.Verify(token)
		if err != nil {
			if c != nil {
				t.Fatalf("Verify returned claims with error %v", err)
			}
			if !wrapsSentinel(err) {
				t.Fatalf("error %q wraps no sentinel", err)
			}
			return
		}
		if c.Room == "" || !c.Role.Valid() {
			t.Fatalf("verified grant has room %q role %q", c.Room, c.Role)
		}
		if c.ChainID != chainID || c.Type != grant.TypeJoin {
			t.Fatalf("verified grant has chain_id %q gty %q", c.ChainID, c.Type)
		}
		if c.IssuedAt == nil || c.ExpiresAt.Sub(c.IssuedAt.Time) > maxLifetime {
			t.Fatalf("verified grant has iat %v exp %v, over the maximum lifetime %s", c.IssuedAt, c.ExpiresAt, maxLifetime)
		}
	})
}

// This file adapts ed25519consensus.BatchVerifier (github.com/hdevalence/
// ed25519consensus, batch.go; BSD-3-Clause, © 2009 The Go Authors,
// © 2020 Henry de Valence) with one change: terms of the same public key
// are coalesced, as ed25519-zebra's batch verifier does. A receipt batch
// repeats two keys (its media node's and its orchestrator's) over every
// receipt, so the multiscalar multiplication has one A term per distinct
// key instead of one per signature, and each key is decompressed once.

package keeper

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"

	"filippo.io/edwards25519"
)

// batchVerifier checks many Ed25519 signatures at once under the ZIP-215
// rules (the same acceptance as ed25519consensus.Verify): for random
// 128-bit z_i it checks the cofactored equation
//
//	[8]( [−Σ z_i s_i]B + Σ [z_i]R_i + Σ_keys [Σ_{i: A_i = A} z_i k_i]A ) = 0
//
// where k_i = SHA-512(R_i ‖ A_i ‖ M_i) mod ℓ. Coalescing the A terms of
// one key is exact: Σ [z_i k_i]A = [Σ z_i k_i]A. Verify returns false if
// any signature is invalid (or, with probability 2⁻¹²⁸, spuriously for a
// batch with an invalid one, never for an all-valid batch); the caller
// then verifies one by one to find the bad ones.
type batchVerifier struct {
	entries []batchEntry
	keys    map[[ed25519.PublicKeySize]byte]int // key → index into keyList
	keyList [][ed25519.PublicKeySize]byte
}

type batchEntry struct {
	good      bool
	key       int // index into keyList
	signature [ed25519.SignatureSize]byte
	digest    [64]byte
}

func newBatchVerifier(size int) *batchVerifier {
	return &batchVerifier{entries: make([]batchEntry, 0, size), keys: map[[ed25519.PublicKeySize]byte]int{}}
}

// Add adds a (public key, message, signature) triple; it keeps no
// reference to its arguments.
func (v *batchVerifier) Add(publicKey, message, sig []byte) {
	v.entries = append(v.entries, batchEntry{})
	e := &v.entries[len(v.entries)-1]
	if len(publicKey) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return
	}
	h := sha512.New()
	h.Write(sig[:32])
	h.Write(publicKey)
	h.Write(message)
	h.Sum(e.digest[:0])
	var pk [ed25519.PublicKeySize]byte
	copy(pk[:], publicKey)
	idx, ok := v.keys[pk]
	if !ok {
		idx = len(v.keyList)
		v.keys[pk] = idx
		v.keyList = append(v.keyList, pk)
	}
	e.key = idx
	copy(e.signature[:], sig)
	e.good = true
}

// Verify reports whether every entry is a valid signature. An empty batch
// is not valid.
func (v *batchVerifier) Verify() bool {
	n, nk := len(v.entries), len(v.keyList)
	if n == 0 {
		return false
	}
	svals := make([]edwards25519.Scalar, 1+n+nk)
	scalars := make([]*edwards25519.Scalar, 1+n+nk)
	for i := range scalars {
		scalars[i] = &svals[i]
	}
	pvals := make([]edwards25519.Point, 1+n+nk)
	points := make([]*edwards25519.Point, 1+n+nk)
	for i := range points {
		points[i] = &pvals[i]
	}
	Bcoeff, Rcoeffs, Acoeffs := scalars[0], scalars[1:1+n], scalars[1+n:]
	B, Rs, As := points[0], points[1:1+n], points[1+n:]
	B.Set(edwards25519.NewGeneratorPoint())
	for j, pk := range v.keyList {
		if _, err := As[j].SetBytes(pk[:]); err != nil {
			return false
		}
	}
	buf := make([]byte, 32)
	var k, zk edwards25519.Scalar
	for i := range v.entries {
		e := &v.entries[i]
		if !e.good {
			return false
		}
		if _, err := Rs[i].SetBytes(e.signature[:32]); err != nil {
			return false
		}
		if _, err := rand.Read(buf[:16]); err != nil {
			return false
		}
		if _, err := Rcoeffs[i].SetCanonicalBytes(buf); err != nil {
			return false
		}
		s, err := new(edwards25519.Scalar).SetCanonicalBytes(e.signature[32:])
		if err != nil {
			return false
		}
		Bcoeff.MultiplyAdd(Rcoeffs[i], s, Bcoeff)
		if _, err := k.SetUniformBytes(e.digest[:]); err != nil {
			return false
		}
		zk.Multiply(Rcoeffs[i], &k)
		Acoeffs[e.key].Add(Acoeffs[e.key], &zk)
	}
	Bcoeff.Negate(Bcoeff)
	check := new(edwards25519.Point).VarTimeMultiScalarMult(scalars, points)
	check.MultByCofactor(check)
	return check.Equal(edwards25519.NewIdentityPoint()) == 1
}

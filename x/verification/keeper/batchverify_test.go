package keeper

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"math/rand"
	"testing"

	"github.com/hdevalence/ed25519consensus"
	"github.com/stretchr/testify/require"
)

// TestBatchVerifierZIP215 checks the coalescing batch verifier accepts
// exactly what ed25519consensus accepts on the ZIP-215 vectors (small-order
// and non-canonical encodings): each alone, and all 196 in one batch,
// where many share a key and are coalesced.
func TestBatchVerifierZIP215(t *testing.T) {
	all := newBatchVerifier(len(zip215Cases))
	for i, c := range zip215Cases {
		vk, _ := hex.DecodeString(c[0])
		sig, _ := hex.DecodeString(c[1])
		require.True(t, ed25519consensus.Verify(vk, []byte("Zcash"), sig), "vector %d", i)
		one := newBatchVerifier(1)
		one.Add(vk, []byte("Zcash"), sig)
		require.True(t, one.Verify(), "vector %d alone", i)
		all.Add(vk, []byte("Zcash"), sig)
	}
	require.Less(t, len(all.keyList), len(zip215Cases), "the vectors repeat keys, so terms are coalesced")
	require.True(t, all.Verify(), "all 196 vectors in one batch")
}

// TestBatchVerifierAgrees builds random batches of signatures by a few
// keys (as receipt batches are: two node keys repeated, one client key per
// receipt) and checks the coalescing verifier agrees with
// ed25519consensus's batch verifier: all valid → true; one signature,
// message or key wrong → false.
func TestBatchVerifierAgrees(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	keys := make([]ed25519.PrivateKey, 5)
	for i := range keys {
		seed := make([]byte, 32)
		rng.Read(seed)
		keys[i] = ed25519.NewKeyFromSeed(seed)
	}
	type triple struct{ pub, msg, sig []byte }
	build := func(n int) []triple {
		out := make([]triple, n)
		for i := range out {
			k := keys[rng.Intn(len(keys))]
			msg := fmt.Appendf(nil, "receipt %d", rng.Int())
			out[i] = triple{k.Public().(ed25519.PublicKey), msg, ed25519.Sign(k, msg)}
		}
		return out
	}
	verify := func(ts []triple) (ours, theirs bool) {
		a, b := newBatchVerifier(len(ts)), ed25519consensus.NewPreallocatedBatchVerifier(len(ts))
		for _, x := range ts {
			a.Add(x.pub, x.msg, x.sig)
			b.Add(x.pub, x.msg, x.sig)
		}
		return a.Verify(), b.Verify()
	}
	for round := 0; round < 50; round++ {
		ts := build(1 + rng.Intn(40))
		ours, theirs := verify(ts)
		require.True(t, ours && theirs, "round %d: all valid", round)

		bad := rng.Intn(len(ts))
		for _, mutate := range []func(x *triple){
			func(x *triple) { x.sig = append([]byte(nil), x.sig...); x.sig[rng.Intn(64)] ^= 1 << rng.Intn(8) },
			func(x *triple) { x.msg = append(append([]byte(nil), x.msg...), '!') },
			func(x *triple) { x.pub = keys[(rng.Intn(len(keys)))].Public().(ed25519.PublicKey) },
		} {
			cp := append([]triple(nil), ts...)
			mutate(&cp[bad])
			if ed25519.Verify(cp[bad].pub, cp[bad].msg, cp[bad].sig) {
				continue // the mutation happened to leave it valid (same key drawn)
			}
			ours, theirs := verify(cp)
			require.False(t, ours, "round %d: a bad signature fails the batch", round)
			require.Equal(t, theirs, ours, "round %d: agrees with ed25519consensus", round)
		}
	}
	require.False(t, newBatchVerifier(0).Verify(), "an empty batch is not valid")
	short := newBatchVerifier(1)
	short.Add(make([]byte, 31), []byte("m"), make([]byte, 64))
	require.False(t, short.Verify(), "a 31-byte key fails")
}

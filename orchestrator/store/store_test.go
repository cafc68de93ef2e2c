package store_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/orchestrator/session"
	"github.com/chroom/chroom/orchestrator/store"
	"github.com/chroom/chroom/receipts"
	"github.com/chroom/chroom/testutil/sample"
)

const chainID = "chroom-test-1"

func keys(t *testing.T) (media, orch *format.NodeKey) {
	t.Helper()
	m, err := format.GenerateNodeKey(nil)
	require.NoError(t, err)
	o, err := format.GenerateNodeKey(nil)
	require.NoError(t, err)
	return m, o
}

func countersigned(t *testing.T, media, orch *format.NodeKey, n int) (*format.SignedReceipt, []byte) {
	t.Helper()
	rc := sample.Receipt(media, orch, 7, n)
	s, err := format.SignReceipt(media, chainID, rc)
	require.NoError(t, err)
	require.NoError(t, format.Countersign(orch, chainID, s))
	h, err := s.Receipt.Hash()
	require.NoError(t, err)
	return s, h
}

func open(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

func TestEnqueueQueuesWithItsIndexEntry(t *testing.T) {
	media, orch := keys(t)
	st := open(t, filepath.Join(t.TempDir(), "o.db"))
	r, h := countersigned(t, media, orch, 1)

	out, err := st.Enqueue(r, h)
	require.NoError(t, err)
	require.Equal(t, store.Queued, out)
	got, err := st.Countersigned(store.IndexKey(r.Receipt))
	require.NoError(t, err)
	require.Equal(t, h, got)

	out, err = st.Enqueue(r, h)
	require.NoError(t, err)
	require.Equal(t, store.Duplicate, out)

	other := *r.Receipt
	other.BytesOut++
	conflicting := &format.SignedReceipt{Receipt: &other, MediaNodeSignature: r.MediaNodeSignature}
	oh, err := other.Hash()
	require.NoError(t, err)
	out, err = st.Enqueue(conflicting, oh)
	require.NoError(t, err)
	require.Equal(t, store.Conflict, out)

	n, err := st.Len()
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the first is queued")
}

// A receipt the store cannot queue leaves no index entry behind (one
// transaction), so the media node's resend is queued later.
func TestEnqueueIsAtomic(t *testing.T) {
	media, orch := keys(t)
	st := open(t, filepath.Join(t.TempDir(), "o.db"))
	r, h := countersigned(t, media, orch, 1)
	bad := &format.SignedReceipt{Receipt: r.Receipt, MediaNodeSignature: []byte("short")}
	_, err := st.Enqueue(bad, h)
	require.Error(t, err)
	got, err := st.Countersigned(store.IndexKey(r.Receipt))
	require.NoError(t, err)
	require.Nil(t, got)
	out, err := st.Enqueue(r, h)
	require.NoError(t, err)
	require.Equal(t, store.Queued, out)
}

func TestIncludedRemovesReceiptsWithTheRecord(t *testing.T) {
	media, orch := keys(t)
	path := filepath.Join(t.TempDir(), "o.db")
	st := open(t, path)
	for n := 1; n <= 3; n++ {
		r, h := countersigned(t, media, orch, n)
		_, err := st.Enqueue(r, h)
		require.NoError(t, err)
	}
	pending, err := st.Pending(0)
	require.NoError(t, err)
	rec := store.InFlight{Hash: "ABC", TimeoutHeight: 9, IDs: []uint64{pending[0].ID, pending[1].ID}, Tx: []byte{1}}
	require.NoError(t, st.PutInFlight(rec))
	pending, err = st.Pending(0)
	require.NoError(t, err)
	require.Equal(t, 1, pending[0].Attempts, "the attempt is counted with the record")

	require.NoError(t, st.ClearInFlight("OTHER"), "another tx's hash leaves the record")
	_, ok, err := st.InFlight()
	require.NoError(t, err)
	require.True(t, ok)

	require.NoError(t, st.Included("ABC", rec.IDs))
	_, ok, err = st.InFlight()
	require.NoError(t, err)
	require.False(t, ok)
	n, err := st.Len()
	require.NoError(t, err)
	require.Equal(t, 1, n)

	// On disk, too.
	require.NoError(t, st.Close())
	st2 := open(t, path)
	n, err = st2.Len()
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestSessionsAndBansSurviveAndExpire(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.db")
	st := open(t, path)
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	live := session.Record{JTI: "live", Room: "r", Identity: "app:a", ExpiresAt: now.Add(time.Hour)}
	stale := session.Record{JTI: "stale", Room: "r", Identity: "app:b", ExpiresAt: now.Add(-2 * time.Hour)}
	require.NoError(t, st.PutSession(live))
	require.NoError(t, st.PutSession(stale))
	require.NoError(t, st.PutBan(session.Ban{Room: "r", Key: "id:app:m", Until: now.Add(time.Hour)}))
	require.NoError(t, st.PutBan(session.Ban{Room: "r", Key: "id:app:m", Until: now.Add(time.Minute)}), "an earlier end does not shorten it")
	require.NoError(t, st.PutBan(session.Ban{Room: "r", Key: "ip:192.0.2.1", Until: now.Add(-time.Second)}))
	require.NoError(t, st.Close())

	st = open(t, path)
	recs, bans, dropped, err := st.Load(now, time.Hour)
	require.NoError(t, err)
	require.Equal(t, []session.Record{live}, recs)
	require.Equal(t, []session.Ban{{Room: "r", Key: "id:app:m", Until: now.Add(time.Hour)}}, bans)
	require.Equal(t, 2, dropped)
	n, err := st.Prune(now, time.Hour)
	require.NoError(t, err)
	require.Zero(t, n, "deleted by Load already")
}

// Files of the version with three files are merged into the one database
// the first time it opens: queued receipts, the tx in flight, the index
// and session records all carry over.
func TestOpenMergesEarlierFiles(t *testing.T) {
	media, orch := keys(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "orchestrator-queue.db")
	q, err := receipts.Open(path)
	require.NoError(t, err)
	r, h := countersigned(t, media, orch, 1)
	_, err = q.Put(r)
	require.NoError(t, err)
	require.NoError(t, q.Close())
	writeOld := func(file string, buckets map[string]map[string][]byte) {
		db, err := bolt.Open(file, 0o600, nil)
		require.NoError(t, err)
		require.NoError(t, db.Update(func(tx *bolt.Tx) error {
			for name, kv := range buckets {
				b, err := tx.CreateBucketIfNotExists([]byte(name))
				require.NoError(t, err)
				for k, v := range kv {
					require.NoError(t, b.Put([]byte(k), v))
				}
			}
			return nil
		}))
		require.NoError(t, db.Close())
	}
	writeOld(path+".journal", map[string]map[string][]byte{
		"inflight/v1":      {"current": []byte(`{"hash":"ABC","timeout_height":5,"ids":[1]}`)},
		"countersigned/v1": {string(store.IndexKey(r.Receipt)): h},
	})
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	writeOld(path+".sessions", map[string]map[string][]byte{
		"sessions/v1": {"jti1": []byte(`{"JTI":"jti1","Room":"r","Identity":"app:a","ExpiresAt":"` + expires.Format(time.RFC3339) + `"}`)},
	})

	st := open(t, path)
	n, err := st.Len()
	require.NoError(t, err)
	require.Equal(t, 1, n)
	rec, ok, err := st.InFlight()
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []uint64{1}, rec.IDs)
	got, err := st.Countersigned(store.IndexKey(r.Receipt))
	require.NoError(t, err)
	require.Equal(t, h, got)
	recs, _, _, err := st.Load(time.Now(), time.Hour)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, "jti1", recs[0].JTI)
	for _, old := range []string{path + ".journal", path + ".sessions"} {
		_, err := os.Stat(old)
		require.ErrorIs(t, err, os.ErrNotExist)
		_, err = os.Stat(old + ".merged")
		require.NoError(t, err)
	}
}

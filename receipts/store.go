package receipts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/chroom/chroom/format"
)

// LockTimeout is how long Open waits for the store file's exclusive lock
// before it gives up with ErrInUse.
const LockTimeout = time.Second

var (
	// ErrInUse is returned by Open when another process (or another Store
	// in this process) holds the file.
	ErrInUse = errors.New("already in use by another process")
	// ErrClosed is returned by every method of a Store after Close.
	ErrClosed = errors.New("receipt store is closed")
)

var (
	// queueBucket maps idKey(id) to an encoded entry. Its bucket sequence
	// is the last id handed out; bbolt persists it with the bucket and it
	// never goes back, even when the bucket is empty.
	queueBucket = []byte("queue/v1")
	// corruptBucket keeps values that failed to decode, under their
	// original key, for an operator to inspect; they are out of the queue.
	corruptBucket = []byte("corrupt/v1")
)

// Store is a durable on-disk queue of signed receipts: a bbolt file that
// one process at a time may open. It is safe for concurrent use.
type Store struct {
	db *bolt.DB

	// n is the number of entries in the queue bucket. Writers are
	// serialized by bbolt, and each applies its change after its commit.
	n      atomic.Int64
	closed atomic.Bool

	mu          sync.Mutex // guards corrupt and lastCorrupt
	corrupt     uint64
	lastCorrupt error
}

// Open opens or creates the store file at path (mode 0600; a missing
// parent directory is created with mode 0700). It waits up to LockTimeout
// for the file's exclusive lock and then fails with an error wrapping
// ErrInUse, naming the path. A file that is not a bbolt database is an
// error.
func Open(path string) (*Store, error) { return OpenWith(path) }

// OpenWith is Open that also creates the named buckets (if missing), for a
// caller keeping its own records in the same file (see Update). The
// bucket names must not be the store's own: "queue/v1", "events/v1",
// "corrupt/v1", "open/v1".
func OpenWith(path string, buckets ...string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open receipt store: create directory: %w", err)
	}
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)

	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: LockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open receipt store %s: %w (file lock not acquired within %s)", path, ErrInUse, LockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("open receipt store %s: %w", path, err)
	}
	if created {
		// Make the new file's directory entry durable too, so that a
		// receipt fsynced into it cannot vanish with the file in a crash.
		if err := syncDir(filepath.Dir(path)); err != nil {
			db.Close()
			return nil, fmt.Errorf("open receipt store %s: %w", path, err)
		}
	}
	s := &Store{db: db}
	err = db.Update(func(tx *bolt.Tx) error {
		q, err := tx.CreateBucketIfNotExists(queueBucket)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(eventsBucket); err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(corruptBucket); err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(openBucket); err != nil {
			return err
		}
		for _, b := range buckets {
			if b == string(queueBucket) || b == string(eventsBucket) || b == string(corruptBucket) || b == string(openBucket) {
				return fmt.Errorf("bucket %q is the receipt store's own", b)
			}
			if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
				return fmt.Errorf("create bucket %q: %w", b, err)
			}
		}
		s.n.Store(int64(q.Stats().KeyN))
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open receipt store %s: %w", path, err)
	}
	return s, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

// Close closes the file and releases its lock, waiting for running
// operations. Closing twice is not an error.
func (s *Store) Close() error {
	s.closed.Store(true)
	return s.db.Close()
}

// Put stores r and returns its id. The receipt is on disk (fsynced) when
// Put returns without error; ids are strictly increasing and never reused,
// also across restarts. r must carry a receipt that passes ValidateBasic
// and a 64-byte media node signature; r is encoded before Put returns and
// may be reused afterwards.
func (s *Store) Put(r *format.SignedReceipt) (id uint64, err error) {
	err = s.Update(func(tx *Tx) error {
		id, err = tx.Put(r)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("put receipt: %w", err)
	}
	return id, nil
}

// entryValue encodes r's queue entry.
func entryValue(r *format.SignedReceipt) ([]byte, error) {
	payload, err := r.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return encodeEntry(time.Now(), 0, payload), nil
}

// put appends value to the queue inside tx; the in-memory length follows
// when tx commits.
func (s *Store) put(tx *bolt.Tx, value []byte) (uint64, error) {
	q := tx.Bucket(queueBucket)
	// Keys only ever grow, so pages split at the end can be packed.
	q.FillPercent = 0.9
	id, err := q.NextSequence()
	if err != nil {
		return 0, err
	}
	if err := q.Put(idKey(id), value); err != nil {
		return 0, err
	}
	tx.OnCommit(func() { s.n.Add(1) })
	return id, nil
}

// Update runs fn in one read-write transaction of the store's file, for a
// caller that keeps buckets of its own beside the queue (declared with
// OpenWith) and must change them and the queue atomically: fn receives a
// Tx whose Put and Ack join the same transaction. Everything fn did is on
// disk (fsynced) when Update returns nil; if fn returns an error nothing
// of it is.
func (s *Store) Update(fn func(tx *Tx) error) error {
	err := s.db.Update(func(btx *bolt.Tx) error { return fn(&Tx{Tx: btx, s: s}) })
	return s.mapErr(err)
}

// View runs fn in one read-only transaction of the store's file.
func (s *Store) View(fn func(tx *bolt.Tx) error) error {
	return s.mapErr(s.db.View(fn))
}

// Tx is a read-write transaction of Store.Update: the bbolt transaction,
// for the caller's own buckets, and the queue's operations inside it.
type Tx struct {
	*bolt.Tx
	s *Store
}

// Put queues r in this transaction, with Store.Put's checks, and returns
// its id.
func (t *Tx) Put(r *format.SignedReceipt) (uint64, error) {
	if r == nil {
		return 0, errors.New("signed receipt is nil")
	}
	if err := r.Receipt.ValidateBasic(); err != nil {
		return 0, err
	}
	if len(r.MediaNodeSignature) != format.SignatureBytes {
		return 0, fmt.Errorf("media node signature must be %d bytes, got %d", format.SignatureBytes, len(r.MediaNodeSignature))
	}
	value, err := entryValue(r)
	if err != nil {
		return 0, err
	}
	return t.s.put(t.Tx, value)
}

// MarkAttempt adds one to the Attempts of each queued id in this
// transaction, as Store.MarkAttempt does.
func (t *Tx) MarkAttempt(ids ...uint64) error { return t.s.markAttempt(t.Tx, ids) }

// Ack removes ids from the queue in this transaction (unknown ids are
// ignored, as in Store.Ack).
func (t *Tx) Ack(ids ...uint64) error { return t.s.ack(t.Tx, ids) }

// Pending returns up to limit queued entries, oldest (lowest id) first;
// limit ≤ 0 means all of them. A value that cannot be decoded is skipped,
// moved out of the queue into a quarantine bucket of the same file, and
// reported by Corrupted; it never fails the call.
func (s *Store) Pending(limit int) ([]Entry, error) {
	var (
		out []Entry
		bad [][]byte
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(queueBucket).Cursor()
		for k, v := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			e, err := decodeEntry(k, v)
			if err != nil {
				bad = append(bad, append([]byte(nil), k...))
				continue
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read pending receipts: %w", s.mapErr(err))
	}
	if len(bad) > 0 {
		s.quarantine(bad)
	}
	return out, nil
}

// quarantine moves the values under keys that still fail to decode from
// the queue into corruptBucket, and counts them.
func (s *Store) quarantine(keys [][]byte) {
	var (
		moved   int
		lastErr error
	)
	err := s.db.Update(func(tx *bolt.Tx) error {
		moved, lastErr = 0, nil
		q, cb := tx.Bucket(queueBucket), tx.Bucket(corruptBucket)
		for _, k := range keys {
			v := q.Get(k)
			if v == nil {
				continue // acked meanwhile, or a nested bucket
			}
			_, derr := decodeEntry(k, v)
			if derr == nil {
				continue
			}
			if err := moveAside(q, cb, k, v); err != nil {
				return err
			}
			moved++
			lastErr = derr
		}
		return nil
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.lastCorrupt = fmt.Errorf("move corrupt receipt entries aside: %w", s.mapErr(err))
		return
	}
	s.n.Add(-int64(moved))
	s.corrupt += uint64(moved)
	if lastErr != nil {
		s.lastCorrupt = lastErr
	}
}

func moveAside(q, cb *bolt.Bucket, k, v []byte) error {
	if err := cb.Put(append([]byte(nil), k...), append([]byte(nil), v...)); err != nil {
		return err
	}
	return q.Delete(k)
}

// Corrupted reports how many stored values were found undecodable and
// moved out of the queue since Open, and the last such error (or the last
// failure to move one aside). It is meant for a counter metric and a log
// line; the bad values stay in the file's "corrupt/v1" bucket.
func (s *Store) Corrupted() (count uint64, last error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.corrupt, s.lastCorrupt
}

// MarkAttempt adds one to the Attempts of each queued id, durably. Ids not
// in the queue (acked meanwhile, or never issued) are ignored. A value
// found corrupt is moved aside as in Pending.
func (s *Store) MarkAttempt(ids ...uint64) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error { return s.markAttempt(tx, ids) })
	if err != nil {
		return fmt.Errorf("mark receipt attempts: %w", s.mapErr(err))
	}
	return nil
}

func (s *Store) markAttempt(tx *bolt.Tx, ids []uint64) error {
	var (
		moved   int
		lastErr error
	)
	q, cb := tx.Bucket(queueBucket), tx.Bucket(corruptBucket)
	for _, id := range ids {
		k := idKey(id)
		v := q.Get(k)
		if v == nil {
			continue
		}
		if derr := checkValue(v); derr != nil {
			if err := moveAside(q, cb, k, v); err != nil {
				return err
			}
			moved++
			lastErr = fmt.Errorf("entry %d: %w", id, derr)
			continue
		}
		if err := q.Put(k, withAttempt(v)); err != nil {
			return err
		}
	}
	if moved > 0 {
		tx.OnCommit(func() {
			s.n.Add(-int64(moved))
			s.mu.Lock()
			s.corrupt += uint64(moved)
			s.lastCorrupt = lastErr
			s.mu.Unlock()
		})
	}
	return nil
}

// Ack removes the given ids from the queue, durably (fsynced before it
// returns). Unknown or already acked ids are not an error, so Ack is
// idempotent.
func (s *Store) Ack(ids ...uint64) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error { return s.ack(tx, ids) })
	if err != nil {
		return fmt.Errorf("ack receipts: %w", s.mapErr(err))
	}
	return nil
}

func (s *Store) ack(tx *bolt.Tx, ids []uint64) error {
	q := tx.Bucket(queueBucket)
	removed := 0
	for _, id := range ids {
		k := idKey(id)
		if q.Get(k) == nil {
			continue
		}
		if err := q.Delete(k); err != nil {
			return err
		}
		removed++
	}
	tx.OnCommit(func() { s.n.Add(-int64(removed)) })
	return nil
}

// Len returns the number of receipts in the queue (the queue-depth
// metric). It reads a counter kept in memory and costs no I/O.
func (s *Store) Len() (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	return int(s.n.Load()), nil
}

func (s *Store) mapErr(err error) error {
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

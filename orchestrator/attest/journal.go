package attest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/chroom/chroom/format"
)

// JournalLockTimeout is how long OpenJournal waits for the file's lock.
const JournalLockTimeout = time.Second

var (
	// inflightBucket holds at most one value, under inflightKey: the tx
	// being submitted (InFlight, JSON).
	inflightBucket = []byte("inflight/v1")
	inflightKey    = []byte("current")
	// countersignedBucket maps indexKey(receipt) → SHA-256 of the receipt
	// (format.UsageReceipt.Hash) for every receipt this orchestrator
	// countersigned, so it never countersigns two different receipts for
	// one (epoch, media node, session) and never queues one twice.
	countersignedBucket = []byte("countersigned/v1")
)

// Journal is the pipeline's own bbolt file, beside the receipt queue: the
// tx in flight and the index of countersigned receipts. One process at a
// time may open it; it is safe for concurrent use.
type Journal struct {
	db *bolt.DB
}

// InFlight is the MsgSubmitReceipts tx the pipeline is submitting,
// recorded (fsynced) before it is first broadcast.
type InFlight struct {
	// Hash is the tx hash (SHA-256 of Tx, uppercase hex).
	Hash string `json:"hash"`
	// TimeoutHeight is the last height that may include the tx.
	TimeoutHeight int64 `json:"timeout_height"`
	// IDs are the queue IDs of its receipts, in message order.
	IDs []uint64 `json:"ids"`
	// Tx is the signed tx, so it can be broadcast again unchanged.
	Tx []byte `json:"tx"`
	// Broadcasts counts send attempts, incremented before each.
	Broadcasts int `json:"broadcasts"`
	// CreatedAt is when it was recorded.
	CreatedAt time.Time `json:"created_at"`
}

// OpenJournal opens or creates the journal file at path (mode 0600, parent
// directories 0700). It fails after JournalLockTimeout if another process
// holds the file.
func OpenJournal(path string) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open attestation journal: create directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: JournalLockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open attestation journal %s: in use by another process (lock not acquired within %s)", path, JournalLockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("open attestation journal %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{inflightBucket, countersignedBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open attestation journal %s: %w", path, err)
	}
	return &Journal{db: db}, nil
}

// Close closes the file.
func (j *Journal) Close() error { return j.db.Close() }

// InFlight returns the recorded tx in flight, if any.
func (j *Journal) InFlight() (InFlight, bool, error) {
	var (
		rec InFlight
		ok  bool
	)
	err := j.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(inflightBucket).Get(inflightKey)
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &rec)
	})
	if err != nil {
		return InFlight{}, false, fmt.Errorf("read tx in flight: %w", err)
	}
	return rec, ok, nil
}

// putInFlight records rec durably, replacing any previous record.
func (j *Journal) putInFlight(rec InFlight) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := j.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(inflightBucket).Put(inflightKey, v)
	}); err != nil {
		return fmt.Errorf("record tx in flight %s: %w", rec.Hash, err)
	}
	return nil
}

// clearInFlight removes the record of the tx hash (no-op if the record is
// another tx's or absent).
func (j *Journal) clearInFlight(hash string) error {
	err := j.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(inflightBucket)
		v := b.Get(inflightKey)
		if v == nil {
			return nil
		}
		var rec InFlight
		if err := json.Unmarshal(v, &rec); err == nil && rec.Hash != hash {
			return nil
		}
		return b.Delete(inflightKey)
	})
	if err != nil {
		return fmt.Errorf("clear tx in flight %s: %w", hash, err)
	}
	return nil
}

// indexKeyLen is 8 (epoch) + node ID + session ID.
const indexKeyLen = 8 + format.NodeIDLength + format.SessionIDBytes

// indexKey is the countersigned index key of r: the epoch (big-endian, so
// old epochs sort first and are pruned from the front), the media node ID
// and the session ID — the chain's replay key.
func indexKey(r *format.UsageReceipt) []byte {
	k := make([]byte, 0, indexKeyLen)
	k = binary.BigEndian.AppendUint64(k, uint64(r.Epoch))
	k = append(k, r.MediaNodeId...)
	return append(k, r.SessionId...)
}

// countersigned returns the hash recorded for key, or nil.
func (j *Journal) countersigned(key []byte) ([]byte, error) {
	var out []byte
	err := j.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(countersignedBucket).Get(key); v != nil {
			out = bytes.Clone(v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read countersigned index: %w", err)
	}
	return out, nil
}

// recordCountersigned durably maps each key to its hash.
func (j *Journal) recordCountersigned(keys, hashes [][]byte) error {
	err := j.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(countersignedBucket)
		for i := range keys {
			if err := b.Put(keys[i], hashes[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write countersigned index: %w", err)
	}
	return nil
}

// pruneCountersigned deletes up to limit index entries of epochs ≤
// through, oldest first, and returns how many it deleted.
func (j *Journal) pruneCountersigned(through int64, limit int) (int, error) {
	if through <= 0 {
		return 0, nil
	}
	var n int
	err := j.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(countersignedBucket)
		var doomed [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil && len(doomed) < limit; k, _ = c.Next() {
			if len(k) < 8 || int64(binary.BigEndian.Uint64(k[:8])) > through {
				break
			}
			doomed = append(doomed, bytes.Clone(k))
		}
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(doomed)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune countersigned index: %w", err)
	}
	return n, nil
}

// Package store is the orchestrator's one embedded database: a single
// bbolt file (config receipts.queue) holding, in buckets,
//
//	queue/v1          countersigned receipts waiting for the chain
//	                  (package receipts' queue, same encoding)
//	inflight/v1       the MsgSubmitReceipts tx being submitted, if any
//	countersigned/v1  (epoch, media node, session) → receipt hash, for every
//	                  receipt this orchestrator countersigned
//	sessions/v1       session records (grant ID → session.Record, JSON)
//	bans/v1           bans (room, key → session.Ban, JSON)
//	rooms/v1          room options apps set (name → session.RoomOptions, JSON)
//
// Every state change is one bbolt transaction, fsynced before the method
// returns: a receipt is queued together with its index entry, and the
// receipts a tx carried leave the queue together with the tx's record, so
// no crash leaves the parts disagreeing and there is nothing to undo.
// One process at a time may open the file.
package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/orchestrator/session"
	"github.com/chroom/chroom/receipts"
)

var (
	inflightBucket      = []byte("inflight/v1")
	inflightKey         = []byte("current")
	countersignedBucket = []byte("countersigned/v1")
	sessionsBucket      = []byte("sessions/v1")
	bansBucket          = []byte("bans/v1")
	roomsBucket         = []byte("rooms/v1")
)

// Store is the orchestrator's database. The embedded receipts.Store gives
// the queue's reads (Pending, Len, MarkAttempt, Corrupted) and Close.
type Store struct {
	*receipts.Store
}

// Open opens or creates the database at path (mode 0600, parent
// directories 0700), waiting up to receipts.LockTimeout for its lock.
// Files of earlier versions beside it (path+".journal", path+".sessions")
// are merged into it once and renamed to *.merged.
func Open(path string) (*Store, error) {
	q, err := receipts.OpenWith(path, string(inflightBucket), string(countersignedBucket), string(sessionsBucket), string(bansBucket), string(roomsBucket))
	if err != nil {
		return nil, err
	}
	s := &Store{Store: q}
	for _, old := range []string{path + ".journal", path + ".sessions"} {
		if err := s.merge(old); err != nil {
			q.Close()
			return nil, fmt.Errorf("open %s: merge %s: %w", path, old, err)
		}
	}
	return s, nil
}

// merge copies the buckets of an earlier version's separate file into the
// database (one transaction), then renames the file aside.
func (s *Store) merge(path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	old, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: receipts.LockTimeout, ReadOnly: true})
	if err != nil {
		return err
	}
	err = old.View(func(otx *bolt.Tx) error {
		return s.Update(func(tx *receipts.Tx) error {
			for _, name := range [][]byte{inflightBucket, countersignedBucket, sessionsBucket} {
				ob := otx.Bucket(name)
				if ob == nil {
					continue
				}
				nb := tx.Bucket(name)
				if err := ob.ForEach(func(k, v []byte) error { return nb.Put(bytes.Clone(k), bytes.Clone(v)) }); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if cerr := old.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(path, path+".merged")
}

// IndexKeyLen is 8 (epoch) + node ID + session ID.
const IndexKeyLen = 8 + format.NodeIDLength + format.SessionIDBytes

// IndexKey is the countersigned index key of r: the epoch (big-endian, so
// old epochs sort first and are pruned from the front), the media node ID
// and the session ID — the chain's replay key.
func IndexKey(r *format.UsageReceipt) []byte {
	k := make([]byte, 0, IndexKeyLen)
	k = binary.BigEndian.AppendUint64(k, uint64(r.Epoch))
	k = append(k, r.MediaNodeId...)
	return append(k, r.SessionId...)
}

// Countersigned returns the receipt hash recorded under key, or nil.
func (s *Store) Countersigned(key []byte) ([]byte, error) {
	var out []byte
	err := s.View(func(tx *bolt.Tx) error {
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

// Outcome is what Enqueue did.
type Outcome int

// Outcomes of Enqueue.
const (
	// Queued: the receipt and its index entry were written.
	Queued Outcome = iota
	// Duplicate: the same receipt (same hash) was queued before; nothing
	// was written.
	Duplicate
	// Conflict: a different receipt for the same key was countersigned
	// before; nothing was written.
	Conflict
)

// Enqueue queues the countersigned receipt r and records hash (its
// format.UsageReceipt.Hash) under IndexKey(r.Receipt), in one
// transaction, unless the key already has a hash (Duplicate or Conflict).
func (s *Store) Enqueue(r *format.SignedReceipt, hash []byte) (Outcome, error) {
	key := IndexKey(r.Receipt)
	out := Queued
	err := s.Update(func(tx *receipts.Tx) error {
		idx := tx.Bucket(countersignedBucket)
		if prev := idx.Get(key); prev != nil {
			out = Conflict
			if bytes.Equal(prev, hash) {
				out = Duplicate
			}
			return nil
		}
		if _, err := tx.Put(r); err != nil {
			return err
		}
		return idx.Put(key, hash)
	})
	if err != nil {
		return 0, fmt.Errorf("queue receipt: %w", err)
	}
	return out, nil
}

// PruneCountersigned deletes up to limit index entries of epochs ≤
// through, oldest first, and returns how many it deleted.
func (s *Store) PruneCountersigned(through int64, limit int) (int, error) {
	if through <= 0 {
		return 0, nil
	}
	var n int
	err := s.Update(func(tx *receipts.Tx) error {
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

// InFlight is the MsgSubmitReceipts tx being submitted, recorded (fsynced)
// before it is first broadcast.
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

// InFlight returns the recorded tx in flight, if any.
func (s *Store) InFlight() (InFlight, bool, error) {
	var (
		rec InFlight
		ok  bool
	)
	err := s.View(func(tx *bolt.Tx) error {
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

// PutInFlight records rec, replacing any previous record, and adds one to
// the attempt count of its receipts, in one transaction.
func (s *Store) PutInFlight(rec InFlight) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := s.Update(func(tx *receipts.Tx) error {
		if err := tx.MarkAttempt(rec.IDs...); err != nil {
			return err
		}
		return tx.Bucket(inflightBucket).Put(inflightKey, v)
	}); err != nil {
		return fmt.Errorf("record tx in flight %s: %w", rec.Hash, err)
	}
	return nil
}

// ClearInFlight removes the record of tx hash (a no-op if the record is
// another tx's or absent); its receipts stay queued for a new tx.
func (s *Store) ClearInFlight(hash string) error {
	if err := s.Update(func(tx *receipts.Tx) error { return clearInFlight(tx, hash) }); err != nil {
		return fmt.Errorf("clear tx in flight %s: %w", hash, err)
	}
	return nil
}

func clearInFlight(tx *receipts.Tx, hash string) error {
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
}

// Included removes the receipts of the tx hash, which the chain included,
// from the queue together with the tx's record, in one transaction.
func (s *Store) Included(hash string, ids []uint64) error {
	if err := s.Update(func(tx *receipts.Tx) error {
		if err := tx.Ack(ids...); err != nil {
			return err
		}
		return clearInFlight(tx, hash)
	}); err != nil {
		return fmt.Errorf("acknowledge tx %s: %w", hash, err)
	}
	return nil
}

// PutSession stores a session record (session.Store).
func (s *Store) PutSession(rec session.Record) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.Update(func(tx *receipts.Tx) error { return tx.Bucket(sessionsBucket).Put([]byte(rec.JTI), v) })
}

// PutBan stores a ban (session.Store), keeping the later end if the room
// and key are banned already.
func (s *Store) PutBan(b session.Ban) error {
	v, err := json.Marshal(b)
	if err != nil {
		return err
	}
	key := banKey(b.Room, b.Key)
	return s.Update(func(tx *receipts.Tx) error {
		bk := tx.Bucket(bansBucket)
		var prev session.Ban
		if old := bk.Get(key); old != nil && json.Unmarshal(old, &prev) == nil && !b.Until.After(prev.Until) {
			return nil
		}
		return bk.Put(key, v)
	})
}

// PutRoom stores a room's options (session.RoomStore).
func (s *Store) PutRoom(o session.RoomOptions) error {
	v, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return s.Update(func(tx *receipts.Tx) error { return tx.Bucket(roomsBucket).Put([]byte(o.Name), v) })
}

// DeleteRoom deletes a room's options (session.RoomStore).
func (s *Store) DeleteRoom(name string) error {
	return s.Update(func(tx *receipts.Tx) error { return tx.Bucket(roomsBucket).Delete([]byte(name)) })
}

// LoadRooms returns the stored room options; values that do not decode
// are deleted and counted in dropped.
func (s *Store) LoadRooms() (rooms []session.RoomOptions, dropped int, err error) {
	err = s.Update(func(tx *receipts.Tx) error {
		rooms, dropped = nil, 0
		b := tx.Bucket(roomsBucket)
		var bad [][]byte
		if err := b.ForEach(func(k, v []byte) error {
			var o session.RoomOptions
			if json.Unmarshal(v, &o) != nil || o.Name != string(k) {
				bad = append(bad, append([]byte(nil), k...))
				return nil
			}
			rooms = append(rooms, o)
			return nil
		}); err != nil {
			return err
		}
		for _, k := range bad {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		dropped = len(bad)
		return nil
	})
	return rooms, dropped, err
}

func banKey(room, key string) []byte {
	k := make([]byte, 0, 4+len(room)+len(key))
	k = binary.BigEndian.AppendUint32(k, uint32(len(room)))
	k = append(k, room...)
	return append(k, key...)
}

// Load returns the stored session records and bans, after deleting
// records whose grants expired more than keep before now, bans that ended
// before now, and values that do not decode; dropped counts the deleted
// records and bans.
func (s *Store) Load(now time.Time, keep time.Duration) (records []session.Record, bans []session.Ban, dropped int, err error) {
	return s.scan(now, keep)
}

// Prune deletes what Load would and returns how many records and bans it
// deleted.
func (s *Store) Prune(now time.Time, keep time.Duration) (int, error) {
	_, _, n, err := s.scan(now, keep)
	return n, err
}

func (s *Store) scan(now time.Time, keep time.Duration) (records []session.Record, bans []session.Ban, dropped int, err error) {
	err = s.Update(func(tx *receipts.Tx) error {
		records, bans, dropped = nil, nil, 0
		var stale [][]byte
		sb := tx.Bucket(sessionsBucket)
		if err := sb.ForEach(func(k, v []byte) error {
			var rec session.Record
			if json.Unmarshal(v, &rec) != nil || now.Sub(rec.ExpiresAt) > keep {
				stale = append(stale, bytes.Clone(k))
				return nil
			}
			records = append(records, rec)
			return nil
		}); err != nil {
			return err
		}
		for _, k := range stale {
			if err := sb.Delete(k); err != nil {
				return err
			}
		}
		dropped += len(stale)
		stale = stale[:0]
		bb := tx.Bucket(bansBucket)
		if err := bb.ForEach(func(k, v []byte) error {
			var b session.Ban
			if json.Unmarshal(v, &b) != nil || !b.Until.After(now) {
				stale = append(stale, bytes.Clone(k))
				return nil
			}
			bans = append(bans, b)
			return nil
		}); err != nil {
			return err
		}
		for _, k := range stale {
			if err := bb.Delete(k); err != nil {
				return err
			}
		}
		dropped += len(stale)
		return nil
	})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("load session records: %w", err)
	}
	return records, bans, dropped, nil
}

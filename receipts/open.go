package receipts

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/chroom/chroom/format"
)

// openBucket keeps the open segment of each session in progress (an
// unsigned receipt so far, by session ID): what a crash would otherwise
// lose (Store.SaveOpen, Store.RecoverOpen).
var openBucket = []byte("open/v1")

// SaveOpen records rs, the open segments of sessions in progress as
// Meter.Peek returns them, each replacing its session's earlier record, in
// one fsynced transaction. A media node calls it every few seconds, so a
// crash loses at most that much of each session (RecoverOpen).
func (s *Store) SaveOpen(rs []format.UsageReceipt) error {
	if len(rs) == 0 {
		return nil
	}
	return s.mapErr(s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(openBucket)
		for i := range rs {
			if len(rs[i].SessionId) == 0 {
				return fmt.Errorf("open segment %d has no session ID", i)
			}
			v, err := rs[i].Marshal()
			if err != nil {
				return fmt.Errorf("encode open segment: %w", err)
			}
			if err := b.Put(rs[i].SessionId, v); err != nil {
				return err
			}
		}
		return nil
	}))
}

// DropOpen forgets the open-segment record of session sessionID (its
// segment was cut and queued, or the session ended). Unknown IDs are
// ignored.
func (s *Store) DropOpen(sessionID []byte) error {
	return s.mapErr(s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(openBucket).Delete(sessionID) }))
}

// OpenCount returns how many open-segment records the store keeps.
func (s *Store) OpenCount() (int, error) {
	n := 0
	err := s.View(func(tx *bolt.Tx) error { n = tx.Bucket(openBucket).Stats().KeyN; return nil })
	return n, err
}

// RecoverOpen turns the open-segment records a crash left behind (their
// sessions are gone with the process) into receipts: each record is
// passed to prepare (the caller's own checks; false drops it, e.g. a
// segment with no traffic), signed with key for chainID, queued, and
// forgotten, in one transaction per record, so each is queued exactly once
// even if RecoverOpen itself is interrupted. A record that cannot be
// decoded or signed is moved to the "corrupt/v1" bucket. Call it at start,
// before any session exists. It returns how many receipts it queued and
// how many records it set aside.
func (s *Store) RecoverOpen(key *format.NodeKey, chainID string, prepare func(format.UsageReceipt) (format.UsageReceipt, bool)) (queued, bad int, err error) {
	var keys [][]byte
	if err := s.View(func(tx *bolt.Tx) error {
		return tx.Bucket(openBucket).ForEach(func(k, _ []byte) error {
			keys = append(keys, append([]byte(nil), k...))
			return nil
		})
	}); err != nil {
		return 0, 0, err
	}
	for _, k := range keys {
		err := s.Update(func(tx *Tx) error {
			b := tx.Bucket(openBucket)
			v := b.Get(k)
			if v == nil {
				return nil
			}
			var r format.UsageReceipt
			if uerr := r.Unmarshal(v); uerr != nil {
				bad++
				return moveAsideOpen(tx.Tx, k, v)
			}
			if prepare != nil {
				var keep bool
				if r, keep = prepare(r); !keep {
					return b.Delete(k)
				}
			}
			signed, serr := format.SignReceipt(key, chainID, r)
			if serr != nil {
				bad++
				return moveAsideOpen(tx.Tx, k, v)
			}
			if _, err := tx.Put(signed); err != nil {
				return err
			}
			queued++
			return b.Delete(k)
		})
		if err != nil {
			return queued, bad, fmt.Errorf("recover open segments: %w", err)
		}
	}
	return queued, bad, nil
}

// moveAsideOpen moves an open-segment record that cannot become a receipt
// into the corrupt bucket (key prefixed "open/").
func moveAsideOpen(tx *bolt.Tx, k, v []byte) error {
	if err := tx.Bucket(corruptBucket).Put(append([]byte("open/"), k...), append([]byte(nil), v...)); err != nil {
		return err
	}
	return tx.Bucket(openBucket).Delete(k)
}

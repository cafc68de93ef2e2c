package receipts

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// eventsBucket holds session events waiting for their orchestrator, in
// the same file as the receipts: key = 8-byte big-endian id, value =
// len(orchestrator) (1 byte) || orchestrator ID || event bytes.
var eventsBucket = []byte("events/v1")

// MaxEventBytes bounds one stored event.
const MaxEventBytes = 4096

// Event is a queued session event: opaque bytes (an encoded
// rpcpb.SessionEvent) bound for one orchestrator.
type Event struct {
	ID           uint64
	Orchestrator string
	Data         []byte
}

// PutEvent queues data for orchestrator, durably (fsynced before it
// returns), and returns its id; ids strictly increase. Errors: empty or
// over-long orchestrator ID, data over MaxEventBytes, a closed store.
func (s *Store) PutEvent(orchestrator string, data []byte) (id uint64, err error) {
	if orchestrator == "" || len(orchestrator) > 255 {
		return 0, errors.New("put event: the orchestrator ID must be 1-255 bytes")
	}
	if len(data) > MaxEventBytes {
		return 0, fmt.Errorf("put event: %d bytes, at most %d", len(data), MaxEventBytes)
	}
	value := make([]byte, 0, 1+len(orchestrator)+len(data))
	value = append(value, byte(len(orchestrator)))
	value = append(value, orchestrator...)
	value = append(value, data...)
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(eventsBucket)
		b.FillPercent = 0.9
		next, err := b.NextSequence()
		if err != nil {
			return err
		}
		id = next
		return b.Put(idKey(id), value)
	})
	if err != nil {
		return 0, fmt.Errorf("put event: %w", s.mapErr(err))
	}
	return id, nil
}

// PendingEvents returns up to limit queued events, oldest first (limit ≤
// 0: all). A malformed value is skipped (and removed by AckEvents of its
// id, which it is returned with, with Orchestrator empty).
func (s *Store) PendingEvents(limit int) ([]Event, error) {
	var out []Event
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(eventsBucket).Cursor()
		for k, v := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			e := Event{ID: binary.BigEndian.Uint64(k)}
			if len(v) > 0 && int(v[0])+1 <= len(v) {
				n := int(v[0])
				e.Orchestrator = string(v[1 : 1+n])
				e.Data = append([]byte(nil), v[1+n:]...)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pending events: %w", s.mapErr(err))
	}
	return out, nil
}

// AckEvents removes events, durably; unknown ids are not an error.
func (s *Store) AckEvents(ids ...uint64) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(eventsBucket)
		for _, id := range ids {
			if err := b.Delete(idKey(id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ack events: %w", s.mapErr(err))
	}
	return nil
}

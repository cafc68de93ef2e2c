package node

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/chroom/chroom/orchestrator/api"
)

var sessionsBucket = []byte("sessions/v1")

// sessionStore keeps the API's session records (one per join grant) on
// disk, fsynced, so receipt checks survive a restart.
type sessionStore struct{ db *bolt.DB }

func openSessions(path string) (*sessionStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open session store %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(sessionsBucket); return err }); err != nil {
		db.Close()
		return nil, err
	}
	return &sessionStore{db: db}, nil
}

func (s *sessionStore) save(sess api.Session) error {
	v, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(sessionsBucket).Put([]byte(sess.JTI), v) })
}

// load returns every stored session and deletes those expired for over a
// day.
func (s *sessionStore) load() ([]api.Session, error) {
	var out []api.Session
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(sessionsBucket)
		var stale [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var sess api.Session
			if json.Unmarshal(v, &sess) != nil || time.Since(sess.ExpiresAt) > 24*time.Hour {
				stale = append(stale, append([]byte(nil), k...))
				return nil
			}
			out = append(out, sess)
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range stale {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

func (s *sessionStore) close() error { return s.db.Close() }

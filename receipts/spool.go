package receipts

import (
	"errors"
	"fmt"
	"sync"

	"github.com/chroom/chroom/format"
)

// DefaultSpoolMax is how many receipts a Spool holds in memory by default
// (about 250 bytes each: ≈ 25 MB at most).
const DefaultSpoolMax = 100_000

// ErrSpoolFull: the Spool already holds Max receipts; the one given was
// not kept.
var ErrSpoolFull = errors.New("receipts held in memory reached the limit")

// Spool is a Signer that does not drop a receipt it could not write: a
// full disk or a failing file system delays receipts instead of losing
// them. A receipt the store refuses to write is held in memory, in order,
// and written by the next Emit or Retry once the store accepts writes
// again. Held receipts are not durable (a crash loses them, as it loses a
// session's open segment); Held says how many wait. A malformed receipt is
// refused at once and never held.
type Spool struct {
	Signer *Signer
	// Max is how many receipts may be held (DefaultSpoolMax if 0).
	Max int

	mu      sync.Mutex
	held    []*format.SignedReceipt
	lastErr error
}

// Emit signs r and writes it (as Signer.Emit). If signing fails (a
// malformed receipt, another node's, a bad chain ID) nothing is held. If
// the write fails, the signed receipt is held and Emit returns held = true
// with the store's error — or ErrSpoolFull if the Spool is full (r is
// lost). Receipts held earlier are written first.
func (s *Spool) Emit(r format.UsageReceipt) (held bool, err error) {
	signed, err := s.Signer.sign(r)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.held) > 0 {
		if _, err := s.retryLocked(); err != nil {
			return s.holdLocked(signed, err)
		}
	}
	if _, err := s.Signer.Store.Put(signed); err != nil {
		return s.holdLocked(signed, err)
	}
	return false, nil
}

func (s *Spool) holdLocked(r *format.SignedReceipt, cause error) (bool, error) {
	s.lastErr = cause
	max := s.Max
	if max <= 0 {
		max = DefaultSpoolMax
	}
	if len(s.held) >= max {
		return false, fmt.Errorf("%w (%d): %v", ErrSpoolFull, max, cause)
	}
	s.held = append(s.held, r)
	return true, cause
}

// Retry writes the held receipts, oldest first, until the store refuses
// one. It returns how many it wrote, how many are still held and the
// store's error if it stopped early.
func (s *Spool) Retry() (written, left int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	written, err = s.retryLocked()
	return written, len(s.held), err
}

func (s *Spool) retryLocked() (int, error) {
	n := 0
	for len(s.held) > 0 {
		if _, err := s.Signer.Store.Put(s.held[0]); err != nil {
			s.lastErr = err
			return n, err
		}
		s.held[0] = nil
		s.held = s.held[1:]
		n++
	}
	s.held = nil
	return n, nil
}

// Held returns how many receipts wait in memory and the last write error.
func (s *Spool) Held() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held), s.lastErr
}

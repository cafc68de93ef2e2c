package receipts

import (
	"errors"
	"fmt"

	"github.com/chroom/chroom/format"
)

// Signer signs this media node's usage receipts and queues them durably.
type Signer struct {
	// Key is the media node's node key; its ID must be each receipt's
	// media_node_id.
	Key *format.NodeKey
	// ChainID is the chain the signatures are bound to (format.SignBytes).
	ChainID string
	// Store is where signed receipts wait for an orchestrator's
	// acknowledgement.
	Store *Store
}

// Emit signs r (format.SignReceipt) and writes it to the Store, fsynced,
// returning its store id. Only after Emit returns may the receipt be sent
// to an orchestrator (a sender reads it back with Store.Pending), so a
// receipt that anyone has seen is never lost in a crash. It fails, storing
// nothing, if r is malformed (UsageReceipt.ValidateBasic), Key is not r's
// media node, ChainID is invalid, or the write fails.
func (s *Signer) Emit(r format.UsageReceipt) (id uint64, err error) {
	signed, err := s.sign(r)
	if err != nil {
		return 0, err
	}
	id, err = s.Store.Put(signed)
	if err != nil {
		return 0, fmt.Errorf("emit receipt: %w", err)
	}
	return id, nil
}

// sign signs r for Emit and Spool.Emit; it fails if the Signer lacks a Key
// or a Store, r is malformed, Key is not r's media node or ChainID is
// invalid.
func (s *Signer) sign(r format.UsageReceipt) (*format.SignedReceipt, error) {
	if s == nil || s.Key == nil || s.Store == nil {
		return nil, errors.New("emit receipt: signer needs a Key and a Store")
	}
	signed, err := format.SignReceipt(s.Key, s.ChainID, r)
	if err != nil {
		return nil, fmt.Errorf("emit receipt: sign: %w", err)
	}
	return signed, nil
}

package session

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/chroom/chroom/format"
)

// Errors of Checker.Check: the attestation pipeline refuses the receipt.
var (
	// ErrUnknownSession: no record matches the receipt.
	ErrUnknownSession = errors.New("unknown session")
	// ErrOutOfTolerance: the receipt disagrees with the records beyond
	// the tolerance.
	ErrOutOfTolerance = errors.New("receipt out of tolerance")
)

// Tolerance bounds how far a receipt may differ from the orchestrator's
// own record of the session.
type Tolerance struct {
	// Clock is the slack on session start and end times.
	Clock time.Duration
	// ClientBytesFactor: a receipt's client-reported bytes may exceed the
	// bytes the clients reported to the orchestrator by this factor (the
	// two reports are taken at different moments). Below 1: 1.5.
	ClientBytesFactor float64
}

// Checker checks usage receipts against a Book: the orchestrator's side of
// the receipt check (DESIGN.md §3). It implements attest.SessionChecker.
type Checker struct {
	Book      *Book
	Tolerance Tolerance
}

// Check accepts r when some grant recorded for its room (by hash) and
// media node was valid during the receipt's interval, within the clock
// tolerance, and the client-reported bytes in r (if any) do not exceed
// what those grants' clients reported here by more than the tolerance
// (ClientBytesFactor × reported + 1 MiB). Errors wrap ErrUnknownSession or
// ErrOutOfTolerance.
func (c Checker) Check(r *format.UsageReceipt) error {
	tol := c.Tolerance
	if tol.ClientBytesFactor < 1 {
		tol.ClientBytesFactor = 1.5
	}
	start, end := time.UnixMilli(r.StartUnixMs), time.UnixMilli(r.EndUnixMs)
	var reported uint64
	matched := 0
	b := c.Book
	b.mu.Lock()
	for _, rm := range b.rooms {
		if !bytes.Equal(rm.hash, r.RoomHash) {
			continue
		}
		for _, s := range rm.members {
			if s.NodeID != r.MediaNodeId {
				continue
			}
			if !start.Before(s.IssuedAt.Add(-tol.Clock)) && !end.After(s.ExpiresAt.Add(tol.Clock)) {
				matched++
				reported += s.BytesReceived
			}
		}
	}
	b.mu.Unlock()
	if matched == 0 {
		return fmt.Errorf("%w: no grant of this orchestrator matches the receipt", ErrUnknownSession)
	}
	if r.ClientReport == nil {
		return nil
	}
	limit := uint64(float64(reported)*tol.ClientBytesFactor) + 1<<20
	if r.ClientReport.BytesReceived > limit {
		return fmt.Errorf("%w: the receipt says clients received %d bytes, they reported %d", ErrOutOfTolerance, r.ClientReport.BytesReceived, reported)
	}
	return nil
}

package api

import (
	"bytes"
	"fmt"
	"time"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/orchestrator/attest"
)

// Tolerance bounds how far a receipt may differ from the orchestrator's
// own record of the session.
type Tolerance struct {
	// Clock is the slack on session start and end times.
	Clock time.Duration
	// ClientBytesFactor: a receipt's client-reported bytes may exceed the
	// bytes the client reported to the orchestrator by this factor (the
	// two reports are taken at different moments).
	ClientBytesFactor float64
}

// Errors of CheckReceipt: the attestation pipeline's refusal reasons.
var (
	ErrUnknownSession = fmt.Errorf("%w: no grant of this orchestrator matches the receipt", attest.ErrUnknownSession)
	ErrOutOfTolerance = attest.ErrOutOfTolerance
)

// CheckReceipt implements the orchestrator's side of a receipt check
// (DESIGN.md §3): some grant this orchestrator issued for the receipt's
// room and media node must have been valid during the receipt's interval
// (within the clock tolerance), and the client-reported figures in the
// receipt may not exceed what the clients reported here by more than the
// tolerance.
func (s *Server) CheckReceipt(r *format.UsageReceipt, tol Tolerance) error {
	if tol.ClientBytesFactor < 1 {
		tol.ClientBytesFactor = 1.5
	}
	start, end := time.UnixMilli(r.StartUnixMs), time.UnixMilli(r.EndUnixMs)
	var matched []Session
	for _, name := range s.rooms.names() {
		if !bytes.Equal(format.RoomHash(name), r.RoomHash) {
			continue
		}
		for _, sess := range s.rooms.sessionsFor(name, r.MediaNodeId) {
			if !start.Before(sess.IssuedAt.Add(-tol.Clock)) && !end.After(sess.ExpiresAt.Add(tol.Clock)) {
				matched = append(matched, sess)
			}
		}
	}
	if len(matched) == 0 {
		return ErrUnknownSession
	}
	if r.ClientReport == nil {
		return nil
	}
	var reported uint64
	for _, m := range matched {
		reported += m.BytesReceived
	}
	limit := uint64(float64(reported)*tol.ClientBytesFactor) + 1<<20
	if r.ClientReport.BytesReceived > limit {
		return fmt.Errorf("%w: the receipt says clients received %d bytes, they reported %d", ErrOutOfTolerance, r.ClientReport.BytesReceived, reported)
	}
	return nil
}

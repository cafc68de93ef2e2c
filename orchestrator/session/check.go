package session

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/chroom/chroom/format"
)

// Errors of Checker.Check. ErrUnknownSession and ErrOutOfTolerance refuse
// the receipt; ErrNotObserved is transient (the media node sends the
// receipt again later).
var (
	// ErrUnknownSession: the receipt's session is no connection of a grant
	// this orchestrator issued for that room and media node.
	ErrUnknownSession = errors.New("unknown session")
	// ErrOutOfTolerance: the receipt claims more than the orchestrator
	// observed (times, duration, client bytes) beyond the tolerance.
	ErrOutOfTolerance = errors.New("receipt out of tolerance")
	// ErrProbeSession: the receipt is of a QoS probe's session (the
	// pipeline acknowledges it to the node and drops it).
	ErrProbeSession = errors.New("a QoS probe's session")
	// ErrNotObserved: the grant exists but its media node has not
	// reported the session's join yet (the event may still be on its way).
	ErrNotObserved = errors.New("session join not observed yet")
)

// MaxConnectionsPerGrant bounds the connection indexes the check tries
// (format.GrantSessionID): more reconnects than this with one grant earn
// nothing.
const MaxConnectionsPerGrant = 64

// Tolerance bounds how far a receipt may differ from the orchestrator's
// own record of the session.
type Tolerance struct {
	// Clock is the slack on session start and end times, and on the total
	// time credited to one grant.
	Clock time.Duration
	// ClientBytesFactor: a receipt's client-reported bytes may exceed the
	// bytes the client reported to the orchestrator by this factor (the
	// two reports are taken at different moments). Below 1: 1.5.
	ClientBytesFactor float64
}

// Checker checks usage receipts against a Book: the orchestrator's side of
// the receipt check (DESIGN.md §3). It implements attest.SessionChecker.
type Checker struct {
	Book      *Book
	Tolerance Tolerance
	// Key is the orchestrator's node key: it signs the grant binding of
	// an attested session's receipts (nil: receipts carry no attestation).
	Key *format.NodeKey
}

// Check accepts r, and credits its duration to its grant's record
// (persisted), when all of these hold (tol is the clock tolerance):
//
//   - r's session_id is format.GrantSessionID(r.orchestrator_id, jti, k)
//     of a grant jti recorded for r's room (by hash) and media node, for a
//     connection index k below the joins reported plus two (at most
//     MaxConnectionsPerGrant) — else ErrUnknownSession;
//   - the media node reported at least one join of that grant — else
//     ErrNotObserved (transient);
//   - r is not zero-length, and [start, end] lies within the grant's
//     validity, after its first join, and before its latest leave (or
//     now, while a connection is open), each ± tol;
//   - the time credited to the grant with r stays within the connected
//     time observed from its join and leave events, + tol, and, for an
//     attested session (the grant binds a client key), within the elapsed
//     time of the client's last signed usage statement, + tol;
//   - r's client-reported bytes, if any, are at most ClientBytesFactor ×
//     the bytes the grant's client reported here + 1 MiB;
//   - r's app_id is the app the grant bills (Record.BillApp).
//
// The last four refuse with ErrOutOfTolerance. A media node alone can
// therefore claim no session that no grant was issued for, and no more
// time than the node itself reported in session events. For an attested
// session with a statement, Check returns the attestation the receipt
// carries to the chain (the grant binding signed with c.Key and the
// client's last statement); otherwise nil.
func (c Checker) Check(r *format.UsageReceipt) (*format.ClientAttestation, error) {
	tol := c.Tolerance
	if tol.ClientBytesFactor < 1 {
		tol.ClientBytesFactor = 1.5
	}
	b := c.Book
	now := b.p.Clock()
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.findConnection(r)
	if s == nil {
		return nil, fmt.Errorf("%w: session %s is no connection of a grant this orchestrator issued for that room and media node", ErrUnknownSession, r.SessionIDHex())
	}
	if s.Probe {
		return nil, fmt.Errorf("%w: grant %s", ErrProbeSession, s.JTI)
	}
	if s.Joins == 0 {
		return nil, fmt.Errorf("%w: grant %s", ErrNotObserved, s.JTI)
	}
	start, end := time.UnixMilli(r.StartUnixMs), time.UnixMilli(r.EndUnixMs)
	durMs := r.EndUnixMs - r.StartUnixMs
	last := s.DisconnectedAt
	if !s.LiveSince.IsZero() || last.IsZero() {
		last = now
	}
	observedMs := s.ConnectedMs
	if !s.LiveSince.IsZero() && now.After(s.LiveSince) {
		observedMs += now.Sub(s.LiveSince).Milliseconds()
	}
	switch {
	case durMs <= 0:
		return nil, fmt.Errorf("%w: zero-length receipt", ErrOutOfTolerance)
	case start.Before(s.IssuedAt.Add(-tol.Clock)) || end.After(s.ExpiresAt.Add(tol.Clock)):
		return nil, fmt.Errorf("%w: the receipt's interval is outside grant %s's validity", ErrOutOfTolerance, s.JTI)
	case start.Before(s.ConnectedAt.Add(-tol.Clock)):
		return nil, fmt.Errorf("%w: the receipt starts %s before the session's first join", ErrOutOfTolerance, s.ConnectedAt.Sub(start).Round(time.Millisecond))
	case end.After(last.Add(tol.Clock)):
		return nil, fmt.Errorf("%w: the receipt ends %s after the session's last observed moment", ErrOutOfTolerance, end.Sub(last).Round(time.Millisecond))
	case s.CreditedMs+durMs > observedMs+tol.Clock.Milliseconds():
		return nil, fmt.Errorf("%w: grant %s would be credited %d ms, its media node reported %d ms connected (%d ms credited before)",
			ErrOutOfTolerance, s.JTI, s.CreditedMs+durMs, observedMs, s.CreditedMs)
	case len(s.ClientKey) > 0 && s.CreditedMs+durMs > s.ClientElapsedMs+tol.Clock.Milliseconds():
		return nil, fmt.Errorf("%w: grant %s would be credited %d ms, its client attested %d ms (%d ms credited before)",
			ErrOutOfTolerance, s.JTI, s.CreditedMs+durMs, s.ClientElapsedMs, s.CreditedMs)
	}
	if r.AppId != s.BillApp {
		return nil, fmt.Errorf("%w: the receipt bills app %q, grant %s bills %q", ErrOutOfTolerance, r.AppId, s.JTI, s.BillApp)
	}
	if r.ClientReport != nil {
		limit := uint64(float64(s.BytesReceived)*tol.ClientBytesFactor) + 1<<20
		if r.ClientReport.BytesReceived > limit {
			return nil, fmt.Errorf("%w: the receipt says the client received %d bytes, it reported %d", ErrOutOfTolerance, r.ClientReport.BytesReceived, s.BytesReceived)
		}
	}
	att, err := c.attestation(r, s)
	if err != nil {
		return nil, err
	}
	next := *s
	next.CreditedMs += durMs
	if err := b.save(next); err != nil {
		return nil, err
	}
	*s = next
	return att, nil
}

// attestation returns the client attestation for r of record s, or nil
// when the session is unattested or its client has sent no statement
// yet; b.mu held.
func (c Checker) attestation(r *format.UsageReceipt, s *Record) (*format.ClientAttestation, error) {
	if c.Key == nil || len(s.ClientKey) == 0 || s.Statement == nil {
		return nil, nil
	}
	conn := uint32(0)
	for ; conn < MaxConnectionsPerGrant; conn++ {
		if string(format.GrantSessionID(r.OrchestratorId, s.JTI, conn)) == string(r.SessionId) {
			break
		}
	}
	g := &format.GrantBinding{
		GrantId: s.JTI, OrchestratorId: c.Key.ID, MediaNodeId: s.NodeID, RoomHash: format.RoomHash(s.Room), AppId: s.BillApp,
		ClientKey: s.ClientKey, NotBeforeUnixMs: s.IssuedAt.Add(-GrantNotBeforeSkew).UnixMilli(), ExpiresUnixMs: s.ExpiresAt.UnixMilli(),
	}
	sig, err := format.SignGrantBinding(c.Key, c.Book.p.ChainID, g)
	if err != nil {
		return nil, fmt.Errorf("sign grant binding: %w", err)
	}
	return &format.ClientAttestation{Grant: g, GrantSignature: sig, Statement: s.Statement, StatementSignature: s.StatementSig, Connection: conn}, nil
}

// GrantNotBeforeSkew is how far before its issue time a grant is valid
// (its nbf), for clock skew between the orchestrator and media nodes.
const GrantNotBeforeSkew = 5 * time.Second

// findConnection returns the record whose grant r's session_id belongs
// to; b.mu held.
func (b *Book) findConnection(r *format.UsageReceipt) *Record {
	for _, rm := range b.rooms {
		if !bytes.Equal(rm.hash, r.RoomHash) {
			continue
		}
		for _, s := range rm.members {
			if s.NodeID != r.MediaNodeId {
				continue
			}
			for k := uint32(0); k < min(s.Joins+2, MaxConnectionsPerGrant); k++ {
				if bytes.Equal(format.GrantSessionID(r.OrchestratorId, s.JTI, k), r.SessionId) {
					return s
				}
			}
		}
	}
	return nil
}

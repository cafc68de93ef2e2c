// Package attest is the orchestrator's attestation pipeline (DESIGN.md §3;
// the receipt and the chain's checks are specified in
// x/verification/README.md):
//
//	Intake — a media node's signed receipts, received over Media Node RPC,
//	         are checked (shape, sender, orchestrator, epoch, the media
//	         node's registered key, the session record), countersigned with
//	         the orchestrator's node key and written to the durable queue
//	         before Intake returns, so the RPC acknowledges only what is on
//	         disk.
//	Run    — the submission loop batches queued receipts into one
//	         MsgSubmitReceipts per tx, retries with backoff until the chain
//	         includes it, and acknowledges (removes) them only then.
//
// Exactly once: a receipt is never sent to the chain in two different
// transactions. Before a tx is first broadcast, its hash, timeout height,
// signed bytes and the queue IDs it carries are recorded in the store
// (orchestrator/store, the orchestrator's one database). While that record exists no other tx
// is built: after a timeout, an error or a crash the pipeline first asks
// the chain for that hash — included: the IDs are acknowledged; not
// included yet: the same bytes are broadcast again (same hash, so at most
// one inclusion); expired (the chain is past the tx's timeout height and
// never included it): only then is the record dropped and a new tx built.
//
// The store also indexes every countersigned receipt by the chain's
// replay key (epoch, media node, session), written in the same
// transaction as the queue entry, so a receipt a media node sends twice
// (an acknowledgement lost in transit) is acknowledged without being
// queued again, and a different receipt for the same key is refused: an
// orchestrator that countersigns two conflicting receipts is slashable.
package attest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/orchestrator/chain"
	"github.com/chroom/chroom/orchestrator/session"
	"github.com/chroom/chroom/orchestrator/store"
)

const (
	// DefaultBatchSize is how many receipts one tx carries at most.
	DefaultBatchSize = 200
	// DefaultMaxBackoff caps the wait between failing submission rounds.
	DefaultMaxBackoff = time.Minute
	// DefaultInterval is Run's interval when it is given zero or less.
	DefaultInterval = 5 * time.Second
	// prunePerTick bounds the countersigned index entries deleted per Tick.
	prunePerTick = 10_000
)

var (
	// ErrUnknownSession is what a SessionChecker wraps when it has no
	// record of the receipt's session (or of its join on that node).
	ErrUnknownSession = session.ErrUnknownSession
	// ErrOutOfTolerance is what a SessionChecker wraps when the receipt
	// disagrees with its record (join/leave times, client stats) beyond
	// the tolerance.
	ErrOutOfTolerance = session.ErrOutOfTolerance
)

// InFlight is the tx being submitted, as recorded in the store.
type InFlight = store.InFlight

// SessionChecker checks a receipt against the orchestrator's own record of
// the session. A refusal wraps ErrUnknownSession or ErrOutOfTolerance; any
// other error is taken as transient (the receipt is neither accepted nor
// refused, and the media node sends it again later).
type SessionChecker interface {
	// Check returns the client attestation the receipt carries to the
	// chain (nil for an unattested session) or why it is refused.
	Check(r *format.UsageReceipt) (*format.ClientAttestation, error)
}

// Registry gives the registered key of a media node. An error wrapping
// chain.ErrNodeNotFound refuses the receipt; any other error (such as
// chain.ErrNotReady) is transient. *chain.View implements it.
type Registry interface {
	MediaNodeKey(id string) (ed25519.PublicKey, error)
}

// Chain submits txs of receipts. *chain.Submitter implements it.
type Chain interface {
	// Prepare signs a tx of receipts without sending it.
	Prepare(ctx context.Context, rs []format.SignedReceipt) (*chain.Tx, error)
	// Broadcast sends tx and waits for inclusion, with the errors of
	// chain.Submitter.Broadcast.
	Broadcast(ctx context.Context, tx *chain.Tx) (chain.Result, error)
	// TxResult looks a tx up by hash.
	TxResult(ctx context.Context, hash string) (chain.Result, bool, error)
	// LatestHeight is the chain's height, to tell when a tx has expired.
	LatestHeight(ctx context.Context) (int64, error)
}

// EpochSource gives the chain's current epoch (*chain.Client implements
// it).
type EpochSource interface {
	CurrentEpoch(ctx context.Context) (int64, error)
}

// Pipeline checks, countersigns, queues and submits usage receipts. Set
// the fields, then call Intake from the RPC handlers and Run once. Its
// methods are safe for concurrent use.
type Pipeline struct {
	// Key is the orchestrator's node key; receipts must name Key.ID.
	Key *format.NodeKey
	// ChainID is the chain the signatures are bound to.
	ChainID string
	// Registry gives media node keys.
	Registry Registry
	// Sessions checks receipts against the session records.
	Sessions SessionChecker
	// Store holds countersigned receipts until the chain includes them,
	// the index of what was countersigned and the tx in flight.
	Store *store.Store
	// Chain submits.
	Chain Chain
	// Epochs, if set, is read each Tick: receipts older than the previous
	// epoch are refused and the countersigned index is pruned to the
	// epochs the chain still accepts. Without it the index grows forever.
	Epochs EpochSource
	// BatchSize is the most receipts per tx (DefaultBatchSize).
	BatchSize int
	// MaxBackoff caps Run's wait after failures (DefaultMaxBackoff).
	MaxBackoff time.Duration
	// Metrics, if set, are updated.
	Metrics *Metrics
	// Log is the logger (slog.Default() if nil); the pipeline logs under
	// component=attest.
	Log *slog.Logger

	// mu serializes Intake and index pruning.
	mu      sync.Mutex
	initMu  sync.Mutex
	initted bool
	epoch   atomic.Int64 // last current epoch read from Epochs, 0 if unknown
	// submitMu keeps Tick single-flight.
	submitMu sync.Mutex
}

func (p *Pipeline) log() *slog.Logger {
	l := p.Log
	if l == nil {
		l = slog.Default()
	}
	return l.With("component", "attest")
}

func (p *Pipeline) batchSize() int {
	if p.BatchSize <= 0 {
		return DefaultBatchSize
	}
	return p.BatchSize
}

// init checks the configuration, once.
func (p *Pipeline) init() error {
	p.initMu.Lock()
	defer p.initMu.Unlock()
	if p.initted {
		return nil
	}
	switch {
	case p.Key == nil:
		return errors.New("attest: pipeline has no node key")
	case p.ChainID == "":
		return errors.New("attest: pipeline has no chain ID")
	case p.Registry == nil || p.Sessions == nil || p.Chain == nil:
		return errors.New("attest: pipeline needs a registry, a session checker and a chain")
	case p.Store == nil:
		return errors.New("attest: pipeline needs a store")
	}
	p.setDepth()
	p.initted = true
	return nil
}

func (p *Pipeline) setDepth() {
	if p.Metrics == nil {
		return
	}
	if n, err := p.Store.Len(); err == nil {
		p.Metrics.QueueDepth.Set(float64(n))
	}
}

func (p *Pipeline) count(result string) {
	if p.Metrics != nil {
		p.Metrics.Received.WithLabelValues(result).Inc()
	}
}

// Intake checks, countersigns and durably queues receipts sent by the media
// node from (its node ID, authenticated by the RPC layer). For each
// receipt, in order: it is well formed (ValidateBasic, a 64-byte media
// node signature); its media_node_id is from; its orchestrator_id is
// Key.ID; its epoch is not older than the previous one (when Epochs is
// set); the media node signature verifies with from's registered key for
// ChainID; no different receipt for its (epoch, media node, session) was
// countersigned before; the session checker accepts it. It is then
// countersigned with Key and queued in Store (fsynced) before Intake returns.
//
// accepted holds the indexes of rs now durably queued, or queued by an
// earlier call (the same receipt sent again); refused maps indexes to a
// reason ("<result>: <detail>", result one of the Result… constants) for
// receipts the media node should drop. A receipt in neither hit a
// transient failure and should be sent again later; err then describes the
// first such failure. accepted and refused are valid even when err is not
// nil.
func (p *Pipeline) Intake(from string, rs []*format.SignedReceipt) (accepted []int, refused map[int]string, err error) {
	if err := p.init(); err != nil {
		return nil, nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.setDepth()
	refused = make(map[int]string)
	for i, r := range rs {
		result, detail, terr := p.intakeOne(from, r)
		p.count(result)
		switch {
		case terr != nil:
			if err == nil {
				err = fmt.Errorf("receipt %d: %w", i, terr)
			}
		case result == ResultCountersigned || result == ResultDuplicate || result == ResultProbe:
			accepted = append(accepted, i)
		default:
			refused[i] = result + ": " + detail
			p.log().Info("refused a receipt", "media_node", from, "index", i, "reason", result, "detail", detail)
		}
	}
	return accepted, refused, err
}

// intakeOne handles one receipt. It returns the result label and, for a
// refusal, a detail; or ResultError and the transient error.
func (p *Pipeline) intakeOne(from string, s *format.SignedReceipt) (result, detail string, err error) {
	if s == nil || s.Receipt == nil {
		return ResultMalformed, "no receipt", nil
	}
	r := s.Receipt
	if err := r.ValidateBasic(); err != nil {
		return ResultMalformed, err.Error(), nil
	}
	if len(s.MediaNodeSignature) != format.SignatureBytes {
		return ResultMalformed, fmt.Sprintf("media node signature is %d bytes, want %d", len(s.MediaNodeSignature), format.SignatureBytes), nil
	}
	if r.MediaNodeId != from {
		return ResultWrongMediaNode, fmt.Sprintf("receipt names media node %s but was sent by %s", r.MediaNodeId, from), nil
	}
	if r.OrchestratorId != p.Key.ID {
		return ResultWrongOrchestrator, fmt.Sprintf("receipt names orchestrator %s, this is %s", r.OrchestratorId, p.Key.ID), nil
	}
	if cur := p.epoch.Load(); cur > 0 && r.Epoch < cur-1 {
		return ResultStaleEpoch, fmt.Sprintf("epoch %d is older than the previous epoch (current %d)", r.Epoch, cur), nil
	}
	key, err := p.Registry.MediaNodeKey(r.MediaNodeId)
	if errors.Is(err, chain.ErrNodeNotFound) {
		return ResultUnknownMediaNode, err.Error(), nil
	}
	if err != nil {
		return ResultError, "", fmt.Errorf("look up media node %s: %w", r.MediaNodeId, err)
	}
	if !s.VerifyMediaNodeSignature(key, p.ChainID) {
		return ResultBadSignature, fmt.Sprintf("media node signature does not verify with the registered key of %s on %s", r.MediaNodeId, p.ChainID), nil
	}
	hash, err := r.Hash()
	if err != nil {
		return ResultMalformed, fmt.Sprintf("encode receipt: %v", err), nil
	}
	// A cheap look first, so a receipt sent again is not checked again;
	// Enqueue decides atomically.
	prev, err := p.Store.Countersigned(store.IndexKey(r))
	if err != nil {
		return ResultError, "", err
	}
	if prev != nil {
		return p.known(r, prev, hash)
	}
	att, err := p.Sessions.Check(r)
	if err != nil {
		switch {
		case errors.Is(err, ErrUnknownSession):
			return ResultUnknownSession, err.Error(), nil
		case errors.Is(err, ErrOutOfTolerance):
			return ResultOutOfTolerance, err.Error(), nil
		case errors.Is(err, session.ErrProbeSession):
			return ResultProbe, "", nil
		default:
			return ResultError, "", fmt.Errorf("check session %s: %w", r.SessionIDHex(), err)
		}
	}
	out := &format.SignedReceipt{Receipt: r, MediaNodeSignature: s.MediaNodeSignature, Attestation: att}
	if err := format.Countersign(p.Key, p.ChainID, out); err != nil {
		return ResultError, "", fmt.Errorf("countersign: %w", err)
	}
	switch outcome, err := p.Store.Enqueue(out, hash); {
	case err != nil:
		return ResultError, "", err
	case outcome == store.Duplicate:
		return ResultDuplicate, "", nil
	case outcome == store.Conflict:
		return p.known(r, nil, hash)
	}
	return ResultCountersigned, "", nil
}

// known is the result for a receipt whose key was countersigned before
// with hash prev (nil: a different one).
func (p *Pipeline) known(r *format.UsageReceipt, prev, hash []byte) (result, detail string, err error) {
	if prev != nil && string(prev) == string(hash) {
		return ResultDuplicate, "", nil
	}
	return ResultConflict, fmt.Sprintf("a different receipt for epoch %d, session %s was countersigned before", r.Epoch, r.SessionIDHex()), nil
}

package attest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/orchestrator/chain"
)

// Run submits queued receipts until ctx ends, one Tick every `every`
// (DefaultInterval if ≤ 0), and again at once while a full round leaves
// receipts queued. After a failing round (chain unreachable, tx not
// included yet, …) it waits twice as long as the last time, from `every`
// up to MaxBackoff, and logs the error. It returns ctx's error.
func (p *Pipeline) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = DefaultInterval
	}
	maxBackoff := p.MaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = DefaultMaxBackoff
	}
	maxBackoff = max(maxBackoff, every)
	log := p.log()
	backoff, failures := every, 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		n, err := p.Tick(ctx)
		wait := every
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failures++
			wait = backoff
			log.Warn("receipt submission failed; will retry", "err", err, "retry_in", wait, "consecutive_failures", failures)
			backoff = min(2*backoff, maxBackoff)
		} else {
			if failures > 0 {
				log.Info("receipt submission recovered", "after_failures", failures)
			}
			failures, backoff = 0, every
			if depth, lerr := p.Store.Len(); n > 0 && lerr == nil && depth > 0 {
				wait = 0
			}
		}
		timer.Reset(wait)
	}
}

// Tick is one round of the submission loop. If the store holds a tx in
// flight it settles that first: included — its receipts are acknowledged
// (whatever the chain accepted or rejected; rejections are logged and
// counted); included but failed as a whole — its receipts stay queued for
// a new tx; not found — the same bytes are broadcast again, unless the
// chain is past the tx's timeout height, when it is dropped. With nothing
// in flight, it signs the oldest BatchSize queued receipts into one tx,
// records it in the store and broadcasts it. It returns how many
// receipts it saw included; an error means the round must be retried.
func (p *Pipeline) Tick(ctx context.Context) (submitted int, err error) {
	if err := p.init(); err != nil {
		return 0, err
	}
	p.submitMu.Lock()
	defer p.submitMu.Unlock()
	p.refreshEpoch(ctx)

	rec, ok, err := p.Store.InFlight()
	if err != nil {
		return 0, err
	}
	if ok {
		n, cleared, err := p.resolve(ctx, rec)
		if err != nil || !cleared {
			return n, err
		}
		submitted += n
	}
	for attempt := 0; ; attempt++ {
		n, err := p.submitNew(ctx)
		var refused *chain.TxRefusedError
		if attempt == 0 && errors.As(err, &refused) && refused.SequenceMismatch() {
			// The tx never reached a mempool; sign again once with the
			// account refetched.
			p.log().Info("account sequence mismatch; signing again", "tx", refused.Hash)
			continue
		}
		return submitted + n, err
	}
}

// refreshEpoch reads the current epoch, if there is a source, and prunes
// the countersigned index of epochs the chain no longer accepts.
func (p *Pipeline) refreshEpoch(ctx context.Context) {
	if p.Epochs == nil {
		return
	}
	cur, err := p.Epochs.CurrentEpoch(ctx)
	if err != nil {
		p.log().Debug("current epoch unavailable", "err", err)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur > p.epoch.Load() {
		p.epoch.Store(cur)
	}
	// Intake refuses epochs < current − 1, so entries of epochs ≤
	// current − 2 can never be needed again.
	if n, err := p.Store.PruneCountersigned(p.epoch.Load()-2, prunePerTick); err != nil {
		p.log().Warn("pruning the countersigned index failed", "err", err)
	} else if n > 0 {
		p.log().Debug("pruned the countersigned index", "entries", n, "through_epoch", p.epoch.Load()-2)
	}
}

// resolve settles the recorded tx in flight. cleared reports whether the
// record is gone, so a new tx may be built.
func (p *Pipeline) resolve(ctx context.Context, rec InFlight) (n int, cleared bool, err error) {
	res, found, err := p.Chain.TxResult(ctx, rec.Hash)
	if err != nil {
		return 0, false, fmt.Errorf("look up tx in flight %s: %w", rec.Hash, err)
	}
	if found {
		if res.Code != 0 {
			return 0, false, p.failed(rec, res)
		}
		n, err := p.finish(rec, res)
		return n, err == nil, err
	}
	h, err := p.Chain.LatestHeight(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("tx in flight %s: %w", rec.Hash, err)
	}
	if chain.Expired(rec.TimeoutHeight, h) {
		p.log().Info("tx in flight expired without inclusion; its receipts go into a new tx",
			"tx", rec.Hash, "timeout_height", rec.TimeoutHeight, "height", h, "receipts", len(rec.IDs))
		return 0, true, p.Store.ClearInFlight(rec.Hash)
	}
	p.log().Info("broadcasting the tx in flight again", "tx", rec.Hash, "broadcasts", rec.Broadcasts)
	n, err = p.send(ctx, rec)
	return n, false, err
}

// submitNew builds, records and broadcasts a tx of the oldest queued
// receipts.
func (p *Pipeline) submitNew(ctx context.Context) (int, error) {
	entries, err := p.Store.Pending(p.batchSize())
	if err != nil {
		return 0, err
	}
	if len(entries) == 0 {
		return 0, nil
	}
	rs := make([]format.SignedReceipt, len(entries))
	ids := make([]uint64, len(entries))
	for i, e := range entries {
		rs[i], ids[i] = *e.Receipt, e.ID
	}
	tx, err := p.Chain.Prepare(ctx, rs)
	if err != nil {
		return 0, fmt.Errorf("prepare tx of %d receipts: %w", len(rs), err)
	}
	hash := chain.TxHash(tx.Bytes)
	if tx.Hash != "" && tx.Hash != hash {
		return 0, fmt.Errorf("prepared tx hash %s is not the hash of its bytes (%s)", tx.Hash, hash)
	}
	return p.send(ctx, InFlight{
		Hash: hash, TimeoutHeight: tx.TimeoutHeight, IDs: ids, Tx: tx.Bytes, CreatedAt: time.Now(),
	})
}

// send records rec (with one more broadcast) durably, then broadcasts it
// and settles the outcome.
func (p *Pipeline) send(ctx context.Context, rec InFlight) (int, error) {
	rec.Broadcasts++
	if err := p.Store.PutInFlight(rec); err != nil {
		return 0, err
	}
	res, err := p.Chain.Broadcast(ctx, &chain.Tx{Bytes: rec.Tx, Hash: rec.Hash, TimeoutHeight: rec.TimeoutHeight, Receipts: len(rec.IDs)})
	if err == nil {
		return p.finish(rec, res)
	}
	var refused *chain.TxRefusedError
	switch {
	case errors.Is(err, chain.ErrTxFailed):
		return 0, p.failed(rec, res)
	case errors.As(err, &refused) && rec.Broadcasts == 1:
		// These bytes were never sent before and the node refused them:
		// no mempool holds them, so they can never be included.
		if cerr := p.Store.ClearInFlight(rec.Hash); cerr != nil {
			return 0, cerr
		}
		return 0, err
	case errors.Is(err, chain.ErrTxExpired):
		if cerr := p.Store.ClearInFlight(rec.Hash); cerr != nil {
			return 0, cerr
		}
		return 0, err
	default:
		return 0, fmt.Errorf("tx %s stays in flight: %w", rec.Hash, err)
	}
}

// finish removes the receipts of an included tx that ran from the queue
// together with its record, then logs and counts.
func (p *Pipeline) finish(rec InFlight, res chain.Result) (int, error) {
	if err := p.Store.Included(rec.Hash, rec.IDs); err != nil {
		return 0, err
	}
	log := p.log()
	for _, rej := range res.Rejected {
		var id uint64
		if int(rej.Index) < len(rec.IDs) {
			id = rec.IDs[rej.Index]
		}
		log.Warn("chain rejected a receipt", "tx", rec.Hash, "index", rej.Index, "queue_id", id,
			"reason", rej.Reason, "detail", rej.Detail)
		if p.Metrics != nil {
			p.Metrics.Rejected.WithLabelValues(rej.Reason).Inc()
		}
	}
	if p.Metrics != nil {
		p.Metrics.Submitted.Add(float64(len(rec.IDs)))
	}
	p.setDepth()
	log.Info("receipts included on chain", "tx", rec.Hash, "height", res.Height, "receipts", len(rec.IDs),
		"accepted", len(res.Accepted), "rejected", len(res.Rejected), "gas_used", res.GasUsed, "gas_wanted", res.GasWanted)
	return len(rec.IDs), nil
}

// failed handles a tx included with a non-zero code: nothing in it took
// effect, so its receipts stay queued for a new tx.
func (p *Pipeline) failed(rec InFlight, res chain.Result) error {
	p.log().Error("tx included but failed; its receipts stay queued", "tx", rec.Hash, "height", res.Height,
		"code", res.Code, "codespace", res.Codespace, "log", res.Log, "receipts", len(rec.IDs))
	if err := p.Store.ClearInFlight(rec.Hash); err != nil {
		return err
	}
	return fmt.Errorf("%w: tx %s: code %d (%s): %s", chain.ErrTxFailed, rec.Hash, res.Code, res.Codespace, res.Log)
}

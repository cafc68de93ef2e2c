package rpc

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/netguard"
	"github.com/chroom/chroom/noderpc"
	"github.com/chroom/chroom/noderpc/rpcpb"
	"github.com/chroom/chroom/receipts"
)

// Orchestrators tells the pusher where the ACTIVE orchestrators are.
type Orchestrators interface {
	// ActiveOrchestrators returns node ID → registered endpoints.
	ActiveOrchestrators() map[string][]string
}

// Pusher sends this node's signed load reports to every ACTIVE
// orchestrator and its queued receipts to the orchestrator that issued
// each session's grant, deleting a receipt only once that orchestrator
// acknowledges (or definitively refuses) it.
type Pusher struct {
	Key     *format.NodeKey
	ChainID string
	Store   *receipts.Store
	Orchs   Orchestrators
	// Load returns the current load report (without node ID and time).
	Load func() *rpcpb.LoadReport
	Log  *slog.Logger
	// Guard decides which addresses may be dialled (registry endpoints).
	Guard netguard.Policy

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn

	wakeOnce sync.Once
	wake     chan struct{}
}

func (p *Pusher) wakeCh() chan struct{} {
	p.wakeOnce.Do(func() { p.wake = make(chan struct{}, 1) })
	return p.wake
}

// Wake makes Run push the queued session events now rather than at its
// next tick (a join: the orchestrator links a cascaded room and sends
// webhooks when it hears of it). It never blocks.
func (p *Pusher) Wake() {
	select {
	case p.wakeCh() <- struct{}{}:
	default:
	}
}

// Run pushes a load report every loadEvery and receipts every
// receiptEvery until ctx ends.
func (p *Pusher) Run(ctx context.Context, loadEvery, receiptEvery time.Duration) {
	if p.Log == nil {
		p.Log = slog.Default()
	}
	load := time.NewTicker(loadEvery)
	rcpt := time.NewTicker(receiptEvery)
	defer load.Stop()
	defer rcpt.Stop()
	defer p.closeAll()
	// Orchestrators can place rooms here right away: the first report
	// goes out as soon as the registry view names an orchestrator (at
	// start it may not have loaded yet), not a whole loadEvery later — an
	// orchestrator holding this node's report from before a restart would
	// otherwise see it go stale and drop the node for seconds.
	first := time.NewTicker(firstLoadRetry)
	defer first.Stop()
	if p.PushLoad(ctx) > 0 {
		first.Stop()
	}
	wake := p.wakeCh()
	for {
		select {
		case <-ctx.Done():
			return
		case <-first.C:
			if p.PushLoad(ctx) > 0 {
				first.Stop()
			}
		case <-load.C:
			if p.PushLoad(ctx) > 0 {
				first.Stop()
			}
		case <-wake:
			if _, err := p.PushEvents(ctx); err != nil {
				p.Log.Debug("session event push incomplete", "err", err)
			}
		case <-rcpt.C:
			if _, err := p.PushEvents(ctx); err != nil {
				p.Log.Debug("session event push incomplete", "err", err)
			}
			if _, err := p.PushReceipts(ctx); err != nil {
				p.Log.Warn("receipt push incomplete", "err", err)
			}
		}
	}
}

func (p *Pusher) client(id string) (rpcpb.OrchestratorClient, error) {
	endpoints, ok := p.Orchs.ActiveOrchestrators()[id]
	if !ok {
		return nil, fmt.Errorf("orchestrator %s is not ACTIVE in the registry", id)
	}
	target, useTLS, err := noderpc.RPCEndpoint(endpoints)
	if err != nil {
		return nil, fmt.Errorf("orchestrator %s: %w", id, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		p.conns = map[string]*grpc.ClientConn{}
	}
	key := id + "@" + target
	if c, ok := p.conns[key]; ok {
		return rpcpb.NewOrchestratorClient(c), nil
	}
	creds := insecure.NewCredentials()
	if useTLS {
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	c, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds), grpc.WithContextDialer(p.Guard.DialContext),
		noderpc.DialCodec(),
		grpc.WithUnaryInterceptor(noderpc.SignCalls(p.Key, p.ChainID)))
	if err != nil {
		return nil, err
	}
	p.conns[key] = c
	return rpcpb.NewOrchestratorClient(c), nil
}

func (p *Pusher) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// firstLoadRetry is how often Run retries its first load report while no
// orchestrator has received one (the registry view still loading, or no
// orchestrator reachable).
const firstLoadRetry = 250 * time.Millisecond

// PushLoad sends one signed load report to every ACTIVE orchestrator and
// returns to how many it was delivered.
func (p *Pusher) PushLoad(ctx context.Context) (delivered int) {
	r := p.Load()
	r.NodeId, r.UnixMs = p.Key.ID, time.Now().UnixMilli()
	body, err := r.Marshal()
	if err != nil {
		return 0
	}
	sig, err := p.Key.Sign(format.ObjectLoadReport, p.ChainID, body)
	if err != nil {
		return 0
	}
	for id := range p.Orchs.ActiveOrchestrators() {
		c, err := p.client(id)
		if err != nil {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err = c.PushLoadReport(cctx, &rpcpb.SignedLoadReport{Report: body, Signature: sig})
		cancel()
		if err != nil {
			p.Log.Debug("load report not delivered", "orchestrator", id, "err", err)
			continue
		}
		delivered++
	}
	return delivered
}

// PushEvents sends queued session events to their orchestrators, oldest
// first, at most 500 per orchestrator per call, and deletes those each
// orchestrator handled. Events for an orchestrator that is unreachable
// stay queued (durably) until it is back; an event that cannot be
// decoded is dropped. It returns how many left the queue.
func (p *Pusher) PushEvents(ctx context.Context) (int, error) {
	pending, err := p.Store.PendingEvents(5000)
	if err != nil {
		return 0, err
	}
	byOrch := map[string][]*rpcpb.SessionEvent{}
	var order []string
	var bad []uint64
	for _, e := range pending {
		ev := &rpcpb.SessionEvent{}
		if e.Orchestrator == "" || ev.Unmarshal(e.Data) != nil {
			bad = append(bad, e.ID)
			continue
		}
		ev.QueueId = e.ID
		if _, ok := byOrch[e.Orchestrator]; !ok {
			order = append(order, e.Orchestrator)
		}
		if len(byOrch[e.Orchestrator]) < 500 {
			byOrch[e.Orchestrator] = append(byOrch[e.Orchestrator], ev)
		}
	}
	_ = p.Store.AckEvents(bad...)
	done := 0
	var firstErr error
	for _, id := range order {
		c, err := p.client(id)
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			var res *rpcpb.PushSessionEventsResponse
			res, err = c.PushSessionEvents(cctx, &rpcpb.PushSessionEventsRequest{Events: byOrch[id]})
			cancel()
			if err == nil {
				if err = p.Store.AckEvents(res.Handled...); err == nil {
					done += len(res.Handled)
					continue
				}
			}
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("orchestrator %s: %w", id, err)
		}
	}
	return done, firstErr
}

// PushReceipts sends up to 500 queued receipts, grouped by orchestrator,
// and acknowledges in the store what each orchestrator accepted or
// refused. It returns how many left the queue.
func (p *Pusher) PushReceipts(ctx context.Context) (int, error) {
	// A wide window, so receipts for an unreachable orchestrator at the
	// head of the queue do not hold back everyone else's.
	pending, err := p.Store.Pending(5000)
	if err != nil {
		return 0, err
	}
	byOrch := map[string][]*rpcpb.QueuedReceipt{}
	var order []string
	for _, e := range pending {
		id := e.Receipt.Receipt.OrchestratorId
		if _, ok := byOrch[id]; !ok {
			order = append(order, id)
		}
		byOrch[id] = append(byOrch[id], &rpcpb.QueuedReceipt{QueueId: e.ID, Receipt: e.Receipt})
	}
	done := 0
	var firstErr error
	for _, id := range order {
		batch := byOrch[id]
		if len(batch) > 500 {
			batch = batch[:500]
		}
		ids := make([]uint64, len(batch))
		for i, q := range batch {
			ids[i] = q.QueueId
		}
		c, err := p.client(id)
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			var res *rpcpb.PushReceiptsResponse
			res, err = c.PushReceipts(cctx, &rpcpb.PushReceiptsRequest{Receipts: batch})
			cancel()
			if err == nil {
				acked := append([]uint64{}, res.Accepted...)
				for _, r := range res.Refused {
					p.Log.Warn("orchestrator refused a receipt", "orchestrator", id, "queue_id", r.QueueId, "reason", r.Reason)
					acked = append(acked, r.QueueId)
				}
				if err = p.Store.Ack(acked...); err == nil {
					done += len(acked)
					continue
				}
			}
		}
		_ = p.Store.MarkAttempt(ids...)
		if firstErr == nil {
			firstErr = fmt.Errorf("orchestrator %s: %w", id, err)
		}
	}
	return done, firstErr
}

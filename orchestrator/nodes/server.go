// Package nodes is the orchestrator's side of Media Node RPC: it receives
// media nodes' signed load reports and receipts, calls media nodes for
// room administration, and tracks which peer orchestrators are healthy.
package nodes

import (
	"context"
	"crypto/ed25519"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/noderpc"
	"github.com/chroom/chroom/noderpc/rpcpb"
	"github.com/chroom/chroom/orchestrator/api"
	"github.com/chroom/chroom/orchestrator/selector"
)

// Keys resolves ACTIVE media nodes' registered keys.
type Keys interface {
	MediaNodeKey(id string) (ed25519.PublicKey, error)
}

// Intake takes node-signed receipts (the attestation pipeline): it returns
// the indexes it durably accepted and reasons for the ones it refused.
type Intake interface {
	Intake(from string, rs []*format.SignedReceipt) (accepted []int, refused map[int]string, err error)
}

// Events takes media nodes' session events (*api.Server implements it).
type Events interface {
	SessionEvent(from string, e api.SessionEvent) bool
}

// Loads keeps the last signed load report of each media node.
type Loads struct {
	mu    sync.Mutex
	loads map[string]selector.Load
	now   func() time.Time
}

// NewLoads returns an empty tracker.
func NewLoads() *Loads { return &Loads{loads: map[string]selector.Load{}, now: time.Now} }

// Load implements api.Loads.
func (l *Loads) Load(id string) (*selector.Load, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.loads[id]
	if !ok {
		return nil, false
	}
	return &v, true
}

func (l *Loads) set(id string, r *rpcpb.LoadReport) {
	l.mu.Lock()
	l.loads[id] = selector.Load{Participants: r.Participants, EgressKbps: r.EgressKbps, CPUPermille: r.CpuPermille,
		Draining: r.Draining, ReportedAt: l.now()}
	l.mu.Unlock()
}

// Server implements the Orchestrator service. Callers are authenticated
// by noderpc.VerifyCalls with media node keys.
type Server struct {
	rpcpb.UnimplementedOrchestratorServer
	ChainID string
	Keys    Keys
	Loads   *Loads
	Intake  Intake
	Events  Events
}

// PushSessionEvents implements rpcpb.OrchestratorServer: each event is
// handed to Events as coming from the calling node (which may report only
// its own sessions of this orchestrator's grants).
func (s *Server) PushSessionEvents(ctx context.Context, in *rpcpb.PushSessionEventsRequest) (*rpcpb.PushSessionEventsResponse, error) {
	if len(in.Events) > 1000 {
		return nil, status.Error(codes.InvalidArgument, "at most 1000 events per call")
	}
	out := &rpcpb.PushSessionEventsResponse{}
	from := noderpc.Caller(ctx)
	for _, e := range in.Events {
		if e == nil {
			continue
		}
		if s.Events == nil || s.Events.SessionEvent(from, api.SessionEvent{Type: e.Type, Room: e.Room, Identity: e.Identity, GrantID: e.GrantId,
			At: time.UnixMilli(e.UnixMs), TrackID: e.TrackId, TrackKind: e.TrackKind, TrackSource: e.TrackSource, Reason: e.Reason}) {
			out.Handled = append(out.Handled, e.QueueId)
		}
	}
	return out, nil
}

// PushLoadReport implements rpcpb.OrchestratorServer: the report must be
// the caller's own and signed by it for this chain; its receive time is
// what counts for freshness.
func (s *Server) PushLoadReport(ctx context.Context, in *rpcpb.SignedLoadReport) (*rpcpb.PushLoadReportResponse, error) {
	var r rpcpb.LoadReport
	if err := r.Unmarshal(in.Report); err != nil {
		return nil, status.Error(codes.InvalidArgument, "the load report is not a LoadReport")
	}
	caller := noderpc.Caller(ctx)
	if r.NodeId != caller {
		return nil, status.Errorf(codes.PermissionDenied, "node %s may not report for %s", caller, r.NodeId)
	}
	pub, err := s.Keys.MediaNodeKey(caller)
	if err != nil {
		return nil, status.Error(codes.PermissionDenied, err.Error())
	}
	if !format.Verify(pub, format.ObjectLoadReport, s.ChainID, in.Report, in.Signature) {
		return nil, status.Error(codes.InvalidArgument, "the load report's signature does not verify")
	}
	s.Loads.set(caller, &r)
	return &rpcpb.PushLoadReportResponse{}, nil
}

// PushReceipts implements rpcpb.OrchestratorServer: receipts are checked,
// countersigned and queued durably before the response acknowledges them.
func (s *Server) PushReceipts(ctx context.Context, in *rpcpb.PushReceiptsRequest) (*rpcpb.PushReceiptsResponse, error) {
	if len(in.Receipts) > 1000 {
		return nil, status.Error(codes.InvalidArgument, "at most 1000 receipts per call")
	}
	rs := make([]*format.SignedReceipt, len(in.Receipts))
	for i, q := range in.Receipts {
		if q == nil || q.Receipt == nil {
			return nil, status.Errorf(codes.InvalidArgument, "receipts[%d] is empty", i)
		}
		rs[i] = q.Receipt
	}
	accepted, refused, err := s.Intake.Intake(noderpc.Caller(ctx), rs)
	if err != nil {
		return nil, status.Error(codes.Unavailable, "receipts not stored: "+err.Error())
	}
	out := &rpcpb.PushReceiptsResponse{}
	for _, i := range accepted {
		out.Accepted = append(out.Accepted, in.Receipts[i].QueueId)
	}
	for i, reason := range refused {
		out.Refused = append(out.Refused, &rpcpb.ReceiptRefusal{QueueId: in.Receipts[i].QueueId, Reason: reason})
	}
	return out, nil
}

package rpc

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/netguard"
	"github.com/chroom/chroom/noderpc"
	"github.com/chroom/chroom/noderpc/rpcpb"
)

// loadSink is an orchestrator that counts the load reports it receives.
type loadSink struct {
	rpcpb.UnimplementedOrchestratorServer
	loads atomic.Int32
}

func (s *loadSink) PushLoadReport(context.Context, *rpcpb.SignedLoadReport) (*rpcpb.PushLoadReportResponse, error) {
	s.loads.Add(1)
	return &rpcpb.PushLoadReportResponse{}, nil
}

// lateRegistry names no orchestrator until ready is set, as a node's
// registry view does before its first refresh.
type lateRegistry struct {
	mu    sync.Mutex
	ready bool
	orchs map[string][]string
}

func (r *lateRegistry) ActiveOrchestrators() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ready {
		return nil
	}
	return r.orchs
}

// TestFirstLoadReportWaitsForTheRegistry: a node whose registry view
// loads only after Run starts still reports its load within a second of
// the view naming an orchestrator, not a whole load interval later (after
// a restart the orchestrator's report from before it went stale meanwhile
// and the node was dropped from placement: a CI flake of
// TestSimulcastAcrossNodes).
func TestFirstLoadReportWaitsForTheRegistry(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	sink := &loadSink{}
	srv := grpc.NewServer(noderpc.ServerCodec())
	rpcpb.RegisterOrchestratorServer(srv, sink)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	key, err := format.GenerateNodeKey(rand.Reader)
	require.NoError(t, err)
	reg := &lateRegistry{orchs: map[string][]string{"orch": {"http://" + ln.Addr().String() + "/rpc"}}}
	p := &Pusher{Key: key, ChainID: "chroom-test-1", Orchs: reg, Log: slog.New(slog.DiscardHandler),
		Load:  func() *rpcpb.LoadReport { return &rpcpb.LoadReport{} },
		Guard: netguard.Policy{AllowPrivate: true}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx, time.Minute, time.Minute) }()
	defer func() { cancel(); <-done }()

	time.Sleep(600 * time.Millisecond)
	require.Zero(t, sink.loads.Load(), "no orchestrator known yet")
	reg.mu.Lock()
	reg.ready = true
	reg.mu.Unlock()
	require.Eventually(t, func() bool { return sink.loads.Load() == 1 }, 2*time.Second, 50*time.Millisecond,
		"the first report goes out once the registry names an orchestrator")
	time.Sleep(time.Second)
	require.Equal(t, int32(1), sink.loads.Load(), "then one report per load interval (a minute here), no more retries")
}

// Package node assembles an orchestrator: chain view and submitter, the
// public API and web client, Media Node RPC, and the attestation pipeline.
package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/netguard"
	"github.com/chroom/chroom/noderpc"
	"github.com/chroom/chroom/noderpc/rpcpb"
	"github.com/chroom/chroom/orchestrator/api"
	"github.com/chroom/chroom/orchestrator/attest"
	"github.com/chroom/chroom/orchestrator/chain"
	"github.com/chroom/chroom/orchestrator/config"
	"github.com/chroom/chroom/orchestrator/nodes"
	"github.com/chroom/chroom/orchestrator/probes"
	"github.com/chroom/chroom/orchestrator/session"
	"github.com/chroom/chroom/orchestrator/store"
	"github.com/chroom/chroom/orchestrator/web"
)

// Orchestrator is a running orchestrator.
type Orchestrator struct {
	cfg      config.Config
	log      *slog.Logger
	key      *format.NodeKey
	client   *chain.Client
	view     *chain.View
	sub      *chain.Submitter
	store    *store.Store
	book     *session.Book
	api      *api.Server
	pipeline *attest.Pipeline
	admin    *nodes.Admin
	loads    *nodes.Loads
	peerset  *nodes.Peers
	webhooks *api.Webhooks
	prober   *probes.Runner
	reg      *prometheus.Registry
	httpLn   net.Listener
	rpcLn    net.Listener
}

// New connects to the chain, opens the queues and binds the listeners.
// Every error names what to fix: the config key, the keyring key, the
// chain ID.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*Orchestrator, error) {
	if log == nil {
		log = slog.Default()
	}
	o := &Orchestrator{cfg: cfg, log: log, reg: prometheus.NewRegistry(), loads: nodes.NewLoads()}
	ok := false
	defer func() {
		if !ok {
			o.close()
		}
	}()
	var err error
	if o.key, err = format.LoadNodeKey(cfg.Node.KeyFile); err != nil {
		return nil, fmt.Errorf("node.key_file: %w", err)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if o.client, err = chain.Dial(dctx, cfg.Chain.GRPC); err != nil {
		return nil, fmt.Errorf("chain.grpc: cannot reach chroomd at %s: %w", cfg.Chain.GRPC, err)
	}
	chainID, err := o.client.ChainID(dctx)
	if err != nil {
		return nil, fmt.Errorf("chain.grpc: %w", err)
	}
	if chainID != cfg.Chain.ChainID {
		return nil, fmt.Errorf("chain.chain_id is %q but chroomd at %s runs %q", cfg.Chain.ChainID, cfg.Chain.GRPC, chainID)
	}
	fees, err := chain.ParseFees(cfg.Chain.Fees)
	if err != nil {
		return nil, fmt.Errorf("chain.fees: %w", err)
	}
	gasPrices, err := chain.ParseGasPrices(cfg.Chain.GasPrices)
	if err != nil {
		return nil, fmt.Errorf("chain.gas_prices: %w", err)
	}
	if !gasPrices.Empty() && !fees.Empty() {
		return nil, errors.New("chain.gas_prices and chain.fees: set one of them, not both")
	}
	if o.sub, err = chain.NewSubmitter(dctx, o.client, chain.SubmitterConfig{
		KeyName: cfg.Chain.KeyName, KeyringBackend: cfg.Chain.KeyringBackend, KeyringDir: cfg.Chain.KeyringDir, Fees: fees, GasPrices: gasPrices,
	}); err != nil {
		return nil, fmt.Errorf("chain.key_name / chain.keyring_dir: %w", err)
	}
	o.view = chain.NewView(o.client, log)
	if o.store, err = store.Open(cfg.Receipts.Queue); err != nil {
		return nil, fmt.Errorf("receipts.queue: %w", err)
	}
	listen := func(key, addr string) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot listen on %s (%v); is the port taken? change %s in the config", key, addr, err, key)
		}
		return ln, nil
	}
	if o.httpLn, err = listen("http.listen", cfg.HTTP.Listen); err != nil {
		return nil, err
	}
	if o.rpcLn, err = listen("rpc.listen", cfg.RPC.Listen); err != nil {
		return nil, err
	}

	o.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	dir := directory{o.view}
	guard := netguard.Policy{AllowPrivate: cfg.Outbound.AllowPrivateEndpoints}
	o.admin = &nodes.Admin{Key: o.key, ChainID: chainID, Nodes: dir, Guard: guard}
	o.peerset = &nodes.Peers{List: func() map[string]string { return dir.peerURLs(o.key.ID) }, Guard: guard}
	keys := map[string]string{}
	policies := map[string]api.KeyPolicy{}
	for _, k := range cfg.API.Keys {
		keys[k.Key] = k.Name
		policies[k.Name] = api.KeyPolicy{RoomPrefixes: k.RoomPrefixes, Scopes: k.Scopes, MaxRooms: k.MaxRooms, MaxSessions: k.MaxSessions, BillApp: k.BillApp, EmbedOrigins: k.EmbedOrigins}
	}
	var hooks *api.Webhooks
	if cfg.Webhooks.URL != "" {
		hooks = api.NewWebhooks(cfg.Webhooks.URL, []byte(cfg.Webhooks.Secret), log)
		o.webhooks = hooks
	}
	o.book = session.New(session.Params{Store: o.store, Nodes: api.Candidates(dir, o.loads), GrantTTL: cfg.API.GrantTTL, ChainID: chainID})
	records, bans, dropped, err := o.store.Load(time.Now(), session.DefaultKeep)
	if err != nil {
		return nil, fmt.Errorf("receipts.queue: %w", err)
	}
	o.book.Restore(records, bans)
	rooms, badRooms, err := o.store.LoadRooms()
	if err != nil {
		return nil, fmt.Errorf("receipts.queue: rooms: %w", err)
	}
	o.book.RestoreOptions(rooms)
	log.Info("session records loaded", "sessions", len(records), "bans", len(bans), "rooms", len(rooms), "pruned", dropped+badRooms)
	rl := cfg.API.RateLimits
	o.api = api.New(api.Config{Key: o.key, ChainID: chainID, PublicURL: cfg.HTTP.PublicURL, APIKeys: keys, KeyPolicies: policies, AllowAnonymousJoin: cfg.API.AllowAnonymousJoin, AnonymousBillApp: cfg.API.AnonymousBillApp, Webhooks: hooks,
		Sessions: o.book, Region: cfg.Node.Region,
		RateLimits: api.RateLimits{JoinPerIP: rl.JoinPerIP, JoinBurstPerIP: rl.JoinBurstPerIP, AdminPerIP: rl.AdminPerIP,
			AdminBurstPerIP: rl.AdminBurstPerIP, JoinPerKey: rl.JoinPerKey, JoinBurstPerKey: rl.JoinBurstPerKey}, Directory: dir, Loads: o.loads, Admin: o.admin, Rewards: rewards{o.client}, Peers: o.peerset, Logger: log, Registry: o.reg, Network: network{v: o.view, c: o.client}})
	metrics, err := attest.NewMetrics(o.reg)
	if err != nil {
		return nil, err
	}
	tol := session.Tolerance{Clock: cfg.Receipts.ClockTolerance, ClientBytesFactor: cfg.Receipts.ClientBytesFactor}
	o.pipeline = &attest.Pipeline{
		Key: o.key, ChainID: chainID, Registry: o.view, Sessions: session.Checker{Book: o.book, Tolerance: tol, Key: o.key}, Store: o.store,
		Chain: o.sub, Epochs: o.client, BatchSize: cfg.Receipts.BatchSize, Metrics: metrics, Log: log,
	}
	if cfg.Probes.Enabled {
		cmd := proberCommand(cfg.Probes.Command)
		if cmd == nil {
			log.Warn("QoS probes are enabled but no prober was found (chroom-loadtest next to this binary or on PATH; probes.command): assigned probes will be skipped and forfeit the epoch's orchestrator rewards")
		}
		probed := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chroom_orchestrator_probes_total",
			Help: "QoS probes by outcome: connected and failed were submitted; error were not (the prober or the submission failed)."}, []string{"outcome"})
		o.reg.MustRegister(probed)
		o.prober = &probes.Runner{Key: o.key, ChainID: chainID, Chain: &probeChain{c: o.client, sub: o.sub}, Grants: o.api.ProbeGrants,
			Command: cmd, Duration: cfg.Probes.Duration, TargetKbps: cfg.Probes.TargetKbps, Log: log.With("component", "probes"),
			Observe: func(outcome string) { probed.WithLabelValues(outcome).Inc() }}
	}
	ok = true
	return o, nil
}

// ID is the orchestrator's node ID.
func (o *Orchestrator) ID() string { return o.key.ID }

// HTTPAddr returns the API address.
func (o *Orchestrator) HTTPAddr() string { return o.httpLn.Addr().String() }

// RPCAddr returns the Media Node RPC address.
func (o *Orchestrator) RPCAddr() string { return o.rpcLn.Addr().String() }

// Operator returns the account that pays for receipt transactions.
func (o *Orchestrator) Operator() string { return o.sub.Address() }

// Run serves until ctx ends, then stops cleanly; queued receipts stay on
// disk for the next start.
func (o *Orchestrator) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	goRun := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	goRun(func() { _ = o.view.Run(ctx, o.cfg.Chain.Refresh) })
	goRun(func() { o.api.RunRoomKeeper(ctx, 2*time.Second) })
	goRun(func() { o.pruneStore(ctx, 10*time.Minute) })
	goRun(func() { o.peerset.Run(ctx, 3*time.Second) })
	if o.prober != nil {
		goRun(func() { o.prober.Run(ctx, o.cfg.Probes.CheckInterval) })
	}
	if o.webhooks != nil {
		goRun(func() { o.webhooks.Run(ctx) })
	}
	goRun(func() {
		if err := o.pipeline.Run(ctx, o.cfg.Receipts.SubmitInterval); err != nil && !errors.Is(err, context.Canceled) {
			o.log.Error("receipt pipeline stopped", "err", err)
		}
	})

	mux := http.NewServeMux()
	mux.Handle("/v1/", o.api.Handler())
	mux.Handle("/", web.Handler())
	mux.Handle("GET /embed", o.api.EmbedHandler()) // a call for an app's <iframe>
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, why := o.ready()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = io.WriteString(w, why+"\n")
	})
	metrics := promhttp.HandlerFor(o.reg, promhttp.HandlerOpts{})
	if o.cfg.Metrics.Listen == "" {
		mux.Handle("GET /metrics", metrics)
	} else {
		ln, err := net.Listen("tcp", o.cfg.Metrics.Listen)
		if err != nil {
			return fmt.Errorf("metrics.listen: cannot listen on %s (%v); change metrics.listen", o.cfg.Metrics.Listen, err)
		}
		msrv := &http.Server{Handler: metrics, ReadHeaderTimeout: 10 * time.Second}
		goRun(func() { _ = msrv.Serve(ln) })
		defer msrv.Close()
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10}
	goRun(func() {
		if err := srv.Serve(o.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.log.Error("http server stopped", "err", err)
			cancel()
		}
	})
	gs := grpc.NewServer(noderpc.ServerCodec(), grpc.UnaryInterceptor(noderpc.VerifyCalls(o.view.MediaNodeKey, o.cfg.Chain.ChainID, nil)))
	rpcpb.RegisterOrchestratorServer(gs, &nodes.Server{ChainID: o.cfg.Chain.ChainID, Keys: o.view, Loads: o.loads, Intake: o.pipeline, Events: o.api})
	goRun(func() { _ = gs.Serve(o.rpcLn) })

	o.log.Info("orchestrator started", "node_id", o.key.ID, "http", o.HTTPAddr(), "rpc", o.RPCAddr(), "operator", o.sub.Address())
	<-ctx.Done()
	shutdown, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	_ = srv.Shutdown(shutdown)
	gs.GracefulStop()
	wg.Wait()
	o.close()
	return nil
}

func (o *Orchestrator) close() {
	if o.admin != nil {
		o.admin.Close()
	}
	for _, c := range []io.Closer{o.httpLn, o.rpcLn} {
		if c != nil {
			_ = c.Close()
		}
	}
	if o.store != nil {
		_ = o.store.Close()
	}
	if o.client != nil {
		_ = o.client.Close()
	}
}

// pruneStore deletes expired session records and ended bans from the
// store every interval until ctx ends.
func (o *Orchestrator) pruneStore(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := o.store.Prune(time.Now(), session.DefaultKeep); err != nil {
			o.log.Warn("pruning the store failed", "err", err)
		} else if n > 0 {
			o.log.Debug("pruned session records and bans", "count", n)
		}
	}
}

// ready reports whether joins can be served: the registry is loaded and
// at least one ACTIVE media node has reported its load recently.
func (o *Orchestrator) ready() (bool, string) {
	if !o.view.Ready() {
		return false, "registry not loaded yet"
	}
	for _, n := range (directory{o.view}).ActiveMediaNodes() {
		if l, ok := o.loads.Load(n.ID); ok && time.Since(l.ReportedAt) < session.DefaultLoadFreshness && !l.Draining {
			return true, "ready"
		}
	}
	return false, "no ACTIVE media node is reporting load"
}

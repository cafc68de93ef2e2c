// Package registryview is an SDK-free, read-only view of x/registry for
// media nodes and the orchestrator's web tier. It reads the node list from
// chroomd's REST gateway (GET /chroom/registry/v1/nodes, see the x/registry
// README, "Queries and CLI"), keeps the last good snapshot in memory and
// answers lookups from it without blocking. It implements grant.Issuers, so a
// grant.Verifier accepts grants only from orchestrators that are ACTIVE in
// the latest snapshot.
//
// The package must not import the Cosmos SDK (DESIGN.md §1, §4).
package registryview

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chroom/chroom/grant"
)

const (
	// NodesPath is the REST route of the Nodes query.
	NodesPath = "/chroom/registry/v1/nodes"
	// PageLimit is the pagination.limit the view asks for: x/registry's
	// MaxPageLimit.
	PageLimit = 1000
	// MaxPages bounds how many pages one Refresh reads (PageLimit × MaxPages
	// nodes), so a misbehaving gateway cannot keep it paging forever.
	MaxPages = 1000
	// DefaultMaxResponseBytes is the largest page body read, in bytes.
	DefaultMaxResponseBytes = 32 << 20
	// DefaultRequestTimeout bounds each page request, from sending it to
	// reading the whole body.
	DefaultRequestTimeout = 10 * time.Second
	// DefaultRefreshInterval is Run's interval when it is given zero or less.
	DefaultRefreshInterval = 5 * time.Second

	// heightHeader pins a query to a block height (the Cosmos SDK's
	// x-cosmos-block-height); the gateway reports the height it answered at
	// as heightResponseHeader. Pinning keeps all pages of one Refresh at the
	// same height.
	heightHeader         = "x-cosmos-block-height"
	heightResponseHeader = "Grpc-Metadata-X-Cosmos-Block-Height"
	// maxErrorBodyBytes is how much of an error response is read for the
	// message.
	maxErrorBodyBytes = 4 << 10
)

// ErrNotReady means the view has not completed its first Refresh.
var ErrNotReady = errors.New("registry view has not loaded yet")

var _ grant.Issuers = (*View)(nil)

// View is an in-memory snapshot of the registry's nodes, replaced as a whole
// by each successful Refresh. All methods are safe for concurrent use; the
// lookups never block on the network.
type View struct {
	nodesURL         string
	client           *http.Client
	log              *slog.Logger
	requestTimeout   time.Duration
	maxResponseBytes int64

	refreshMu sync.Mutex // serializes Refresh, so snapshots are stored in order
	snap      atomic.Pointer[snapshot]
}

// snapshot is one complete, validated read of the registry. It is never
// modified after it is stored.
type snapshot struct {
	nodes   map[string]Node
	at      time.Time
	height  int64
	skipped int
}

// Option configures a View.
type Option func(*View)

// WithHTTPClient sets the HTTP client (for TLS settings or a proxy). The
// default is a client with http.DefaultTransport; per-request timeouts come
// from WithRequestTimeout either way.
func WithHTTPClient(c *http.Client) Option {
	return func(v *View) {
		if c != nil {
			v.client = c
		}
	}
}

// WithLogger sets the logger; the default is slog.Default(). The view logs
// under component=registryview.
func WithLogger(l *slog.Logger) Option {
	return func(v *View) {
		if l != nil {
			v.log = l
		}
	}
}

// WithRequestTimeout bounds each page request; zero or less keeps
// DefaultRequestTimeout.
func WithRequestTimeout(d time.Duration) Option {
	return func(v *View) {
		if d > 0 {
			v.requestTimeout = d
		}
	}
}

// WithMaxResponseBytes bounds each page body, in bytes; zero or less keeps
// DefaultMaxResponseBytes.
func WithMaxResponseBytes(n int64) Option {
	return func(v *View) {
		if n > 0 {
			v.maxResponseBytes = n
		}
	}
}

// New returns an empty view of the registry served by chroomd's REST gateway
// at baseURL (http or https, e.g. "http://127.0.0.1:1317", optionally with a
// path prefix). It does no I/O: call Refresh or Run to load it.
func New(baseURL string, opts ...Option) (*View, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("registry REST URL %q is not an absolute http or https URL: %w", baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("registry REST URL %q must be an absolute http or https URL", baseURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("registry REST URL %q must not have user info, a query or a fragment", baseURL)
	}
	u.Path = strings.TrimRight(u.Path, "/") + NodesPath
	u.RawPath = ""
	v := &View{
		nodesURL:         u.String(),
		client:           &http.Client{},
		log:              slog.Default(),
		requestTimeout:   DefaultRequestTimeout,
		maxResponseBytes: DefaultMaxResponseBytes,
	}
	for _, opt := range opts {
		opt(v)
	}
	v.log = v.log.With("component", "registryview")
	return v, nil
}

// Refresh reads every page of the node list, validates each node and, if
// all pages were read, replaces the snapshot. A node whose pubkey is not a
// valid 32-byte ed25519 key, whose ID is not format.NodeID(pubkey), whose
// type or status is unknown, or whose ID repeats is skipped and counted (see
// Skipped). On any error (network, HTTP status, undecodable page, a context
// that ends) the previous snapshot stays in place.
func (v *View) Refresh(ctx context.Context) error {
	v.refreshMu.Lock()
	defer v.refreshMu.Unlock()

	nodes := make(map[string]Node)
	var (
		skipped  int
		firstErr error
		key      string
		height   int64
	)
	for page := 1; ; page++ {
		if page > MaxPages {
			return fmt.Errorf("refresh registry view: more than %d pages of nodes", MaxPages)
		}
		p, h, err := v.fetchPage(ctx, key, height)
		if err != nil {
			return fmt.Errorf("refresh registry view: page %d: %w", page, err)
		}
		if page == 1 {
			height = h
		}
		for i, raw := range p.Nodes {
			n, err := decodeNode(raw)
			if err == nil {
				if _, dup := nodes[n.ID]; dup {
					err = fmt.Errorf("node %s appears twice", n.ID)
				}
			}
			if err != nil {
				skipped++
				if firstErr == nil {
					firstErr = err
				}
				v.log.Debug("skipping invalid registry node", "page", page, "index", i, "err", err)
				continue
			}
			nodes[n.ID] = n
		}
		var next string
		if p.Pagination != nil && p.Pagination.NextKey != nil {
			next = *p.Pagination.NextKey
		}
		if next == "" {
			break
		}
		if next == key {
			return fmt.Errorf("refresh registry view: page %d: pagination did not advance (next_key %q repeats)", page, next)
		}
		key = next
	}

	prev := v.snap.Swap(&snapshot{nodes: nodes, at: time.Now(), height: height, skipped: skipped})
	if skipped > 0 {
		// Warn when the count changes, not on every refresh.
		level := slog.LevelWarn
		if prev != nil && prev.skipped == skipped {
			level = slog.LevelDebug
		}
		v.log.Log(ctx, level, "registry view skipped invalid nodes", "skipped", skipped, "first_err", firstErr)
	}
	v.log.Debug("registry view refreshed", "nodes", len(nodes), "skipped", skipped, "height", height)
	return nil
}

// fetchPage GETs one page. key is the previous page's next_key ("" for the
// first page); height, if positive, pins the query to that block height. It
// returns the page and the height the gateway reported (0 if none).
func (v *View) fetchPage(ctx context.Context, key string, height int64) (*wirePage, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, v.requestTimeout)
	defer cancel()

	q := url.Values{"pagination.limit": {strconv.Itoa(PageLimit)}}
	if key != "" {
		q.Set("pagination.key", key)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.nodesURL+"?"+q.Encode(), nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	if height > 0 {
		req.Header.Set(heightHeader, strconv.FormatInt(height, 10))
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
		return nil, 0, fmt.Errorf("GET %s: HTTP %d: %s", NodesPath, resp.StatusCode, errorMessage(body))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, v.maxResponseBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: read body: %w", NodesPath, err)
	}
	if int64(len(body)) > v.maxResponseBytes {
		return nil, 0, fmt.Errorf("GET %s: response is over the %d-byte limit", NodesPath, v.maxResponseBytes)
	}
	var p wirePage
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, 0, fmt.Errorf("GET %s: response is not a nodes page: %w", NodesPath, err)
	}
	h, _ := strconv.ParseInt(resp.Header.Get(heightResponseHeader), 10, 64)
	return &p, max(h, 0), nil
}

// errorMessage extracts the message of a gateway error body
// ({"code":5,"message":"…","details":[]}), or returns the body itself.
func errorMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return e.Message
	}
	s := strings.TrimSpace(string(bytes.ToValidUTF8(body, []byte("?"))))
	if s == "" {
		return "(empty body)"
	}
	return s
}

// Run refreshes the view now and then every interval (DefaultRefreshInterval
// if interval ≤ 0) until ctx is done. A failed refresh is logged and the last
// good snapshot kept; Run never gives up. Start it in its own goroutine.
func (v *View) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultRefreshInterval
	}
	failures := 0
	refresh := func() {
		err := v.Refresh(ctx)
		switch {
		case err == nil:
			if failures > 0 {
				v.log.Info("registry view refresh recovered", "failed_refreshes", failures)
			}
			failures = 0
		case ctx.Err() != nil:
			// Shutting down; not worth a log line.
		default:
			failures++
			v.log.Warn("registry view refresh failed; keeping the last snapshot",
				"err", err, "consecutive_failures", failures, "ready", v.Ready(), "last_refresh", v.LastRefresh())
		}
	}
	refresh()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			refresh()
		}
	}
}

// Ready reports whether a refresh has succeeded, so lookups answer from real
// data; a media node's /readyz should wait for it.
func (v *View) Ready() bool { return v.snap.Load() != nil }

// LastRefresh returns when the current snapshot was taken (the end of the
// last successful Refresh), or the zero time before the first.
func (v *View) LastRefresh() time.Time {
	if s := v.snap.Load(); s != nil {
		return s.at
	}
	return time.Time{}
}

// Height returns the block height the current snapshot was read at, as the
// gateway reported it; 0 if unknown or before the first refresh.
func (v *View) Height() int64 {
	if s := v.snap.Load(); s != nil {
		return s.height
	}
	return 0
}

// Skipped returns how many invalid node records the current snapshot
// skipped.
func (v *View) Skipped() int {
	if s := v.snap.Load(); s != nil {
		return s.skipped
	}
	return 0
}

// Node returns a copy of the node with the given ID, of any type or status.
func (v *View) Node(id string) (Node, bool) {
	s := v.snap.Load()
	if s == nil {
		return Node{}, false
	}
	n, ok := s.nodes[id]
	if !ok {
		return Node{}, false
	}
	return n.clone(), true
}

// Nodes returns copies of the nodes for which filter returns true (all nodes
// if filter is nil), sorted by ID. It returns nil before the first refresh.
func (v *View) Nodes(filter func(Node) bool) []Node {
	s := v.snap.Load()
	if s == nil {
		return nil
	}
	out := make([]Node, 0, len(s.nodes))
	for _, n := range s.nodes {
		if filter == nil || filter(n) {
			out = append(out, n.clone())
		}
	}
	slices.SortFunc(out, func(a, b Node) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// OrchestratorKey implements grant.Issuers: it returns the ed25519 public key
// of the orchestrator id. The error wraps grant.ErrUnknownIssuer if the view
// is not ready (and ErrNotReady), no node has that ID or the node is not an
// orchestrator, and grant.ErrIssuerNotActive if the orchestrator is JAILED or
// UNBONDING.
func (v *View) OrchestratorKey(id string) (ed25519.PublicKey, error) {
	s := v.snap.Load()
	if s == nil {
		return nil, fmt.Errorf("%w: %w", grant.ErrUnknownIssuer, ErrNotReady)
	}
	n, ok := s.nodes[id]
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: no such node in the registry", grant.ErrUnknownIssuer)
	case n.Type != TypeOrchestrator:
		return nil, fmt.Errorf("%w: the node is a %s node", grant.ErrUnknownIssuer, n.Type)
	case n.Status != StatusActive:
		return nil, fmt.Errorf("%w: the orchestrator is %s", grant.ErrIssuerNotActive, n.Status)
	}
	return slices.Clone(n.Pubkey), nil
}

package registryview_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/medianode/registryview"
)

func nodeKey(tb testing.TB, b byte) *format.NodeKey {
	tb.Helper()
	k, err := format.NodeKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
	require.NoError(tb, err)
	return k
}

// nodeJSON returns a node record as chroomd's REST gateway writes it:
// every field present, enums by name, 64-bit integers as strings.
func nodeJSON(k *format.NodeKey, nodeType, status, moniker string) map[string]any {
	return map[string]any{
		"id":        k.ID,
		"node_type": nodeType,
		"operator":  "chroom1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu",
		"pubkey":    k.PublicKeyBase64(),
		"moniker":   moniker,
		"endpoints": []string{"https://" + moniker + ".example.com", "turn:" + moniker + ".example.com:3478?transport=udp"},
		"region":    "DE-HE",
		"capacity":  map[string]any{"max_sessions": 500, "max_egress_kbps": "1000000"},
		"stake":     map[string]any{"denom": "uchr", "amount": "5000000"},
		"status":    status,
		// Fields the view ignores, present as the gateway emits them.
		"registered_height":         "12",
		"jailed_until":              "0001-01-01T00:00:00Z",
		"unbonding_completion_time": "0001-01-01T00:00:00Z",
		"stats": map[string]any{
			"sessions_served": "3", "verified_seconds": "5400", "bytes_served": "123456789",
			"quality_score": "0.900000000000000000", "last_verified_epoch": "7",
		},
		"slash_history": []any{},
	}
}

// gateway is a fake chroomd REST gateway serving the Nodes query in pages
// of pageSize, with next_key values that need URL escaping.
type gateway struct {
	t        testing.TB
	mu       sync.Mutex
	nodes    []any
	pageSize int
	height   int64
	status   int    // if not 0 or 200, every request fails with it
	stuckKey bool   // if set, next_key never advances
	raw      string // if set, the body of every successful response

	requests      int
	pinnedHeights []string // x-cosmos-block-height of each request
}

func (g *gateway) set(f func(g *gateway)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(g)
}

func (g *gateway) requestCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requests
}

// pageKey is an opaque next_key for the item at offset i; the 0xfb 0xff
// prefix makes its base64 contain '+' and '/'.
func pageKey(i int) string { return base64.StdEncoding.EncodeToString([]byte{0xfb, 0xff, byte(i)}) }

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests++
	g.pinnedHeights = append(g.pinnedHeights, r.Header.Get("x-cosmos-block-height"))
	w.Header().Set("Content-Type", "application/json")
	if g.status != 0 && g.status != http.StatusOK {
		w.WriteHeader(g.status)
		fmt.Fprint(w, `{"code":13,"message":"store is closed","details":[]}`)
		return
	}
	if r.URL.Path != registryview.NodesPath || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	if q.Get("pagination.limit") != strconv.Itoa(registryview.PageLimit) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"code":3,"message":"limit %q"}`, q.Get("pagination.limit"))
		return
	}
	start := 0
	if k := q.Get("pagination.key"); k != "" {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(b) != 3 || b[0] != 0xfb || b[1] != 0xff {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"code":3,"message":"invalid pagination key %q"}`, k)
			return
		}
		start = int(b[2])
	}
	end := min(start+g.pageSize, len(g.nodes))
	var next any // JSON null on the last page
	if end < len(g.nodes) {
		next = pageKey(end)
	}
	if g.stuckKey {
		next = pageKey(0)
	}
	w.Header().Set("Grpc-Metadata-X-Cosmos-Block-Height", strconv.FormatInt(g.height, 10))
	if g.raw != "" {
		fmt.Fprint(w, g.raw)
		return
	}
	body := map[string]any{
		"nodes":      g.nodes[start:end],
		"pagination": map[string]any{"next_key": next, "total": "0"},
	}
	require.NoError(g.t, json.NewEncoder(w).Encode(body))
}

// registry is a fake chain with two orchestrators, two media nodes and
// invalid records mixed in.
type registry struct {
	orch, orch2, media, media2, stranger *format.NodeKey
	gw                                   *gateway
	srv                                  *httptest.Server
}

func newRegistry(t *testing.T) *registry {
	r := &registry{
		orch: nodeKey(t, 1), orch2: nodeKey(t, 2), media: nodeKey(t, 3), media2: nodeKey(t, 4), stranger: nodeKey(t, 5),
	}
	mismatched := nodeJSON(r.stranger, "NODE_TYPE_MEDIA", "NODE_STATUS_ACTIVE", "liar")
	mismatched["pubkey"] = r.media.PublicKeyBase64() // id of stranger, key of media
	shortKey := nodeJSON(r.stranger, "NODE_TYPE_MEDIA", "NODE_STATUS_ACTIVE", "short")
	shortKey["pubkey"] = base64.StdEncoding.EncodeToString(r.stranger.PublicKey[:31])
	unknownType := nodeJSON(r.stranger, "NODE_TYPE_UNSPECIFIED", "NODE_STATUS_ACTIVE", "typeless")
	smallOrder := map[string]any{ // the identity point: forgeable under ZIP-215
		"id":     mustNodeID(t, identityPoint()),
		"pubkey": base64.StdEncoding.EncodeToString(identityPoint()), "node_type": "NODE_TYPE_ORCHESTRATOR", "status": "NODE_STATUS_ACTIVE",
	}
	r.gw = &gateway{
		t:        t,
		pageSize: 3,
		height:   42,
		nodes: []any{
			nodeJSON(r.orch, "NODE_TYPE_ORCHESTRATOR", "NODE_STATUS_ACTIVE", "orch-1"),
			nodeJSON(r.media, "NODE_TYPE_MEDIA", "NODE_STATUS_ACTIVE", "sfu-1"),
			mismatched,
			// page 2
			nodeJSON(r.media2, "NODE_TYPE_MEDIA", "NODE_STATUS_JAILED", "sfu-2"),
			nodeJSON(r.orch2, "NODE_TYPE_ORCHESTRATOR", "NODE_STATUS_UNBONDING", "orch-2"),
			shortKey,
			// page 3
			unknownType,
			smallOrder,
			"not an object",
		},
	}
	r.srv = httptest.NewServer(r.gw)
	t.Cleanup(r.srv.Close)
	return r
}

const validNodes, invalidNodes = 4, 5

func identityPoint() []byte {
	p := make([]byte, ed25519.PublicKeySize)
	p[0] = 1
	return p
}

func mustNodeID(tb testing.TB, pub []byte) string {
	tb.Helper()
	id, err := format.NodeID(pub)
	require.NoError(tb, err)
	return id
}

// setStatus changes the status of the node with the given key on the fake
// chain.
func (r *registry) setStatus(k *format.NodeKey, status string) {
	r.gw.set(func(g *gateway) {
		for _, n := range g.nodes {
			if m, ok := n.(map[string]any); ok && m["id"] == k.ID {
				m["status"] = status
			}
		}
		g.height++
	})
}

func (r *registry) view(t *testing.T, opts ...registryview.Option) *registryview.View {
	t.Helper()
	quiet := registryview.WithLogger(slog.New(slog.DiscardHandler))
	v, err := registryview.New(r.srv.URL+"/", append([]registryview.Option{quiet}, opts...)...)
	require.NoError(t, err)
	return v
}

func TestRefresh(t *testing.T) {
	r := newRegistry(t)
	v := r.view(t)
	ctx := context.Background()

	require.False(t, v.Ready())
	require.True(t, v.LastRefresh().IsZero())
	require.Nil(t, v.Nodes(nil))
	_, ok := v.Node(r.media.ID)
	require.False(t, ok)
	_, err := v.OrchestratorKey(r.orch.ID)
	require.ErrorIs(t, err, grant.ErrUnknownIssuer)
	require.ErrorIs(t, err, registryview.ErrNotReady)

	before := time.Now()
	require.NoError(t, v.Refresh(ctx))
	require.True(t, v.Ready())
	require.False(t, v.LastRefresh().Before(before))
	require.Equal(t, int64(42), v.Height())
	require.Equal(t, invalidNodes, v.Skipped())
	require.Equal(t, 3, r.gw.requestCount(), "three pages")
	require.Equal(t, []string{"", "42", "42"}, r.gw.pinnedHeights, "later pages are pinned to the first page's height")

	all := v.Nodes(nil)
	require.Len(t, all, validNodes)
	for i := 1; i < len(all); i++ {
		require.Less(t, all[i-1].ID, all[i].ID, "Nodes must be sorted by ID")
	}

	got, ok := v.Node(r.media.ID)
	require.True(t, ok)
	require.Equal(t, registryview.Node{
		ID:            r.media.ID,
		Type:          registryview.TypeMedia,
		Status:        registryview.StatusActive,
		Operator:      "chroom1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu",
		Moniker:       "sfu-1",
		Region:        "DE-HE",
		Pubkey:        r.media.PublicKey,
		Endpoints:     []string{"https://sfu-1.example.com", "turn:sfu-1.example.com:3478?transport=udp"},
		MaxSessions:   500,
		MaxEgressKbps: 1000000,
		Quality:       0.9,
	}, got)

	got.Endpoints[0] = "https://evil.example.com"
	got.Pubkey[0] ^= 0xff
	again, _ := v.Node(r.media.ID)
	require.Equal(t, "https://sfu-1.example.com", again.Endpoints[0], "Node must return a copy")
	require.Equal(t, r.media.PublicKey, again.Pubkey, "Node must return a copy")

	activeMedia := v.Nodes(func(n registryview.Node) bool {
		return n.Type == registryview.TypeMedia && n.Status == registryview.StatusActive
	})
	require.Len(t, activeMedia, 1)
	require.Equal(t, r.media.ID, activeMedia[0].ID)

	for _, skipped := range []string{r.stranger.ID, mustNodeID(t, identityPoint())} {
		_, ok := v.Node(skipped)
		require.False(t, ok, "invalid node %s must be skipped", skipped)
	}
}

func TestOrchestratorKey(t *testing.T) {
	r := newRegistry(t)
	v := r.view(t)
	ctx := context.Background()
	require.NoError(t, v.Refresh(ctx))

	key, err := v.OrchestratorKey(r.orch.ID)
	require.NoError(t, err)
	require.Equal(t, r.orch.PublicKey, key)

	tests := []struct {
		name    string
		id      string
		wantErr error
		errMsg  string
	}{
		{name: "unknown", id: r.stranger.ID, wantErr: grant.ErrUnknownIssuer, errMsg: "no such node"},
		{name: "media node", id: r.media.ID, wantErr: grant.ErrUnknownIssuer, errMsg: "is a media node"},
		{name: "unbonding orchestrator", id: r.orch2.ID, wantErr: grant.ErrIssuerNotActive, errMsg: "is unbonding"},
		{name: "garbage", id: "../../etc", wantErr: grant.ErrUnknownIssuer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.OrchestratorKey(tc.id)
			require.ErrorIs(t, err, tc.wantErr)
			require.ErrorContains(t, err, tc.errMsg)
		})
	}

	// The orchestrator is jailed on chain: grants it signed stop verifying
	// at the next refresh.
	verifier := &grant.Verifier{Audience: r.media.ID, ChainID: "chroom-test-1", Issuers: v}
	tok, err := grant.Issue(r.orch, grant.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   "bob",
			Audience:  jwt.ClaimStrings{r.media.ID},
			NotBefore: jwt.NewNumericDate(time.Now().Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
		},
		ChainID:     "chroom-test-1",
		Type:        grant.TypeJoin,
		Room:        "standup",
		Role:        grant.RoleViewer,
		Permissions: grant.DefaultPermissions(grant.RoleViewer),
	})
	require.NoError(t, err)
	_, err = verifier.Verify(tok)
	require.NoError(t, err)

	r.setStatus(r.orch, "NODE_STATUS_JAILED")
	require.NoError(t, v.Refresh(ctx))
	require.Equal(t, int64(43), v.Height())
	_, err = v.OrchestratorKey(r.orch.ID)
	require.ErrorIs(t, err, grant.ErrIssuerNotActive)
	require.ErrorContains(t, err, "is jailed")
	_, err = verifier.Verify(tok)
	require.ErrorIs(t, err, grant.ErrIssuerNotActive)

	r.setStatus(r.orch, "NODE_STATUS_ACTIVE")
	require.NoError(t, v.Refresh(ctx))
	_, err = verifier.Verify(tok)
	require.NoError(t, err, "unjailed orchestrator's grants verify again")
}

func TestRefreshFailureKeepsSnapshot(t *testing.T) {
	tests := []struct {
		name   string
		opts   []registryview.Option
		break_ func(g *gateway)
		errMsg string
	}{
		{name: "HTTP 500", break_: func(g *gateway) { g.status = http.StatusInternalServerError }, errMsg: "page 1: GET /chroom/registry/v1/nodes: HTTP 500: store is closed"},
		{name: "HTTP 400", break_: func(g *gateway) { g.status = http.StatusBadRequest }, errMsg: "HTTP 400"},
		{name: "truncated JSON", break_: func(g *gateway) { g.raw = `{"nodes":[{"id":"ab` }, errMsg: "response is not a nodes page"},
		{name: "nodes not an array", break_: func(g *gateway) { g.raw = `{"nodes":{}}` }, errMsg: "response is not a nodes page"},
		{name: "pagination stuck", break_: func(g *gateway) { g.stuckKey = true }, errMsg: "pagination did not advance"},
		{name: "oversized page", opts: []registryview.Option{registryview.WithMaxResponseBytes(16 << 10)},
			break_: func(g *gateway) {
				big := nodeJSON(nodeKey(t, 9), "NODE_TYPE_MEDIA", "NODE_STATUS_ACTIVE", strings.Repeat("m", 20<<10))
				g.nodes = append([]any{big}, g.nodes...)
			}, errMsg: "over the 16384-byte limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRegistry(t)
			v := r.view(t, tc.opts...)
			ctx := context.Background()
			require.NoError(t, v.Refresh(ctx))
			at := v.LastRefresh()

			r.gw.set(tc.break_)
			r.setStatus(r.orch, "NODE_STATUS_JAILED")
			err := v.Refresh(ctx)
			require.Error(t, err)
			require.ErrorContains(t, err, tc.errMsg)

			require.True(t, v.Ready())
			require.Equal(t, at, v.LastRefresh())
			require.Len(t, v.Nodes(nil), validNodes)
			_, err = v.OrchestratorKey(r.orch.ID)
			require.NoError(t, err, "the last good snapshot (orchestrator ACTIVE) stays")
		})
	}
}

func TestRefreshContext(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(block) })

	t.Run("request timeout", func(t *testing.T) {
		v, err := registryview.New(srv.URL, registryview.WithRequestTimeout(50*time.Millisecond), registryview.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		err = v.Refresh(context.Background())
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.False(t, v.Ready())
	})
	t.Run("canceled context", func(t *testing.T) {
		v, err := registryview.New(srv.URL, registryview.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.ErrorIs(t, v.Refresh(ctx), context.Canceled)
	})
}

func TestDecodeTolerance(t *testing.T) {
	k := nodeKey(t, 7)
	n := map[string]any{
		"id":           k.ID,
		"node_type":    2, // enums as numbers
		"status":       1,
		"pubkey":       base64.RawURLEncoding.EncodeToString(k.PublicKey),
		"capacity":     map[string]any{"max_sessions": "10", "max_egress_kbps": 2000},
		"stats":        map[string]any{"quality_score": "not a number"},
		"future_field": map[string]any{"x": []int{1, 2}},
	}
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		require.NoError(t, json.NewEncoder(w).Encode(map[string]any{"nodes": []any{n}, "extra": true}))
	}))
	t.Cleanup(srv.Close)
	v, err := registryview.New(srv.URL, registryview.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	require.NoError(t, v.Refresh(context.Background()))
	require.Zero(t, v.Height(), "no height header")
	got, ok := v.Node(k.ID)
	require.True(t, ok)
	require.Equal(t, registryview.TypeOrchestrator, got.Type)
	require.Equal(t, registryview.StatusActive, got.Status)
	require.Equal(t, uint32(10), got.MaxSessions)
	require.Equal(t, uint64(2000), got.MaxEgressKbps)
	require.Zero(t, got.Quality)
	require.Nil(t, got.Endpoints)

	t.Run("max_sessions overflow is skipped", func(t *testing.T) {
		mu.Lock()
		n["capacity"] = map[string]any{"max_sessions": "4294967296", "max_egress_kbps": "1"}
		mu.Unlock()
		require.NoError(t, v.Refresh(context.Background()))
		require.Equal(t, 1, v.Skipped())
		require.Empty(t, v.Nodes(nil))
	})
}

func TestRun(t *testing.T) {
	r := newRegistry(t)
	var logs syncBuffer
	v := r.view(t, registryview.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		v.Run(ctx, 10*time.Millisecond)
	}()

	require.Eventually(t, v.Ready, 5*time.Second, 5*time.Millisecond)
	_, err := v.OrchestratorKey(r.orch.ID)
	require.NoError(t, err)

	r.setStatus(r.orch, "NODE_STATUS_JAILED")
	require.Eventually(t, func() bool {
		_, err := v.OrchestratorKey(r.orch.ID)
		return err != nil
	}, 5*time.Second, 5*time.Millisecond, "jailing must show up at a later refresh")

	r.gw.set(func(g *gateway) { g.status = http.StatusInternalServerError })
	at := v.LastRefresh()
	n := r.gw.requestCount()
	require.Eventually(t, func() bool { return r.gw.requestCount() >= n+3 }, 5*time.Second, 5*time.Millisecond)
	require.True(t, v.Ready())
	require.Equal(t, at, v.LastRefresh(), "failed refreshes keep the last snapshot")
	_, err = v.OrchestratorKey(r.orch.ID)
	require.ErrorIs(t, err, grant.ErrIssuerNotActive)

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context was canceled")
	}
	out := logs.String()
	require.Contains(t, out, "registry view refresh failed; keeping the last snapshot")
	require.Contains(t, out, "HTTP 500: store is closed")
	require.Contains(t, out, "registry view skipped invalid nodes")
	require.Contains(t, out, "component=registryview")
}

func TestNew(t *testing.T) {
	tests := []struct {
		url    string
		errMsg string
	}{
		{url: "127.0.0.1:1317", errMsg: "absolute http or https"},
		{url: "ftp://node.example.com", errMsg: "absolute http or https"},
		{url: "http://", errMsg: "absolute http or https"},
		{url: "http://user:pw@node.example.com", errMsg: "user info"},
		{url: "http://node.example.com/?a=b", errMsg: "query"},
		{url: "http://node.example.com/api", errMsg: ""},
		{url: "https://node.example.com:1317", errMsg: ""},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			v, err := registryview.New(tc.url)
			if tc.errMsg == "" {
				require.NoError(t, err)
				require.NotNil(t, v)
				return
			}
			require.ErrorContains(t, err, tc.errMsg)
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the logger and the test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

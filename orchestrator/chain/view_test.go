package chain_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/orchestrator/chain"
	"github.com/chroom/chroom/testutil/sample"
	registrytypes "github.com/chroom/chroom/x/registry/types"
)

// fakeSource is a registry at a settable height; it counts node reads.
type fakeSource struct {
	mu     sync.Mutex
	height int64
	nodes  []registrytypes.Node
	err    error
	reads  int
}

func (s *fakeSource) LatestHeight(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.height, s.err
}

func (s *fakeSource) Nodes(context.Context) ([]registrytypes.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	return append([]registrytypes.Node(nil), s.nodes...), s.err
}

func (s *fakeSource) set(f func(*fakeSource)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func node(t *testing.T, n int, typ registrytypes.NodeType, st registrytypes.NodeStatus) registrytypes.Node {
	t.Helper()
	m := sample.RegisterMediaNode(sample.AccAddress(n), n, "DE")
	return registrytypes.Node{
		Id: sample.NodeKey(n).ID, NodeType: typ, Operator: m.Operator, Pubkey: m.Pubkey,
		Endpoints: m.Endpoints, Region: m.Region, Status: st, Stake: m.Stake,
	}
}

func TestViewRefreshesOnNewBlocks(t *testing.T) {
	media := node(t, 1, registrytypes.NodeType_NODE_TYPE_MEDIA, registrytypes.NodeStatus_NODE_STATUS_ACTIVE)
	jailed := node(t, 2, registrytypes.NodeType_NODE_TYPE_MEDIA, registrytypes.NodeStatus_NODE_STATUS_JAILED)
	orch := node(t, 3, registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR, registrytypes.NodeStatus_NODE_STATUS_ACTIVE)
	src := &fakeSource{height: 10, nodes: []registrytypes.Node{media, jailed, orch}}
	v := chain.NewView(src, nil)

	require.False(t, v.Ready())
	_, err := v.MediaNodeKey(media.Id)
	require.ErrorIs(t, err, chain.ErrNotReady)

	changed, err := v.Refresh(t.Context())
	require.NoError(t, err)
	require.True(t, changed)
	require.True(t, v.Ready())
	require.Equal(t, int64(10), v.Height())
	require.Len(t, v.Nodes(nil), 3)
	require.Equal(t, []registrytypes.Node{media}, v.Nodes(chain.Active(registrytypes.NodeType_NODE_TYPE_MEDIA)))
	require.Len(t, v.Nodes(chain.Active(registrytypes.NodeType_NODE_TYPE_UNSPECIFIED)), 2)
	got, ok := v.Node(orch.Id)
	require.True(t, ok)
	require.Equal(t, orch, got)

	// The same height is not read again; a new one is.
	changed, err = v.Refresh(t.Context())
	require.NoError(t, err)
	require.False(t, changed)
	require.Equal(t, 1, src.reads)
	src.set(func(s *fakeSource) { s.height, s.nodes = 11, []registrytypes.Node{media} })
	changed, err = v.Refresh(t.Context())
	require.NoError(t, err)
	require.True(t, changed)
	_, ok = v.Node(orch.Id)
	require.False(t, ok)

	// A failed refresh keeps the snapshot.
	src.set(func(s *fakeSource) { s.height, s.err = 12, errors.New("connection refused") })
	_, err = v.Refresh(t.Context())
	require.ErrorContains(t, err, "connection refused")
	require.Equal(t, int64(11), v.Height())
	require.Len(t, v.Nodes(nil), 1)
}

func TestViewMediaNodeKey(t *testing.T) {
	media := node(t, 1, registrytypes.NodeType_NODE_TYPE_MEDIA, registrytypes.NodeStatus_NODE_STATUS_JAILED)
	orch := node(t, 3, registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR, registrytypes.NodeStatus_NODE_STATUS_ACTIVE)
	forged := node(t, 4, registrytypes.NodeType_NODE_TYPE_MEDIA, registrytypes.NodeStatus_NODE_STATUS_ACTIVE)
	forged.Pubkey = sample.NodeKey(5).PublicKey // ID does not match the key
	v := chain.NewView(&fakeSource{height: 1, nodes: []registrytypes.Node{media, orch, forged}}, nil)
	_, err := v.Refresh(t.Context())
	require.NoError(t, err)

	key, err := v.MediaNodeKey(media.Id)
	require.NoError(t, err, "a jailed media node's key is still known")
	require.Equal(t, sample.NodeKey(1).PublicKey, key)
	for name, id := range map[string]string{"orchestrator": orch.Id, "unknown": sample.NodeKey(9).ID, "forged": forged.Id} {
		_, err := v.MediaNodeKey(id)
		require.ErrorIs(t, err, chain.ErrNodeNotFound, name)
	}
}

func TestViewRun(t *testing.T) {
	src := &fakeSource{height: 1}
	v := chain.NewView(src, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx, 5*time.Millisecond) }()
	require.Eventually(t, v.Ready, time.Second, time.Millisecond)
	src.set(func(s *fakeSource) {
		s.height = 2
		s.nodes = []registrytypes.Node{node(t, 1, registrytypes.NodeType_NODE_TYPE_MEDIA, registrytypes.NodeStatus_NODE_STATUS_ACTIVE)}
	})
	require.Eventually(t, func() bool { return v.Height() == 2 && len(v.Nodes(nil)) == 1 }, time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

// paramsSource is a fakeSource that also serves x/registry params.
type paramsSource struct {
	*fakeSource
	params registrytypes.Params
}

func (p paramsSource) RegistryParams(context.Context) (registrytypes.Params, error) {
	return p.params, nil
}

// With params, the view reports a media node's stake-backed capacity (what
// the chain credits), not what it declared; orchestrators keep theirs.
func TestViewReportsStakeBackedCapacity(t *testing.T) {
	media := node(t, 1, registrytypes.NodeType_NODE_TYPE_MEDIA, registrytypes.NodeStatus_NODE_STATUS_ACTIVE)
	media.Capacity = registrytypes.Capacity{MaxSessions: 4_294_967_295, MaxEgressKbps: 10_000_000}
	media.Stake = sdk.NewInt64Coin("uchr", 1_000_000)
	orch := node(t, 2, registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR, registrytypes.NodeStatus_NODE_STATUS_ACTIVE)
	orch.Capacity = media.Capacity
	src := paramsSource{&fakeSource{height: 5, nodes: []registrytypes.Node{media, orch}}, registrytypes.DefaultParams()}
	v := chain.NewView(src, nil)
	_, err := v.Refresh(t.Context())
	require.NoError(t, err)
	m, ok := v.NodeInfo(media.Id)
	require.True(t, ok)
	require.Equal(t, uint32(100), m.MaxSessions)
	require.Equal(t, uint64(200_000), m.MaxEgressKbps)
	o, ok := v.NodeInfo(orch.Id)
	require.True(t, ok)
	require.Equal(t, uint32(4_294_967_295), o.MaxSessions)
}

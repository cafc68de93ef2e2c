package chain

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
	registrytypes "github.com/chroom/chroom/x/registry/types"
)

// DefaultPollInterval is how often View.Run asks for the latest height when
// it is given zero or less.
const DefaultPollInterval = time.Second

var (
	// ErrNotReady means the View has not loaded the registry yet.
	ErrNotReady = errors.New("registry view has not loaded yet")
	// ErrNodeNotFound means no node with that ID is registered (or it is
	// not of the type asked for).
	ErrNodeNotFound = errors.New("node is not registered")
)

// Source is what a View reads: Client implements it.
type Source interface {
	LatestHeight(ctx context.Context) (int64, error)
	Nodes(ctx context.Context) ([]registrytypes.Node, error)
}

// ParamsSource is a Source that also reads x/registry's params; a View
// over one reports media nodes' stake-backed capacity. Client implements
// it.
type ParamsSource interface {
	RegistryParams(ctx context.Context) (registrytypes.Params, error)
}

// View is an in-memory snapshot of the registry, replaced as a whole each
// time Refresh sees a new block. Lookups never block on the network; all
// methods are safe for concurrent use.
type View struct {
	src Source
	log *slog.Logger

	refreshMu sync.Mutex // serializes Refresh, so snapshots are stored in order
	snap      atomic.Pointer[snapshot]
}

// snapshot is one complete read of the registry; never modified once
// stored.
type snapshot struct {
	height int64
	nodes  []registrytypes.Node // in the order the chain returned them
	byID   map[string]int       // index into nodes
	at     time.Time
}

// NewView returns an empty view of src's registry. log may be nil
// (slog.Default()); the view logs under component=chainview. It does no
// I/O: call Refresh or Run.
func NewView(src Source, log *slog.Logger) *View {
	if log == nil {
		log = slog.Default()
	}
	return &View{src: src, log: log.With("component", "chainview")}
}

// Refresh reads the latest height and, if it is above the snapshot's (or
// there is no snapshot yet), reads the whole node list and replaces the
// snapshot. It reports whether it replaced it. On an error the previous
// snapshot stays in place.
func (v *View) Refresh(ctx context.Context) (bool, error) {
	v.refreshMu.Lock()
	defer v.refreshMu.Unlock()
	h, err := v.src.LatestHeight(ctx)
	if err != nil {
		return false, fmt.Errorf("refresh registry view: %w", err)
	}
	if old := v.snap.Load(); old != nil && h <= old.height {
		return false, nil
	}
	nodes, err := v.src.Nodes(ctx)
	if err != nil {
		return false, fmt.Errorf("refresh registry view at height %d: %w", h, err)
	}
	// Media nodes are placed by the capacity their stake backs (x/registry
	// stake_per_session, stake_per_egress_mbps), which is all the chain
	// credits them for.
	if ps, ok := v.src.(ParamsSource); ok {
		params, err := ps.RegistryParams(ctx)
		if err != nil {
			return false, fmt.Errorf("refresh registry view at height %d: params: %w", h, err)
		}
		for i := range nodes {
			if nodes[i].NodeType == registrytypes.NodeType_NODE_TYPE_MEDIA {
				nodes[i].Capacity = params.BackedCapacity(nodes[i])
			}
		}
	}
	s := &snapshot{height: h, nodes: nodes, byID: make(map[string]int, len(nodes)), at: time.Now()}
	for i := range nodes {
		s.byID[nodes[i].Id] = i
	}
	v.snap.Store(s)
	return true, nil
}

// Run refreshes the view every poll (DefaultPollInterval if poll ≤ 0) until
// ctx ends, so the node list follows each new block within about one poll.
// Errors are logged (the previous snapshot stays); Run returns ctx's error.
func (v *View) Run(ctx context.Context, poll time.Duration) error {
	if poll <= 0 {
		poll = DefaultPollInterval
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	failing := false
	for {
		if _, err := v.Refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !failing {
				v.log.Warn("registry refresh failed; keeping the last snapshot", "height", v.Height(), "err", err)
			}
			failing = true
		} else if failing {
			v.log.Info("registry refresh recovered", "height", v.Height())
			failing = false
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Ready reports whether the view holds a snapshot.
func (v *View) Ready() bool { return v.snap.Load() != nil }

// Height is the block height of the snapshot, 0 before the first.
func (v *View) Height() int64 {
	if s := v.snap.Load(); s != nil {
		return s.height
	}
	return 0
}

// UpdatedAt is when the snapshot was read (zero before the first).
func (v *View) UpdatedAt() time.Time {
	if s := v.snap.Load(); s != nil {
		return s.at
	}
	return time.Time{}
}

// Nodes returns the snapshot's nodes for which filter returns true (all of
// them if filter is nil), in the chain's order. The structs are copies but
// share their slices (pubkey, endpoints) with the snapshot: do not modify
// them.
func (v *View) Nodes(filter func(*registrytypes.Node) bool) []registrytypes.Node {
	s := v.snap.Load()
	if s == nil {
		return nil
	}
	var out []registrytypes.Node
	for i := range s.nodes {
		if filter == nil || filter(&s.nodes[i]) {
			out = append(out, s.nodes[i])
		}
	}
	return out
}

// Node returns the node with ID id, and whether the snapshot has it. Its
// slices are shared with the snapshot, as in Nodes.
func (v *View) Node(id string) (registrytypes.Node, bool) {
	s := v.snap.Load()
	if s == nil {
		return registrytypes.Node{}, false
	}
	i, ok := s.byID[id]
	if !ok {
		return registrytypes.Node{}, false
	}
	return s.nodes[i], true
}

// Active is a Nodes filter: ACTIVE nodes of type t (any type if t is
// NODE_TYPE_UNSPECIFIED).
func Active(t registrytypes.NodeType) func(*registrytypes.Node) bool {
	return func(n *registrytypes.Node) bool {
		return n.Status == registrytypes.NodeStatus_NODE_STATUS_ACTIVE &&
			(t == registrytypes.NodeType_NODE_TYPE_UNSPECIFIED || n.NodeType == t)
	}
}

// MediaNodeKey returns the registered ed25519 key of the media node id,
// whatever its status (the chain checks ACTIVE when receipts are
// submitted). The error wraps ErrNotReady before the first snapshot, and
// ErrNodeNotFound if id is not a registered media node or its registered
// key is not a 32-byte key whose node ID is id.
func (v *View) MediaNodeKey(id string) (ed25519.PublicKey, error) {
	if !v.Ready() {
		return nil, ErrNotReady
	}
	n, ok := v.Node(id)
	if !ok || n.NodeType != registrytypes.NodeType_NODE_TYPE_MEDIA {
		return nil, fmt.Errorf("%w: no media node %s at height %d", ErrNodeNotFound, id, v.Height())
	}
	if got, err := format.NodeID(n.Pubkey); err != nil || got != id {
		return nil, fmt.Errorf("%w: media node %s has an unusable registered key", ErrNodeNotFound, id)
	}
	return ed25519.PublicKey(n.Pubkey), nil
}

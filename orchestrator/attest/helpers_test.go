package attest_test

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/orchestrator/attest"
	"github.com/chroom/chroom/orchestrator/chain"
	"github.com/chroom/chroom/orchestrator/store"
	"github.com/chroom/chroom/testutil/sample"
	verificationtypes "github.com/chroom/chroom/x/verification/types"
)

const chainID = "chroom-test-1"

var (
	mediaKey = sample.NodeKey(1)
	orchKey  = sample.NodeKey(2)
	otherKey = sample.NodeKey(3) // a registered media node that is not the sender
)

// fakeRegistry knows mediaKey and otherKey; notReady makes every lookup a
// transient failure.
type fakeRegistry struct {
	mu       sync.Mutex
	notReady bool
}

func (r *fakeRegistry) MediaNodeKey(id string) (ed25519.PublicKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.notReady {
		return nil, chain.ErrNotReady
	}
	for _, k := range []*format.NodeKey{mediaKey, otherKey} {
		if k.ID == id {
			return k.PublicKey, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", chain.ErrNodeNotFound, id)
}

// fakeSessions refuses sessions listed in unknown / off, fails with err,
// and otherwise passes.
type fakeSessions struct {
	unknown, off map[string]bool // by session ID hex
	err          error
}

func (s *fakeSessions) Check(r *format.UsageReceipt) (*format.ClientAttestation, error) {
	switch {
	case s.err != nil:
		return nil, s.err
	case s.unknown[r.SessionIDHex()]:
		return nil, fmt.Errorf("%w: %s", attest.ErrUnknownSession, r.SessionIDHex())
	case s.off[r.SessionIDHex()]:
		return nil, fmt.Errorf("%w: left 30 s before end_unix_ms", attest.ErrOutOfTolerance)
	}
	return nil, nil
}

// fakeEpochs is a fixed current epoch.
type fakeEpochs int64

func (e fakeEpochs) CurrentEpoch(context.Context) (int64, error) { return int64(e), nil }

// fakeChain is an in-memory chain: Prepare signs nothing but encodes the
// message with a fresh sequence (so every Prepare yields a new hash, as a
// real account would); Broadcast includes a tx in a block at once unless
// told otherwise. It keeps the chain's replay set, so a receipt included
// twice shows up as a DUPLICATE rejection.
type fakeChain struct {
	mu       sync.Mutex
	height   int64
	seq      uint64
	prepared map[string][]format.SignedReceipt
	included map[string]chain.Result
	onChain  map[string]int // receipt key → times accepted

	// Failure knobs.
	down          int // the next `down` calls of any method fail (transport)
	loseResponse  int // the next `loseResponse` broadcasts are included but answered with an error
	dropBroadcast int // the next `dropBroadcast` broadcasts vanish (never included)
	refuseSeq     int // the next `refuseSeq` broadcasts are refused for a wrong sequence
	failCode      int // the next `failCode` broadcasts are included with code 11 (out of gas)
	broadcastHook func(*chain.Tx)

	// Call log.
	prepares   int
	broadcasts []string
	lookups    []string
}

func newFakeChain() *fakeChain {
	return &fakeChain{
		height:   100,
		prepared: map[string][]format.SignedReceipt{},
		included: map[string]chain.Result{},
		onChain:  map[string]int{},
	}
}

var errDown = errors.New("rpc error: code = Unavailable desc = connection refused")

func (c *fakeChain) failing() bool {
	if c.down > 0 {
		c.down--
		return true
	}
	return false
}

func (c *fakeChain) Prepare(_ context.Context, rs []format.SignedReceipt) (*chain.Tx, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failing() {
		return nil, errDown
	}
	c.prepares++
	c.seq++
	msg := verificationtypes.MsgSubmitReceipts{Submitter: "chroom1fake", Receipts: rs}
	bz, err := msg.Marshal()
	if err != nil {
		return nil, err
	}
	bz = binary.BigEndian.AppendUint64(bz, c.seq)
	tx := &chain.Tx{Bytes: bz, Hash: chain.TxHash(bz), TimeoutHeight: c.height + 5, Sequence: c.seq, Receipts: len(rs)}
	c.prepared[tx.Hash] = append([]format.SignedReceipt(nil), rs...)
	return tx, nil
}

func (c *fakeChain) Broadcast(_ context.Context, tx *chain.Tx) (chain.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broadcastHook != nil {
		c.broadcastHook(tx)
	}
	if c.failing() {
		return chain.Result{TxHash: tx.Hash}, errDown
	}
	c.broadcasts = append(c.broadcasts, tx.Hash)
	if r, ok := c.included[tx.Hash]; ok {
		return r, nil // already in a block: the node answers "in cache" and GetTx finds it
	}
	switch {
	case c.refuseSeq > 0:
		c.refuseSeq--
		return chain.Result{TxHash: tx.Hash}, &chain.TxRefusedError{Hash: tx.Hash, Code: 32, Codespace: "sdk", Log: "account sequence mismatch, expected 9, got 8"}
	case c.dropBroadcast > 0:
		c.dropBroadcast--
		return chain.Result{TxHash: tx.Hash}, fmt.Errorf("%w: tx %s", chain.ErrTxNotIncluded, tx.Hash)
	case c.failCode > 0:
		c.failCode--
		c.height++
		r := chain.Result{TxHash: tx.Hash, Height: c.height, Code: 11, Codespace: "sdk", Log: "out of gas"}
		c.included[tx.Hash] = r
		return r, fmt.Errorf("%w: out of gas", chain.ErrTxFailed)
	}
	r := c.include(tx)
	if c.loseResponse > 0 {
		c.loseResponse--
		return chain.Result{TxHash: tx.Hash}, fmt.Errorf("wait for tx %s: %w", tx.Hash, context.DeadlineExceeded)
	}
	return r, nil
}

// include puts tx in a new block and applies the chain's replay rule.
func (c *fakeChain) include(tx *chain.Tx) chain.Result {
	c.height++
	r := chain.Result{TxHash: tx.Hash, Height: c.height}
	for i, s := range c.prepared[tx.Hash] {
		k := receiptKey(s.Receipt)
		if c.onChain[k] > 0 {
			r.Rejected = append(r.Rejected, chain.Rejection{Index: uint32(i), Reason: "duplicate"})
		} else {
			r.Accepted = append(r.Accepted, uint32(i))
		}
		c.onChain[k]++
	}
	c.included[tx.Hash] = r
	return r
}

func (c *fakeChain) TxResult(_ context.Context, hash string) (chain.Result, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failing() {
		return chain.Result{}, false, errDown
	}
	c.lookups = append(c.lookups, hash)
	r, ok := c.included[hash]
	return r, ok, nil
}

func (c *fakeChain) LatestHeight(context.Context) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failing() {
		return 0, errDown
	}
	return c.height, nil
}

func (c *fakeChain) set(f func(c *fakeChain)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(c)
}

// acceptedTimes is how many times the chain accepted or saw each receipt:
// every value must be 1 for exactly-once.
func (c *fakeChain) timesSeen() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.onChain {
		out[k] = v
	}
	return out
}

func receiptKey(r *format.UsageReceipt) string {
	return fmt.Sprintf("%d/%s/%x", r.Epoch, r.MediaNodeId, r.SessionId)
}

// env is a pipeline on files in a temp dir, reopenable to simulate a
// restart.
type env struct {
	t        testing.TB
	dir      string
	chain    *fakeChain
	registry *fakeRegistry
	sessions *fakeSessions
	epochs   attest.EpochSource
	batch    int
	p        *attest.Pipeline
	metrics  *attest.Metrics
}

func newEnv(t testing.TB) *env {
	e := &env{
		t: t, dir: t.TempDir(), chain: newFakeChain(), registry: &fakeRegistry{},
		sessions: &fakeSessions{unknown: map[string]bool{}, off: map[string]bool{}}, batch: 200,
	}
	e.open()
	return e
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// open opens the store and builds a new pipeline on it.
func (e *env) open() {
	st, err := store.Open(filepath.Join(e.dir, "orchestrator.db"))
	require.NoError(e.t, err)
	m, err := attest.NewMetrics(nil)
	require.NoError(e.t, err)
	e.metrics = m
	e.p = &attest.Pipeline{
		Key: orchKey, ChainID: chainID, Registry: e.registry, Sessions: e.sessions,
		Store: st, Chain: e.chain, Epochs: e.epochs, BatchSize: e.batch, Metrics: m, Log: quiet,
	}
	e.t.Cleanup(func() { st.Close() })
}

// restart closes the files (as a crash would leave them) and opens a new
// pipeline on them.
func (e *env) restart() {
	require.NoError(e.t, e.p.Store.Close())
	e.open()
}

// signed returns session n's receipt in epoch, signed by key (which must be
// the receipt's media node).
func signed(t testing.TB, key *format.NodeKey, epoch int64, n int) *format.SignedReceipt {
	t.Helper()
	s, err := format.SignReceipt(key, chainID, sample.Receipt(key, orchKey, epoch, n))
	require.NoError(t, err)
	return s
}

func batch(t testing.TB, from, to int) []*format.SignedReceipt {
	var out []*format.SignedReceipt
	for n := from; n < to; n++ {
		out = append(out, signed(t, mediaKey, 7, n))
	}
	return out
}

func (e *env) intakeAll(rs []*format.SignedReceipt) {
	e.t.Helper()
	acc, ref, err := e.p.Intake(mediaKey.ID, rs)
	require.NoError(e.t, err)
	require.Empty(e.t, ref)
	require.Len(e.t, acc, len(rs))
}

func (e *env) queueLen() int {
	n, err := e.p.Store.Len()
	require.NoError(e.t, err)
	return n
}

// value reads a counter or gauge.
func value(t testing.TB, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	require.NoError(t, m.Write(&d))
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

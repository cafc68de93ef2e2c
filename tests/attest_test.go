package tests

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/orchestrator/attest"
	orchchain "github.com/chroom/chroom/orchestrator/chain"
	"github.com/chroom/chroom/orchestrator/store"
	"github.com/chroom/chroom/testutil/sample"
	verificationtypes "github.com/chroom/chroom/x/verification/types"
)

// TestAttestationPipelineOnChain runs the orchestrator's attestation
// pipeline against a live chain: a media node's receipts are countersigned,
// queued, batched into MsgSubmitReceipts signed with the operator's keyring
// key, and land on chain exactly once — also when the chain is unreachable
// for a while and the orchestrator restarts between a broadcast and its
// acknowledgement.
func TestAttestationPipelineOnChain(t *testing.T) {
	began := time.Now()
	c := startChain(t, nil)
	operator := c.val.Address
	mediaKey, orchKey := sample.NodeKey(21), sample.NodeKey(22)
	res := c.deliver(sample.RegisterMediaNode(operator, 21, "DE"), sample.RegisterOrchestrator(operator, 22, "DE"))
	require.Zero(t, res.Code, res.RawLog)

	ctx := t.Context()
	client, err := orchchain.Dial(ctx, c.val.AppConfig.GRPC.Address)
	require.NoError(t, err)
	t.Cleanup(func() { client.Close() })
	view := orchchain.NewView(client, nil)
	viewCtx, stopView := context.WithCancel(ctx)
	t.Cleanup(stopView)
	go func() { _ = view.Run(viewCtx, 200*time.Millisecond) }()
	require.Eventually(t, func() bool {
		_, err := view.MediaNodeKey(mediaKey.ID)
		return err == nil
	}, 20*time.Second, 100*time.Millisecond, "the view sees the registered media node")

	// A missing key is reported with its name and the keyring directory.
	_, err = orchchain.NewSubmitter(ctx, client, orchchain.SubmitterConfig{
		KeyName: "nobody", KeyringBackend: keyring.BackendTest, KeyringDir: c.val.ClientCtx.KeyringDir,
	})
	require.ErrorContains(t, err, `key "nobody" not found in the test keyring in `+c.val.ClientCtx.KeyringDir)

	sub, err := orchchain.NewSubmitter(ctx, client, orchchain.SubmitterConfig{
		KeyName: c.val.Moniker, KeyringBackend: keyring.BackendTest, KeyringDir: c.val.ClientCtx.KeyringDir,
		Fees: sdk.NewCoins(sdk.NewInt64Coin("uchr", 10)), InclusionTimeout: 20 * time.Second,
	})
	require.NoError(t, err)
	require.Equal(t, operator.String(), sub.Address())
	require.Equal(t, c.val.ClientCtx.ChainID, sub.ChainID())

	epoch, err := client.CurrentEpoch(ctx)
	require.NoError(t, err)
	require.Positive(t, epoch)
	// Receipt times a few minutes back from now: the chain refuses
	// segments outside its time window around the block time.
	base := time.Now().Add(-3 * time.Minute)
	// The fake media node: receipts of sessions [from, to) in this epoch.
	mediaReceipts := func(from, to int) []*format.SignedReceipt {
		var out []*format.SignedReceipt
		for n := from; n < to; n++ {
			s, err := format.SignReceipt(mediaKey, sub.ChainID(), sample.ReceiptAt(mediaKey, orchKey, epoch, n, base))
			require.NoError(t, err)
			out = append(out, s)
		}
		return out
	}

	dir := t.TempDir()
	metrics, err := attest.NewMetrics(nil)
	require.NoError(t, err)
	rec := &recordingChain{Submitter: sub, sessions: map[string][]string{}}
	pipeline := func(ch attest.Chain) *attest.Pipeline {
		st, err := store.Open(filepath.Join(dir, "orchestrator.db"))
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		return &attest.Pipeline{
			Key: orchKey, ChainID: sub.ChainID(), Registry: view, Sessions: acceptAll{}, Store: st,
			Chain: ch, Epochs: client, BatchSize: 4, MaxBackoff: time.Second, Metrics: metrics,
		}
	}
	run := func(p *attest.Pipeline) (stop func()) {
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = p.Run(ctx, 200*time.Millisecond) }()
		return func() { cancel(); <-done }
	}
	drained := func(p *attest.Pipeline) func() bool {
		return func() bool {
			n, err := p.Store.Len()
			_, inFlight, jerr := p.Store.InFlight()
			return err == nil && jerr == nil && n == 0 && !inFlight
		}
	}
	sessions := func() uint64 {
		r, err := verificationtypes.NewQueryClient(c.conn).NodeEpoch(ctx, &verificationtypes.QueryNodeEpochRequest{NodeId: mediaKey.ID, Epoch: epoch})
		require.NoError(t, err)
		return r.Tally.Sessions
	}

	// 1. Ten receipts: countersigned, queued, submitted in txs of four.
	p := pipeline(rec)
	acc, refused, err := p.Intake(mediaKey.ID, mediaReceipts(1, 11))
	require.NoError(t, err)
	require.Empty(t, refused)
	require.Len(t, acc, 10)
	stop := run(p)
	require.Eventually(t, drained(p), 60*time.Second, 100*time.Millisecond)
	stop()
	require.Equal(t, uint64(10), sessions())
	require.Equal(t, 3, rec.txs(), "10 receipts in batches of 4")

	// 2. Six more, while the chain is unreachable for a while; when it
	// answers again, the first broadcast is included but its answer is
	// lost and the connection dies: the orchestrator is restarted from the
	// same files with a working connection.
	acc, refused, err = p.Intake(mediaKey.ID, mediaReceipts(11, 17))
	require.NoError(t, err)
	require.Empty(t, refused)
	require.Len(t, acc, 6)
	flaky := &flakyChain{Chain: rec, failFirst: 5}
	stop = run(pipeline2(p, flaky))
	require.Eventually(t, func() bool { return flaky.lost() != "" }, 60*time.Second, 100*time.Millisecond)
	stop()
	lost := flaky.lost()
	require.NoError(t, p.Store.Close())

	lookupsBefore := rec.lookupCount()
	p = pipeline(rec)
	stop = run(p)
	require.Eventually(t, drained(p), 60*time.Second, 100*time.Millisecond)
	stop()
	require.Equal(t, lost, rec.lookup(lookupsBefore), "after the restart the recorded tx is looked up first")

	// Exactly once: every session went into exactly one broadcast tx, the
	// lost one was broadcast once, and the chain tallied all sixteen with
	// no rejections.
	require.Equal(t, uint64(16), sessions())
	rec.requireEachInOneTx(t, 16)
	require.Equal(t, 1, rec.broadcastsOf(lost))
	require.Equal(t, 16.0, counter(t, metrics.Submitted))
	require.Zero(t, sumCounters(t, metrics.Rejected))

	// Submit (sign, broadcast, wait) decodes the chain's verdict per
	// receipt: a copy of an accepted receipt is a duplicate, a new one is
	// accepted.
	again := sample.Sign(mediaKey, orchKey, sub.ChainID(), sample.ReceiptAt(mediaKey, orchKey, epoch, 1, base))
	fresh := sample.Sign(mediaKey, orchKey, sub.ChainID(), sample.ReceiptAt(mediaKey, orchKey, epoch, 99, base))
	result, err := sub.Submit(ctx, []format.SignedReceipt{again, fresh})
	require.NoError(t, err)
	require.Equal(t, []uint32{1}, result.Accepted)
	require.Len(t, result.Rejected, 1)
	require.Equal(t, uint32(0), result.Rejected[0].Index)
	require.Equal(t, "duplicate", result.Rejected[0].Reason)
	require.Equal(t, uint64(17), sessions())
	require.Less(t, result.GasUsed, result.GasWanted)
	t.Logf("a tx of 2 receipts used %d of %d gas", result.GasUsed, result.GasWanted)
	found, ok, err := sub.TxResult(ctx, result.TxHash)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, result.Height, found.Height)
	require.Equal(t, result.Accepted, found.Accepted)

	// The other queries.
	nodes, err := client.Nodes(ctx)
	require.NoError(t, err)
	require.Len(t, nodes, 2)
	claimable, err := client.Claimable(ctx, operator.String())
	require.NoError(t, err)
	require.Equal(t, "uchr", claimable.Denom)
	height, err := client.LatestHeight(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, height, result.Height)
	t.Logf("whole-chain attestation test took %s", time.Since(began).Round(100*time.Millisecond))
}

// pipeline2 is p with another chain connection, on the same files.
func pipeline2(p *attest.Pipeline, ch attest.Chain) *attest.Pipeline {
	return &attest.Pipeline{
		Key: p.Key, ChainID: p.ChainID, Registry: p.Registry, Sessions: p.Sessions, Store: p.Store,
		Chain: ch, Epochs: p.Epochs, BatchSize: p.BatchSize, MaxBackoff: p.MaxBackoff, Metrics: p.Metrics,
	}
}

// acceptAll is a session checker with a record of every session.
type acceptAll struct{}

func (acceptAll) Check(*format.UsageReceipt) (*format.ClientAttestation, error) { return nil, nil }

// recordingChain is the real submitter, noting which sessions went into
// which tx and which txs were broadcast and looked up.
type recordingChain struct {
	*orchchain.Submitter
	mu         sync.Mutex
	sessions   map[string][]string // tx hash → session IDs
	broadcasts []string
	lookups    []string
}

func (r *recordingChain) Prepare(ctx context.Context, rs []format.SignedReceipt) (*orchchain.Tx, error) {
	tx, err := r.Submitter.Prepare(ctx, rs)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range rs {
		r.sessions[tx.Hash] = append(r.sessions[tx.Hash], s.Receipt.SessionIDHex())
	}
	return tx, nil
}

func (r *recordingChain) Broadcast(ctx context.Context, tx *orchchain.Tx) (orchchain.Result, error) {
	r.mu.Lock()
	r.broadcasts = append(r.broadcasts, tx.Hash)
	r.mu.Unlock()
	return r.Submitter.Broadcast(ctx, tx)
}

func (r *recordingChain) TxResult(ctx context.Context, hash string) (orchchain.Result, bool, error) {
	r.mu.Lock()
	r.lookups = append(r.lookups, hash)
	r.mu.Unlock()
	return r.Submitter.TxResult(ctx, hash)
}

func (r *recordingChain) lookupCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.lookups)
}

func (r *recordingChain) lookup(i int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i >= len(r.lookups) {
		return ""
	}
	return r.lookups[i]
}

// txs counts distinct broadcast txs.
func (r *recordingChain) txs() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for _, h := range r.broadcasts {
		seen[h] = true
	}
	return len(seen)
}

func (r *recordingChain) broadcastsOf(hash string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, h := range r.broadcasts {
		if h == hash {
			n++
		}
	}
	return n
}

// requireEachInOneTx checks that n sessions were broadcast, each in one tx
// (a tx broadcast again with the same hash is one tx).
func (r *recordingChain) requireEachInOneTx(t *testing.T, n int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	txsOf := map[string]map[string]bool{}
	for _, h := range r.broadcasts {
		for _, s := range r.sessions[h] {
			if txsOf[s] == nil {
				txsOf[s] = map[string]bool{}
			}
			txsOf[s][h] = true
		}
	}
	require.Len(t, txsOf, n)
	for s, hashes := range txsOf {
		require.Len(t, hashes, 1, "session %s was broadcast in %d different txs", s, len(hashes))
	}
}

var errUnreachable = errors.New("rpc error: code = Unavailable desc = connection refused")

// flakyChain fails its first failFirst calls; then lets one broadcast
// through to the chain, reports it as failed (the answer was lost) and
// fails every call after that.
type flakyChain struct {
	attest.Chain
	mu        sync.Mutex
	failFirst int
	lostHash  string
}

func (f *flakyChain) gate() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lostHash != "" {
		return errUnreachable
	}
	if f.failFirst > 0 {
		f.failFirst--
		return errUnreachable
	}
	return nil
}

func (f *flakyChain) lost() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lostHash
}

func (f *flakyChain) Prepare(ctx context.Context, rs []format.SignedReceipt) (*orchchain.Tx, error) {
	if err := f.gate(); err != nil {
		return nil, err
	}
	return f.Chain.Prepare(ctx, rs)
}

func (f *flakyChain) Broadcast(ctx context.Context, tx *orchchain.Tx) (orchchain.Result, error) {
	if err := f.gate(); err != nil {
		return orchchain.Result{}, err
	}
	if _, err := f.Chain.Broadcast(ctx, tx); err != nil {
		return orchchain.Result{}, err
	}
	f.mu.Lock()
	f.lostHash = tx.Hash
	f.mu.Unlock()
	return orchchain.Result{}, errors.New("connection reset while waiting for the tx result")
}

func (f *flakyChain) TxResult(ctx context.Context, hash string) (orchchain.Result, bool, error) {
	if err := f.gate(); err != nil {
		return orchchain.Result{}, false, err
	}
	return f.Chain.TxResult(ctx, hash)
}

func (f *flakyChain) LatestHeight(ctx context.Context) (int64, error) {
	if err := f.gate(); err != nil {
		return 0, err
	}
	return f.Chain.LatestHeight(ctx)
}

func counter(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
}

// sumCounters sums every series of a counter vector.
func sumCounters(t *testing.T, v *prometheus.CounterVec) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 64)
	v.Collect(ch)
	close(ch)
	var sum float64
	for m := range ch {
		sum += counter(t, m)
	}
	return sum
}

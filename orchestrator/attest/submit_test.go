package attest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/orchestrator/chain"
)

// requireExactlyOnce checks that the chain saw each of n receipts once.
func requireExactlyOnce(t *testing.T, c *fakeChain, n int) {
	t.Helper()
	seen := c.timesSeen()
	require.Len(t, seen, n, "receipts on chain")
	for k, times := range seen {
		require.Equal(t, 1, times, "receipt %s reached the chain %d times", k, times)
	}
}

func (e *env) requireNothingInFlight() {
	e.t.Helper()
	_, ok, err := e.p.Store.InFlight()
	require.NoError(e.t, err)
	require.False(e.t, ok, "a tx is still recorded in flight")
}

func (e *env) inFlight() string {
	e.t.Helper()
	rec, ok, err := e.p.Store.InFlight()
	require.NoError(e.t, err)
	require.True(e.t, ok, "no tx recorded in flight")
	return rec.Hash
}

func TestTickBatches(t *testing.T) {
	e := newEnv(t)
	e.p.BatchSize = 3
	e.intakeAll(batch(t, 1, 8))

	var sizes []int
	for {
		n, err := e.p.Tick(t.Context())
		require.NoError(t, err)
		if n == 0 {
			break
		}
		sizes = append(sizes, n)
	}
	require.Equal(t, []int{3, 3, 1}, sizes)
	require.Equal(t, 3, e.chain.prepares)
	require.Len(t, e.chain.broadcasts, 3)
	requireExactlyOnce(t, e.chain, 7)
	require.Zero(t, e.queueLen())
	e.requireNothingInFlight()
	require.Equal(t, 7.0, value(t, e.metrics.Submitted))
	require.Equal(t, 0.0, value(t, e.metrics.QueueDepth))
}

// The tx hash and the queue IDs are on disk before the tx is broadcast.
func TestTxRecordedBeforeBroadcast(t *testing.T) {
	e := newEnv(t)
	e.intakeAll(batch(t, 1, 4))
	pending, err := e.p.Store.Pending(0)
	require.NoError(t, err)
	var checked bool
	e.chain.broadcastHook = func(tx *chain.Tx) {
		rec, ok, err := e.p.Store.InFlight()
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, tx.Hash, rec.Hash)
		require.Equal(t, chain.TxHash(tx.Bytes), rec.Hash)
		require.Equal(t, []uint64{pending[0].ID, pending[1].ID, pending[2].ID}, rec.IDs)
		require.Equal(t, tx.Bytes, rec.Tx)
		require.Equal(t, 1, rec.Broadcasts)
		checked = true
	}
	n, err := e.p.Tick(t.Context())
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.True(t, checked)
	e.requireNothingInFlight()
}

func TestRunRetriesWhileChainIsDown(t *testing.T) {
	e := newEnv(t)
	e.p.MaxBackoff = 20 * time.Millisecond
	e.p.BatchSize = 2
	e.chain.down = 6 // six calls fail: the first rounds of Prepare and lookups
	e.intakeAll(batch(t, 1, 6))

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.p.Run(ctx, 5*time.Millisecond) }()
	require.Eventually(t, func() bool { return e.queueLen() == 0 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	e.chain.set(func(c *fakeChain) { require.Zero(t, c.down, "every failure was retried through") })
	requireExactlyOnce(t, e.chain, 5)
	e.requireNothingInFlight()
	require.Equal(t, 5.0, value(t, e.metrics.Submitted))
}

// The process dies after the tx was broadcast and included but before the
// receipts were acknowledged: after the restart the recorded hash is looked
// up, the receipts are acknowledged, and nothing is signed or sent again.
func TestCrashBetweenBroadcastAndAck(t *testing.T) {
	e := newEnv(t)
	e.chain.loseResponse = 1
	e.intakeAll(batch(t, 1, 5))
	_, err := e.p.Tick(t.Context())
	require.Error(t, err)
	hash := e.inFlight()
	require.Equal(t, 4, e.queueLen(), "nothing is acknowledged without a result")

	e.restart()
	n, err := e.p.Tick(t.Context())
	require.NoError(t, err)
	require.Equal(t, 4, n)
	require.Equal(t, hash, e.chain.lookups[len(e.chain.lookups)-1], "the recorded tx is looked up")
	require.Equal(t, 1, e.chain.prepares, "no new tx is signed")
	require.Equal(t, []string{hash}, e.chain.broadcasts, "nothing is broadcast again")
	require.Zero(t, e.queueLen())
	e.requireNothingInFlight()
	requireExactlyOnce(t, e.chain, 4)

	// Later rounds have nothing to do.
	n, err = e.p.Tick(t.Context())
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, 1, e.chain.prepares)
}

// The process dies after recording the tx but before the node got it:
// after the restart the same bytes are broadcast (same hash).
func TestCrashBeforeBroadcast(t *testing.T) {
	e := newEnv(t)
	e.chain.broadcastHook = func(*chain.Tx) { e.chain.down = 1 } // this broadcast never arrives
	e.intakeAll(batch(t, 1, 3))
	_, err := e.p.Tick(t.Context())
	require.ErrorIs(t, err, errDown)
	hash := e.inFlight()

	e.chain.broadcastHook = nil
	e.restart()
	n, err := e.p.Tick(t.Context())
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, 1, e.chain.prepares)
	require.Equal(t, []string{hash}, e.chain.broadcasts)
	requireExactlyOnce(t, e.chain, 2)
}

// A tx that never makes it into a block is sent again unchanged until the
// chain passes its timeout height; only then are its receipts put in a new
// tx.
func TestExpiredTxIsRebuilt(t *testing.T) {
	e := newEnv(t)
	e.chain.dropBroadcast = 2
	e.intakeAll(batch(t, 1, 4))

	_, err := e.p.Tick(t.Context())
	require.ErrorIs(t, err, chain.ErrTxNotIncluded)
	first := e.inFlight()
	_, err = e.p.Tick(t.Context())
	require.ErrorIs(t, err, chain.ErrTxNotIncluded)
	require.Equal(t, []string{first, first}, e.chain.broadcasts, "the same tx is broadcast again")
	require.Equal(t, 1, e.chain.prepares)

	e.chain.set(func(c *fakeChain) { c.height += 5 + chain.ExpiryMarginBlocks + 1 }) // past timeout height (100+5) + margin
	n, err := e.p.Tick(t.Context())
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, 2, e.chain.prepares)
	require.Len(t, e.chain.broadcasts, 3)
	require.NotEqual(t, first, e.chain.broadcasts[2])
	requireExactlyOnce(t, e.chain, 3)
	e.requireNothingInFlight()
}

// CheckTx refusing a fresh tx for a wrong sequence: signed again at once.
func TestSequenceMismatchSignsAgain(t *testing.T) {
	e := newEnv(t)
	e.chain.refuseSeq = 1
	e.intakeAll(batch(t, 1, 3))
	n, err := e.p.Tick(t.Context())
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, 2, e.chain.prepares)
	requireExactlyOnce(t, e.chain, 2)
}

// A tx that failed as a whole recorded nothing: its receipts stay queued
// and go into a new tx.
func TestFailedTxKeepsReceipts(t *testing.T) {
	e := newEnv(t)
	e.chain.failCode = 1
	e.intakeAll(batch(t, 1, 3))
	_, err := e.p.Tick(t.Context())
	require.ErrorIs(t, err, chain.ErrTxFailed)
	require.Equal(t, 2, e.queueLen())
	e.requireNothingInFlight()

	n, err := e.p.Tick(t.Context())
	require.NoError(t, err)
	require.Equal(t, 2, n)
	requireExactlyOnce(t, e.chain, 2)
}

// Receipts the chain rejects are logged, counted and acknowledged: the
// chain has decided on them.
func TestRejectionsAreCountedAndAcknowledged(t *testing.T) {
	e := newEnv(t)
	rs := batch(t, 1, 3)
	e.chain.onChain[receiptKey(rs[0].Receipt)] = 1 // already on chain
	e.intakeAll(rs)
	n, err := e.p.Tick(t.Context())
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Zero(t, e.queueLen())
	require.Equal(t, 2.0, value(t, e.metrics.Submitted))
	require.Equal(t, 1.0, value(t, e.metrics.Rejected.WithLabelValues("duplicate")))
}

package attest_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/orchestrator/attest"
	"github.com/chroom/chroom/orchestrator/store"
	"github.com/chroom/chroom/receipts"
	"github.com/chroom/chroom/testutil/sample"
)

func TestIntakeRefusals(t *testing.T) {
	strangerOrch := sample.NodeKey(9)
	tests := []struct {
		name    string
		from    *format.NodeKey // the sender; mediaKey if nil
		receipt func(t *testing.T) *format.SignedReceipt
		setup   func(e *env, r *format.SignedReceipt)
		result  string
	}{
		{name: "nil receipt", receipt: func(*testing.T) *format.SignedReceipt { return nil }, result: attest.ResultMalformed},
		{name: "no receipt inside", receipt: func(*testing.T) *format.SignedReceipt {
			return &format.SignedReceipt{MediaNodeSignature: make([]byte, 64)}
		}, result: attest.ResultMalformed},
		{name: "short session id", receipt: func(t *testing.T) *format.SignedReceipt {
			s := signed(t, mediaKey, 7, 1)
			s.Receipt.SessionId = s.Receipt.SessionId[:16]
			return s
		}, result: attest.ResultMalformed},
		{name: "missing media signature", receipt: func(t *testing.T) *format.SignedReceipt {
			s := signed(t, mediaKey, 7, 1)
			s.MediaNodeSignature = nil
			return s
		}, result: attest.ResultMalformed},
		{name: "receipt of another media node", receipt: func(t *testing.T) *format.SignedReceipt {
			return signed(t, otherKey, 7, 1)
		}, result: attest.ResultWrongMediaNode},
		{name: "receipt for another orchestrator", receipt: func(t *testing.T) *format.SignedReceipt {
			s, err := format.SignReceipt(mediaKey, chainID, sample.Receipt(mediaKey, strangerOrch, 7, 1))
			require.NoError(t, err)
			return s
		}, result: attest.ResultWrongOrchestrator},
		{name: "unregistered media node", from: sample.NodeKey(4), receipt: func(t *testing.T) *format.SignedReceipt {
			return signed(t, sample.NodeKey(4), 7, 1)
		}, result: attest.ResultUnknownMediaNode},
		{name: "signed by another key", receipt: func(t *testing.T) *format.SignedReceipt {
			s := signed(t, mediaKey, 7, 1)
			o := signed(t, otherKey, 7, 1)
			s.MediaNodeSignature = o.MediaNodeSignature
			return s
		}, result: attest.ResultBadSignature},
		{name: "signed for another chain", receipt: func(t *testing.T) *format.SignedReceipt {
			s, err := format.SignReceipt(mediaKey, "other-chain", sample.Receipt(mediaKey, orchKey, 7, 1))
			require.NoError(t, err)
			return s
		}, result: attest.ResultBadSignature},
		{name: "contents changed after signing", receipt: func(t *testing.T) *format.SignedReceipt {
			s := signed(t, mediaKey, 7, 1)
			s.Receipt.BytesOut++
			return s
		}, result: attest.ResultBadSignature},
		{name: "unknown session", receipt: func(t *testing.T) *format.SignedReceipt {
			return signed(t, mediaKey, 7, 1)
		}, setup: func(e *env, r *format.SignedReceipt) {
			e.sessions.unknown[r.Receipt.SessionIDHex()] = true
		}, result: attest.ResultUnknownSession},
		{name: "out of tolerance", receipt: func(t *testing.T) *format.SignedReceipt {
			return signed(t, mediaKey, 7, 1)
		}, setup: func(e *env, r *format.SignedReceipt) {
			e.sessions.off[r.Receipt.SessionIDHex()] = true
		}, result: attest.ResultOutOfTolerance},
		{name: "conflicts with a countersigned receipt", receipt: func(t *testing.T) *format.SignedReceipt {
			r := sample.Receipt(mediaKey, orchKey, 7, 1)
			r.BytesOut++ // same (epoch, node, session), other contents
			s, err := format.SignReceipt(mediaKey, chainID, r)
			require.NoError(t, err)
			return s
		}, setup: func(e *env, _ *format.SignedReceipt) {
			e.intakeAll([]*format.SignedReceipt{signed(e.t, mediaKey, 7, 1)})
		}, result: attest.ResultConflict},
		{name: "stale epoch", receipt: func(t *testing.T) *format.SignedReceipt {
			return signed(t, mediaKey, 7, 1)
		}, setup: func(e *env, _ *format.SignedReceipt) {
			e.p.Epochs = fakeEpochs(9) // epoch 7 is older than the previous (8)
			_, err := e.p.Tick(t.Context())
			require.NoError(e.t, err)
		}, result: attest.ResultStaleEpoch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			r := tc.receipt(t)
			if tc.setup != nil {
				tc.setup(e, r)
			}
			from := mediaKey
			if tc.from != nil {
				from = tc.from
			}
			before := e.queueLen()
			acc, ref, err := e.p.Intake(from.ID, []*format.SignedReceipt{r})
			require.NoError(t, err)
			require.Empty(t, acc)
			require.Len(t, ref, 1)
			require.True(t, strings.HasPrefix(ref[0], tc.result+":"), "reason %q, want result %s", ref[0], tc.result)
			require.Equal(t, before, e.queueLen(), "a refused receipt is not queued")
			require.Equal(t, 1.0, value(t, e.metrics.Received.WithLabelValues(tc.result)))
		})
	}
}

func TestIntakeCountersignsAndQueuesDurably(t *testing.T) {
	e := newEnv(t)
	rs := batch(t, 1, 4)
	acc, ref, err := e.p.Intake(mediaKey.ID, rs)
	require.NoError(t, err)
	require.Empty(t, ref)
	require.Equal(t, []int{0, 1, 2}, acc)
	require.Nil(t, rs[0].OrchestratorSignature, "the caller's receipt is not modified")

	// Reopen the queue from disk: what Intake accepted is there, with a
	// countersignature that verifies and the media signature unchanged.
	require.NoError(t, e.p.Store.Close())
	q, err := store.Open(filepath.Join(e.dir, "orchestrator.db"))
	require.NoError(t, err)
	defer q.Close()
	pending, err := q.Pending(0)
	require.NoError(t, err)
	require.Len(t, pending, 3)
	for i, p := range pending {
		require.True(t, format.SameContents(rs[i].Receipt, p.Receipt.Receipt))
		require.True(t, p.Receipt.VerifyCountersignature(orchKey.PublicKey, chainID), "countersignature of %d", i)
		require.False(t, p.Receipt.VerifyCountersignature(orchKey.PublicKey, "other-chain"))
		require.True(t, p.Receipt.VerifyMediaNodeSignature(mediaKey.PublicKey, chainID))
	}
	require.Equal(t, 3.0, value(t, e.metrics.Received.WithLabelValues(attest.ResultCountersigned)))
	require.Equal(t, 3.0, value(t, e.metrics.QueueDepth))
}

// A receipt is acknowledged only once it is on disk: if the queue cannot
// take it, it is neither accepted nor refused, so the media node keeps it.
func TestIntakeAcceptsOnlyAfterPut(t *testing.T) {
	e := newEnv(t)
	_, _, err := e.p.Intake(mediaKey.ID, nil) // start the pipeline
	require.NoError(t, err)
	require.NoError(t, e.p.Store.Close())
	acc, ref, err := e.p.Intake(mediaKey.ID, batch(t, 1, 3))
	require.ErrorIs(t, err, receipts.ErrClosed)
	require.Empty(t, acc)
	require.Empty(t, ref)
	require.Equal(t, 2.0, value(t, e.metrics.Received.WithLabelValues(attest.ResultError)))
}

func TestIntakeTransientFailuresAreNotRefusals(t *testing.T) {
	t.Run("registry not loaded", func(t *testing.T) {
		e := newEnv(t)
		e.registry.notReady = true
		acc, ref, err := e.p.Intake(mediaKey.ID, batch(t, 1, 2))
		require.Error(t, err)
		require.Empty(t, acc)
		require.Empty(t, ref)
		require.Zero(t, e.queueLen())
	})
	t.Run("session store failing", func(t *testing.T) {
		e := newEnv(t)
		e.sessions.err = errors.New("session store unavailable")
		acc, ref, err := e.p.Intake(mediaKey.ID, batch(t, 1, 2))
		require.ErrorContains(t, err, "session store unavailable")
		require.Empty(t, acc)
		require.Empty(t, ref)
	})
}

// A media node that resends a receipt (its acknowledgement was lost) gets
// it acknowledged again, and it is queued once.
func TestIntakeIsIdempotent(t *testing.T) {
	e := newEnv(t)
	rs := batch(t, 1, 3)
	e.intakeAll(rs)
	e.intakeAll(rs)
	require.Equal(t, 2, e.queueLen())
	require.Equal(t, 2.0, value(t, e.metrics.Received.WithLabelValues(attest.ResultDuplicate)))

	// Also after the receipts were submitted and left the queue, and after
	// a restart.
	_, err := e.p.Tick(t.Context())
	require.NoError(t, err)
	require.Zero(t, e.queueLen())
	e.restart()
	e.intakeAll(rs)
	require.Zero(t, e.queueLen())
}

func TestIntakeMixedBatch(t *testing.T) {
	e := newEnv(t)
	good1, good2 := signed(t, mediaKey, 7, 1), signed(t, mediaKey, 7, 2)
	bad := signed(t, mediaKey, 7, 3)
	bad.Receipt.BytesIn++
	acc, ref, err := e.p.Intake(mediaKey.ID, []*format.SignedReceipt{good1, bad, nil, good2})
	require.NoError(t, err)
	require.Equal(t, []int{0, 3}, acc)
	require.Len(t, ref, 2)
	require.Contains(t, ref[1], attest.ResultBadSignature)
	require.Contains(t, ref[2], attest.ResultMalformed)
	require.Equal(t, 2, e.queueLen())
}

package receipts_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/receipts"
)

// TestEventsSurviveARestart: queued session events are on disk, come back
// in order after a reopen, and leave only when acknowledged.
func TestEventsSurviveARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "receipts.db")
	s, err := receipts.Open(path)
	require.NoError(t, err)
	a, err := s.PutEvent("orch-a", []byte("joined"))
	require.NoError(t, err)
	b, err := s.PutEvent("orch-b", []byte("left"))
	require.NoError(t, err)
	require.Less(t, a, b)
	_, err = s.PutEvent("", []byte("x"))
	require.Error(t, err)
	_, err = s.PutEvent("orch-a", make([]byte, receipts.MaxEventBytes+1))
	require.Error(t, err)
	require.NoError(t, s.Close())

	s, err = receipts.Open(path)
	require.NoError(t, err)
	defer s.Close()
	got, err := s.PendingEvents(0)
	require.NoError(t, err)
	require.Equal(t, []receipts.Event{{ID: a, Orchestrator: "orch-a", Data: []byte("joined")}, {ID: b, Orchestrator: "orch-b", Data: []byte("left")}}, got)
	require.NoError(t, s.AckEvents(a, 999))
	got, err = s.PendingEvents(0)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, b, got[0].ID)
}

package faults

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
)

// receiptsPerTx is how many receipts each MsgSubmitReceipts of the load
// carries; every resendEvery-th batch is sent a second time, as an
// orchestrator that lost track of a submission would.
const (
	receiptsPerTx = 4
	resendEvery   = 10
)

// receiptBatch is one MsgSubmitReceipts the load sent: its tx hash, the
// sessions (hex) of its receipts, and whether it repeats an earlier batch
// (every receipt of which the chain must refuse as a duplicate).
type receiptBatch struct {
	hash     string
	sessions []string
	resend   bool
}

// currentEpoch is the chain's current "chroom" epoch (validator 0's REST).
func currentEpoch() (int64, error) {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/cosmos/epochs/v1beta1/current_epoch?identifier=chroom", apiPort))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct {
		CurrentEpoch string `json:"current_epoch"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, err
	}
	return strconv.ParseInt(out.CurrentEpoch, 10, 64)
}

// receiptStream submits usage receipts as the devnet's orchestrator would
// (REGISTER=1: media-node-1 and orchestrator-1 are registered and the app
// demo may be billed by it): batches of receiptsPerTx receipts of the
// current epoch, each for a new session, signed by the media node's key
// and countersigned by the orchestrator's, sent from the orchestrator's
// operator account one tx at a time (each waits for its block) until stop
// is closed. It returns the batches the mempool accepted.
func (l *localnet) receiptStream(t *testing.T, stop <-chan struct{}) (batches func() []receiptBatch, wait func()) {
	media, err := format.LoadNodeKey(filepath.Join(l.dir, "nodes", "media-node-1", "node_key.json"))
	require.NoError(t, err)
	orch, err := format.LoadNodeKey(filepath.Join(l.dir, "nodes", "orchestrator-1", "node_key.json"))
	require.NoError(t, err)
	file := filepath.Join(l.dir, "receipts.json")
	kr := []string{"--keyring-backend", "test", "--home", l.home(0), "--node", fmt.Sprintf("tcp://127.0.0.1:%d", rpcPort), "--chain-id", chainID}
	var mu sync.Mutex
	var sent []receiptBatch
	done := make(chan struct{})
	build := func() (body []byte, sessions []string, err error) {
		epoch, err := currentEpoch()
		if err != nil {
			return nil, nil, err
		}
		end := time.Now().Add(-time.Second)
		var signed []json.RawMessage
		for range receiptsPerTx {
			id := make([]byte, 32)
			_, _ = rand.Read(id)
			r := format.UsageReceipt{SessionId: id, RoomHash: format.RoomHash("fault-load"), MediaNodeId: media.ID, OrchestratorId: orch.ID,
				Epoch: epoch, StartUnixMs: end.Add(-5 * time.Second).UnixMilli(), EndUnixMs: end.UnixMilli(),
				BytesIn: 50_000, BytesOut: 200_000, PacketsSent: 250, RttMsP50: 20, JitterMsP50: 2, AppId: "demo"}
			s, err := format.SignReceipt(media, chainID, r)
			if err != nil {
				return nil, nil, err
			}
			if err := format.Countersign(orch, chainID, s); err != nil {
				return nil, nil, err
			}
			raw, err := s.MarshalJSON()
			if err != nil {
				return nil, nil, err
			}
			signed = append(signed, raw)
			sessions = append(sessions, hex.EncodeToString(id))
		}
		body, err = json.Marshal(map[string]any{"receipts": signed})
		return body, sessions, err
	}
	submit := func(body []byte) (string, bool) {
		if os.WriteFile(file, body, 0o600) != nil {
			return "", false
		}
		out, err := l.chroomd(append([]string{"tx", "verification", "submit-receipts", file, "--from", "orchestrator-operator", "--yes", "--output", "json",
			"--gas", "2000000", "--gas-prices", "0.01uchr"}, kr...)...)
		var res struct {
			TxHash string `json:"txhash"`
			Code   int    `json:"code"`
		}
		if err != nil || json.Unmarshal(jsonOf(out), &res) != nil || res.Code != 0 {
			return "", false
		}
		// Wait for it to be in a block before the next (sequence numbers).
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
			var tx struct{}
			if rpc(0, "/tx?hash=0x"+res.TxHash, &tx) == nil {
				break
			}
		}
		return res.TxHash, true
	}
	go func() {
		defer close(done)
		n := 0
		for {
			select {
			case <-stop:
				return
			default:
			}
			body, sessions, err := build()
			if err != nil {
				time.Sleep(500 * time.Millisecond)
				continue
			}
			hash, ok := submit(body)
			if !ok {
				time.Sleep(500 * time.Millisecond) // the mempool refused it (say, a sequence not yet committed): a new batch next
				continue
			}
			mu.Lock()
			sent = append(sent, receiptBatch{hash: hash, sessions: sessions})
			mu.Unlock()
			if n++; n%resendEvery == 0 {
				for tries := 0; tries < 5; tries++ {
					if hash, ok := submit(body); ok {
						mu.Lock()
						sent = append(sent, receiptBatch{hash: hash, sessions: sessions, resend: true})
						mu.Unlock()
						break
					}
					time.Sleep(500 * time.Millisecond)
				}
			}
		}
	}()
	return func() []receiptBatch { mu.Lock(); defer mu.Unlock(); return append([]receiptBatch(nil), sent...) }, func() { <-done }
}

// txReceiptEvents returns the sessions (hex) a committed tx's receipts
// were accepted for and the reasons of its rejections.
func txReceiptEvents(hash string) (code int, accepted []string, rejected []string, err error) {
	var tx struct {
		TxResult struct {
			Code   int `json:"code"`
			Events []struct {
				Type       string `json:"type"`
				Attributes []struct {
					Key   string `json:"key"`
					Value string `json:"value"`
				} `json:"attributes"`
			} `json:"events"`
		} `json:"tx_result"`
	}
	if err := rpc(0, "/tx?hash=0x"+hash, &tx); err != nil {
		return 0, nil, nil, err
	}
	for _, e := range tx.TxResult.Events {
		for _, a := range e.Attributes {
			v := strings.Trim(a.Value, `"`)
			switch {
			case e.Type == "chroom.verification.v1.EventReceiptAccepted" && a.Key == "session_id":
				accepted = append(accepted, v)
			case e.Type == "chroom.verification.v1.EventReceiptRejected" && a.Key == "reason":
				rejected = append(rejected, v)
			}
		}
	}
	return tx.TxResult.Code, accepted, rejected, nil
}

// epochReceipts is x/verification's count of receipts accepted in epoch
// (its epoch totals, never pruned).
func (l *localnet) epochReceipts(t *testing.T, epoch int64) uint64 {
	out, err := l.chroomd("query", "verification", "epoch-totals", strconv.FormatInt(epoch, 10),
		"--node", fmt.Sprintf("tcp://127.0.0.1:%d", rpcPort), "--output", "json")
	require.NoError(t, err, out)
	var res struct {
		Totals struct {
			Receipts string `json:"receipts"`
		} `json:"totals"`
	}
	require.NoError(t, json.Unmarshal(jsonOf(out), &res), out)
	n, _ := strconv.ParseUint(res.Totals.Receipts, 10, 64)
	return n
}

package faults

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// upgradeName is the rehearsal upgrade the "next release" binary knows.
const upgradeName = "v-next-rehearsal"

// buildNext builds the "next release" of chroomd into a temporary folder:
// the same code with a no-op upgrade named upgradeName registered
// (app.RehearsalUpgrade, set at link time, so only the link step runs).
func buildNext(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "chroomd-next")
	cmd := exec.Command("go", "build", "-ldflags",
		"-X github.com/chroom/chroom/app.RehearsalUpgrade="+upgradeName+" -X main.version=next", "-o", bin, "./cmd/chroomd")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "build the next chroomd: %s", out)
	return bin
}

// appHeight is the last height validator i's application committed
// (CometBFT RPC /abci_info), 0 if it does not answer.
func appHeight(i int) int64 {
	var info struct {
		Response struct {
			LastBlockHeight string `json:"last_block_height"`
		} `json:"response"`
	}
	if rpc(i, "/abci_info", &info) != nil {
		return 0
	}
	h, _ := strconv.ParseInt(info.Response.LastBlockHeight, 10, 64)
	return h
}

// txJSON runs a chroomd tx command and returns its hash once the tx is in
// a block with code 0.
func (l *localnet) txJSON(t *testing.T, args ...string) string {
	t.Helper()
	out, err := l.chroomd(append(args, "--yes", "--output", "json", "--gas", "400000", "--gas-prices", "0.01uchr", "--chain-id", chainID)...)
	require.NoError(t, err, out)
	var res struct {
		TxHash string `json:"txhash"`
		Code   int    `json:"code"`
		RawLog string `json:"raw_log"`
	}
	require.NoError(t, json.Unmarshal(jsonOf(out), &res), out)
	require.Zero(t, res.Code, "tx refused: %s", res.RawLog)
	var tx struct {
		TxResult struct {
			Code int    `json:"code"`
			Log  string `json:"log"`
		} `json:"tx_result"`
	}
	require.Eventually(t, func() bool { return rpc(0, "/tx?hash=0x"+res.TxHash, &tx) == nil }, 30*time.Second, 300*time.Millisecond,
		"tx %s in a block", res.TxHash)
	require.Zero(t, tx.TxResult.Code, "tx %s failed: %s", res.TxHash, tx.TxResult.Log)
	return res.TxHash
}

// TestSoftwareUpgrade: the upgrade path operators of a Cosmos chain
// expect, on a 4-validator chain. A software-upgrade proposal (x/upgrade
// MsgSoftwareUpgrade through x/gov) is submitted and every validator votes
// yes; it passes. At the plan's height every validator running the current
// binary halts with `UPGRADE "…" NEEDED` (none commits that height); each
// is started with the next binary, which applies the upgrade (a no-op
// migration) at that height, and the chain goes on: the plan is recorded
// as applied at its height, and the validators' app hashes agree before,
// at and after it.
func TestSoftwareUpgrade(t *testing.T) {
	next := buildNext(t)
	l := startLocalnet(t, validators, false)
	for i := 0; i < validators; i++ {
		require.Eventually(t, func() bool { return height(i) >= 2 }, 60*time.Second, 500*time.Millisecond, "validator %d commits", i)
	}
	node := func(i int) []string {
		return []string{"--keyring-backend", "test", "--home", l.home(i), "--node", fmt.Sprintf("tcp://127.0.0.1:%d", rpcPort+i*portStride)}
	}

	// The plan: far enough ahead for the deposit, the votes and the
	// voting period (VOTING_PERIOD, 10 s here) at about a block a second.
	planHeight := height(0) + 45
	l.txJSON(t, append([]string{"tx", "upgrade", "software-upgrade", upgradeName, "--upgrade-height", strconv.FormatInt(planHeight, 10),
		"--title", "Rehearsal upgrade", "--summary", "A no-op migration, to rehearse the upgrade path",
		"--deposit", "10000000uchr", "--no-validate", "--from", "validator"}, node(0)...)...)
	out, err := l.chroomd(append([]string{"query", "gov", "proposals", "--output", "json"}, node(0)[4:]...)...)
	require.NoError(t, err, out)
	var props struct {
		Proposals []struct {
			ID     string `json:"id"`
			Status any    `json:"status"`
		} `json:"proposals"`
	}
	require.NoError(t, json.Unmarshal(jsonOf(out), &props), out)
	require.Len(t, props.Proposals, 1, out)
	id := props.Proposals[0].ID
	for i := 0; i < validators; i++ {
		l.txJSON(t, append([]string{"tx", "gov", "vote", id, "yes", "--from", "validator"}, node(i)...)...)
	}
	status := func() string {
		out, err := l.chroomd(append([]string{"query", "gov", "proposal", id, "--output", "json"}, node(0)[4:]...)...)
		if err != nil {
			return ""
		}
		var p struct {
			Proposal struct {
				Status any `json:"status"`
			} `json:"proposal"`
		}
		if json.Unmarshal(jsonOf(out), &p) != nil {
			return ""
		}
		return fmt.Sprint(p.Proposal.Status)
	}
	require.Eventually(t, func() bool { s := status(); return s == "PROPOSAL_STATUS_PASSED" || s == "3" }, 60*time.Second, time.Second,
		"the proposal passes (status %s)", status())
	require.Less(t, height(0), planHeight, "the proposal passed before the plan's height")
	t.Logf("proposal %s passed at height %d; plan %q at height %d", id, height(0), upgradeName, planHeight)

	// The current binary stops before committing the plan's height.
	require.Eventually(t, func() bool {
		for i := 0; i < validators; i++ {
			b, _ := os.ReadFile(l.logFile(i))
			if !strings.Contains(string(b), fmt.Sprintf(`UPGRADE \"%s\" NEEDED at height: %d`, upgradeName, planHeight)) &&
				!strings.Contains(string(b), fmt.Sprintf(`UPGRADE "%s" NEEDED at height: %d`, upgradeName, planHeight)) {
				return false
			}
		}
		return true
	}, 3*time.Minute, time.Second, "every validator logs UPGRADE NEEDED at height %d", planHeight)
	halted := time.Now()
	time.Sleep(3 * time.Second)
	for i := 0; i < validators; i++ {
		if syscall.Kill(l.pid(t, i), 0) == nil { // still running (its consensus halted): it answers
			// CometBFT stores the decided block H; the application refused
			// to execute it, so its state stays at H-1.
			require.Equal(t, planHeight-1, appHeight(i), "validator %d's application committed nothing past the plan", i)
		}
	}
	// Stop what is left of the old processes, then start the next binary.
	for i := 0; i < validators; i++ {
		pid := l.pid(t, i)
		_ = syscall.Kill(pid, syscall.SIGTERM)
		require.Eventually(t, func() bool { return syscall.Kill(pid, 0) != nil }, 30*time.Second, 200*time.Millisecond, "validator %d stops", i)
	}
	for i := 0; i < validators; i++ {
		l.restartWith(t, i, next)
	}
	for i := 0; i < validators; i++ {
		require.Eventually(t, func() bool { return height(i) >= planHeight+5 }, 2*time.Minute, 500*time.Millisecond,
			"validator %d goes on past the plan with the next binary", i)
	}
	t.Logf("halted at height %d; all %d validators on the next binary committed height %d %s after the halt",
		planHeight-1, validators, planHeight+5, time.Since(halted).Round(time.Second))

	out, err = l.chroomd(append([]string{"query", "upgrade", "applied", upgradeName, "--output", "json"}, node(0)[4:]...)...)
	require.NoError(t, err, out)
	require.Contains(t, strings.ReplaceAll(out, " ", ""), fmt.Sprintf(`"height":"%d"`, planHeight), "the plan is recorded as applied at its height: %s", out)
	for h := planHeight - 2; h <= planHeight+5; h++ {
		want, err := appHash(0, h)
		require.NoError(t, err)
		for i := 1; i < validators; i++ {
			got, err := appHash(i, h)
			require.NoError(t, err, "validator %d, height %d", i, h)
			require.Equal(t, want, got, "app hash of validator %d at height %d", i, h)
		}
	}
}

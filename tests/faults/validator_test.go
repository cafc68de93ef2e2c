// Package faults is Chroom's fault suite (make test-faults): a real
// multi-validator chain on loopback, perturbed while it works — a process
// killed and restarted, paused, a software upgrade switching binaries —
// with the assertions an operator would check.
// Gated by CHROOM_FAULTS=1; it needs build/chroomd (make build).
package faults

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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

// Ports lie below the ephemeral range and apart from the e2e suite's;
// validator i adds i × portStride.
const (
	rpcPort    = 22657
	p2pPort    = 22656
	grpcPort   = 22090
	apiPort    = 22317
	portStride = 100
	chainID    = "chroom-faults-1"
	validators = 4
)

var root string

func TestMain(m *testing.M) {
	if os.Getenv("CHROOM_FAULTS") != "1" {
		fmt.Println("skipping the fault suite: run it with make test-faults (CHROOM_FAULTS=1)")
		os.Exit(0)
	}
	wd, _ := os.Getwd()
	root = filepath.Join(wd, "..", "..")
	os.Exit(m.Run())
}

// localnet is a devnet.sh chain of n validators in a temporary folder.
type localnet struct {
	t   *testing.T
	dir string
	n   int
	// register: devnet.sh REGISTER=1 (media-node-1 and orchestrator-1
	// registered, app demo billable by the orchestrator; keys in
	// dir/nodes/<name>/node_key.json).
	register bool
}

func (l *localnet) env() []string {
	return append(os.Environ(), "DEVNET_DIR="+l.dir, "CHAIN_ID="+chainID, fmt.Sprintf("VALIDATORS=%d", l.n),
		fmt.Sprintf("RPC_PORT=%d", rpcPort), fmt.Sprintf("P2P_PORT=%d", p2pPort), fmt.Sprintf("GRPC_PORT=%d", grpcPort),
		fmt.Sprintf("API_PORT=%d", apiPort), fmt.Sprintf("PORT_STRIDE=%d", portStride), fmt.Sprintf("OWNER_PID=%d", os.Getpid()),
		"VOTING_PERIOD=10s", fmt.Sprintf("REGISTER=%d", map[bool]int{true: 1}[l.register]))
}

func startLocalnet(t *testing.T, n int, register bool) *localnet {
	dir, err := os.MkdirTemp("", "chroom-faults-")
	require.NoError(t, err)
	l := &localnet{t: t, dir: dir, n: n, register: register}
	up := exec.Command("bash", "scripts/devnet.sh", "up")
	up.Dir, up.Env = root, l.env()
	out, err := up.CombinedOutput()
	require.NoError(t, err, "devnet up: %s", out)
	t.Cleanup(func() {
		down := exec.Command("bash", "scripts/devnet.sh", "down")
		down.Dir, down.Env = root, l.env()
		_ = down.Run()
		if t.Failed() {
			t.Logf("localnet kept in %s (logs in %s/logs)", dir, dir)
		} else {
			os.RemoveAll(dir)
		}
	})
	return l
}

func (l *localnet) home(i int) string {
	if i == 0 {
		return filepath.Join(l.dir, "chroomd")
	}
	return filepath.Join(l.dir, fmt.Sprintf("validator-%d", i))
}

func (l *localnet) pidFile(i int) string {
	if i == 0 {
		return filepath.Join(l.dir, "chroomd.pid")
	}
	return filepath.Join(l.dir, fmt.Sprintf("validator-%d.pid", i))
}

// rpc GETs path from validator i's CometBFT RPC and decodes "result".
func rpc(i int, path string, out any) error {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", rpcPort+i*portStride, path))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(env.Error) > 0 && string(env.Error) != "null" {
		return fmt.Errorf("%s: %s", path, env.Error)
	}
	return json.Unmarshal(env.Result, out)
}

// height is validator i's latest committed height (0 if it does not answer).
func height(i int) int64 {
	var st struct {
		SyncInfo struct {
			LatestBlockHeight string `json:"latest_block_height"`
		} `json:"sync_info"`
	}
	if rpc(i, "/status", &st) != nil {
		return 0
	}
	h, _ := strconv.ParseInt(st.SyncInfo.LatestBlockHeight, 10, 64)
	return h
}

// appHash is the app hash in validator i's block header at h.
func appHash(i int, h int64) (string, error) {
	var b struct {
		Block struct {
			Header struct {
				AppHash string `json:"app_hash"`
			} `json:"header"`
		} `json:"block"`
	}
	err := rpc(i, fmt.Sprintf("/block?height=%d", h), &b)
	return b.Block.Header.AppHash, err
}

// jsonOf is the JSON object in a CLI's output (after any warnings).
func jsonOf(out string) []byte {
	if i := strings.Index(out, "{"); i >= 0 {
		return []byte(out[i:])
	}
	return []byte(out)
}

func (l *localnet) chroomd(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(root, "build", "chroomd"), args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// pid is validator i's process ID (from its pid file).
func (l *localnet) pid(t *testing.T, i int) int {
	b, err := os.ReadFile(l.pidFile(i))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	return pid
}

// restart starts validator i again (after a kill), logging where it did.
func (l *localnet) restart(t *testing.T, i int) {
	l.restartWith(t, i, filepath.Join(root, "build", "chroomd"))
}

// logFile is validator i's log (devnet.sh's names).
func (l *localnet) logFile(i int) string {
	if i == 0 {
		return filepath.Join(l.dir, "logs", "chroomd.log")
	}
	return filepath.Join(l.dir, "logs", fmt.Sprintf("validator-%d.log", i))
}

// restartWith starts validator i with the chroomd binary bin.
func (l *localnet) restartWith(t *testing.T, i int, bin string) {
	l.startCmd(t, i, exec.Command(bin, "start", "--home", l.home(i)))
}

// startCmd starts validator i's process cmd (a chroomd start), logging
// where devnet.sh does and recording its pid.
func (l *localnet) startCmd(t *testing.T, i int, cmd *exec.Cmd) {
	logf, err := os.OpenFile(l.logFile(i), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	require.NoError(t, err)
	t.Cleanup(func() { logf.Close() })
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	require.NoError(t, os.WriteFile(l.pidFile(i), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644))
	go func() { _ = cmd.Wait() }()
}

// TestValidatorFaults: a 4-validator chain carries a steady stream of
// usage-receipt transactions (MsgSubmitReceipts from the registered
// orchestrator's operator, receiptStream) while one validator at a time
// fails —
//   - killed (SIGKILL), then started again;
//   - paused (SIGSTOP) for 20 s, then continued (SIGCONT): a machine that
//     hangs, or a VM that stalls;
//   - network-partitioned for 20 s (every packet to and from its sockets
//     dropped by nftables), then reconnected —
//
// and after each: the other three (more than 2/3 of the stake) kept
// committing, the failed one catches up. At the end every validator has
// the same app hash at every 5th height; every receipt submitted is
// accepted exactly once, every one submitted a second time (each 10th
// batch is) is refused as a duplicate, and x/verification's epoch totals
// count each accepted receipt once. FAULT_BLOCKS (default 200) is how
// many blocks the run spans at least.
func TestValidatorFaults(t *testing.T) {
	blocks := int64(200)
	if v, err := strconv.Atoi(os.Getenv("FAULT_BLOCKS")); err == nil && v >= 30 {
		blocks = int64(v)
	}
	l := startLocalnet(t, validators, true)
	start := height(0)
	require.Positive(t, start)
	for i := 1; i < validators; i++ {
		require.Eventually(t, func() bool { return height(i) >= start }, 30*time.Second, 500*time.Millisecond, "validator %d follows", i)
	}
	// The validator to be partitioned later runs in its own cgroup (its
	// sockets must be created there): restart it inside, let it catch up.
	isolated := newNetGroup(t, "chroom-faults-partition")
	require.NoError(t, syscall.Kill(l.pid(t, validators-3), syscall.SIGKILL))
	time.Sleep(time.Second)
	l.startCmd(t, validators-3, isolated.command(filepath.Join(root, "build", "chroomd"), "start", "--home", l.home(validators-3)))
	require.Eventually(t, func() bool { return height(validators-3) >= height(0)-1 }, 60*time.Second, 500*time.Millisecond,
		"validator %d runs again, in its own cgroup", validators-3)
	require.Len(t, isolated.pidsIn(), 1, "validator %d's process is the cgroup's", validators-3)

	stop := make(chan struct{})
	firstEpoch, err := currentEpoch()
	require.NoError(t, err)
	batches, wait := l.receiptStream(t, stop)
	waitHeight := func(h int64, within time.Duration) {
		t.Helper()
		require.Eventually(t, func() bool { return height(0) >= h }, within, 500*time.Millisecond, "height %d", h)
	}
	phase := blocks / 6 // blocks of steady running before, during and after each fault
	// fault: fail validator victim, let the chain run, recover it; the
	// chain must commit while it is down and it must catch up.
	fault := func(name string, victim int, fail func(pid int), down time.Duration, recover func(pid int)) {
		waitHeight(height(0)+phase, time.Duration(phase)*5*time.Second)
		pid := l.pid(t, victim)
		fail(pid)
		at, t0 := height(0), time.Now()
		time.Sleep(down)
		waitHeight(at+phase, time.Duration(phase)*5*time.Second)
		committed, took := height(0)-at, time.Since(t0)
		recover(pid)
		r0 := time.Now()
		var first int64 // the victim's height when it first answers again
		require.Eventually(t, func() bool {
			h := height(victim)
			if first == 0 {
				first = h
			}
			return h >= height(0)-1
		}, 3*time.Minute, 200*time.Millisecond, "validator %d catches up after being %s", victim, name)
		t.Logf("%s: validator %d out at height %d; the other 3 committed %d blocks in %s; it answered again at height %d and caught up to %d in %s",
			name, victim, at, committed, took.Round(time.Second), first, height(victim), time.Since(r0).Round(100*time.Millisecond))
	}
	fault("killed and restarted", validators-1,
		func(pid int) { require.NoError(t, syscall.Kill(pid, syscall.SIGKILL)) }, 0,
		func(int) { l.restart(t, validators-1) })
	fault("paused 20 s", validators-2,
		func(pid int) { require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP)) }, 20*time.Second,
		func(pid int) { require.NoError(t, syscall.Kill(pid, syscall.SIGCONT)) })
	fault("network-partitioned 20 s", validators-3,
		func(int) {
			isolated.cut(t)
			require.Zero(t, height(validators-3), "validator %d's RPC is cut off too", validators-3)
		}, 20*time.Second,
		func(int) { isolated.reconnect() })

	waitHeight(start+blocks, time.Duration(blocks)*3*time.Second)
	close(stop)
	wait()
	end := height(0)

	// Same app hash everywhere, at every 5th height and the last common one.
	common := end
	for i := 0; i < validators; i++ {
		if h := height(i); h < common {
			common = h
		}
	}
	checked := 0
	for h := start; h <= common; h += 5 {
		want, err := appHash(0, h)
		require.NoError(t, err)
		for i := 1; i < validators; i++ {
			got, err := appHash(i, h)
			require.NoError(t, err, "validator %d, height %d", i, h)
			require.Equal(t, want, got, "app hash of validator %d at height %d", i, h)
		}
		checked++
	}

	// Every receipt submitted is accepted on chain exactly once; each one
	// sent again (a second tx with the same receipts) is refused as a
	// duplicate; x/verification's epoch totals count each once.
	sent := batches()
	require.NotEmpty(t, sent)
	accepted, resent := map[string]int{}, 0
	for _, b := range sent {
		code, acc, rej, err := txReceiptEvents(b.hash)
		require.NoError(t, err, "tx %s is on chain", b.hash)
		require.Zero(t, code, "tx %s succeeded", b.hash)
		if b.resend {
			resent += len(b.sessions)
			require.Empty(t, acc, "tx %s repeats earlier receipts: none accepted", b.hash)
			require.Len(t, rej, len(b.sessions), "tx %s: every repeated receipt refused", b.hash)
			for _, r := range rej {
				require.Equal(t, "REJECT_REASON_DUPLICATE", r, "tx %s", b.hash)
			}
			continue
		}
		require.Empty(t, rej, "tx %s: no receipt refused", b.hash)
		require.ElementsMatch(t, b.sessions, acc, "tx %s: each of its receipts accepted", b.hash)
		for _, id := range acc {
			accepted[id]++
		}
	}
	for id, n := range accepted {
		require.Equal(t, 1, n, "session %s accepted once", id)
	}
	lastEpoch, err := currentEpoch()
	require.NoError(t, err)
	var counted uint64
	for e := firstEpoch; e <= lastEpoch; e++ {
		counted += l.epochReceipts(t, e)
	}
	require.EqualValues(t, len(accepted), counted, "the epochs %d–%d count each accepted receipt once", firstEpoch, lastEpoch)
	t.Logf("heights %d–%d: %d receipts in %d txs on chain exactly once (epochs %d–%d count %d); %d sent again, all refused as duplicates; app hashes equal on all %d validators at %d heights",
		start, end, len(accepted), len(sent), firstEpoch, lastEpoch, counted, resent, validators, checked)
}

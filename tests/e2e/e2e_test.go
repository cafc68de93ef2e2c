// Package e2e runs the whole network — chroomd, an orchestrator and two
// media nodes from build/ — and drives it with headless Chromium (fake
// camera and microphone). Run it with `make e2e` (CHROOM_E2E=1).
package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/grant"
)

// The devnet's ports lie below Linux's ephemeral range (32768–60999), so
// an outgoing connection's local port cannot take one between the
// script's free-port check and the listen.
const (
	orchHTTP   = 21800
	media1Base = 21880
	media2Base = 21890
	media3Base = 21900
	apiPort    = 21317
	rpcPort    = 21657
)

var root, devnet string

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
	return string(out)
}

func chroomd(t *testing.T, args ...string) string {
	return run(t, filepath.Join(root, "build", "chroomd"), append(args, "--node", fmt.Sprintf("tcp://127.0.0.1:%d", rpcPort))...)
}

// devnetEpoch is the devnet's reward epoch (EPOCH_DURATION in devnetEnv).
const devnetEpoch = 60 * time.Second

func devnetEnv() []string {
	// 60 s reward epochs: short enough for rewards within a test, long
	// enough that receipts queued through a 30 s chain outage are still for
	// the current or previous epoch when they land (TestChainUnreachableFor30s).
	return append(os.Environ(), "DEVNET_DIR="+devnet, "NETWORK=1", "EPOCH_DURATION=60s",
		fmt.Sprintf("RPC_PORT=%d", rpcPort), "P2P_PORT=21656", "GRPC_PORT=21090", fmt.Sprintf("API_PORT=%d", apiPort),
		fmt.Sprintf("ORCH_HTTP=%d", orchHTTP), "ORCH_RPC=21801", fmt.Sprintf("MEDIA1_BASE=%d", media1Base), fmt.Sprintf("MEDIA2_BASE=%d", media2Base), "MEDIA_NODES=3",
		"TURN_BASE=21477", "TURN_TLS_BASE=21487", "METRICS_BASE=21099", fmt.Sprintf("EMBED_ORIGINS=http://127.0.0.1:%d", embedAllowedPort), fmt.Sprintf("OWNER_PID=%d", os.Getpid()), "MEDIA_LOG_LEVEL=debug")
}

func TestMain(m *testing.M) {
	if os.Getenv("CHROOM_E2E") != "1" {
		fmt.Println("skipping the end-to-end test: run it with make e2e (CHROOM_E2E=1)")
		os.Exit(0)
	}
	wd, _ := os.Getwd()
	root = filepath.Join(wd, "..", "..")
	devnet, _ = os.MkdirTemp("", "chroom-e2e-")
	up := exec.Command("bash", "scripts/devnet.sh", "up")
	up.Dir, up.Env, up.Stdout, up.Stderr = root, devnetEnv(), os.Stdout, os.Stderr
	if err := up.Run(); err != nil {
		fmt.Println("devnet did not start:", err)
		down()
		os.Exit(1)
	}
	// Every media node reports load before the first test (placement
	// counts on all of them).
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if n, err := proposedNodes(); err == nil && n == len(mediaBases) {
			break
		}
	}
	code := m.Run()
	down()
	if code == 0 && os.Getenv("CHROOM_E2E_KEEP") == "" { // CHROOM_E2E_KEEP=1 keeps a passing run's logs too
		os.RemoveAll(devnet)
	} else {
		fmt.Println("devnet logs kept in", filepath.Join(devnet, "logs"))
	}
	os.Exit(code)
}

func down() {
	d := exec.Command("bash", "scripts/devnet.sh", "down")
	d.Dir, d.Env = root, devnetEnv()
	_ = d.Run()
}

// browser starts headless Chromium with a fake camera and microphone,
// and any extra command-line options.
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	exe := os.Getenv("CHROMIUM")
	if exe == "" {
		exe = "/usr/bin/chromium"
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("use-fake-device-for-media-stream", "fps=30"), chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"), chromedp.WindowSize(1280, 800),
		// chromedp waits 20 s for the DevTools URL by default; a cold
		// start on a busy 2-core machine took longer once in CI.
		chromedp.WSURLReadTimeout(90*time.Second))
	opts = append(opts, extra...)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(alloc, quietErrors)
	t.Cleanup(cancel2)
	require.NoError(t, chromedp.Run(ctx)) // start the browser
	return ctx
}

func tab(t *testing.T, b context.Context) context.Context {
	ctx, cancel := chromedp.NewContext(b)
	t.Cleanup(cancel)
	return ctx
}

// quietErrors (a browser option, so every tab) logs chromedp's errors
// except "could not unmarshal event": Chromium sends DevTools events and
// enum values (IPAddressSpace "Loopback") newer than the pinned cdproto
// knows; the test uses none of them.
var quietErrors = chromedp.WithErrorf(func(format string, args ...any) {
	if msg := fmt.Sprintf(format, args...); !strings.Contains(msg, "could not unmarshal event") {
		log.Print(msg)
	}
})

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	var out T
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Run(c, chromedp.Evaluate(js, &out, func(p *runtimeEvaluate) *runtimeEvaluate { return p.WithAwaitPromise(true) })), js)
	return out
}

func waitFor(t *testing.T, ctx context.Context, what, js string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var ok bool
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := chromedp.Run(c, chromedp.Evaluate(js, &ok, func(p *runtimeEvaluate) *runtimeEvaluate { return p.WithAwaitPromise(true) }))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			var state string
			_ = chromedp.Run(ctx, chromedp.Evaluate(`JSON.stringify({state: window.chroom && window.chroom.state, error: window.chroom && window.chroom.error})`, &state))
			t.Fatalf("%s: not true after %s (err %v, page %s)", what, timeout, err, state)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func TestCallEarnsReward(t *testing.T) {
	b := browser(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	// The devnet's app "demo" pays the usage fees of the web client's
	// sessions from its escrow (orchestrator anonymous_bill_app: demo).
	escrowBefore, spentBefore := appEscrow(t, "demo")
	alice, bob := tab(t, b), tab(t, b)
	require.NoError(t, chromedp.Run(alice, chromedp.Navigate(base+"/?room=e2e&name=Alice&autojoin=1")))
	require.NoError(t, chromedp.Run(bob, chromedp.Navigate(base+"/?room=e2e&name=Bob&autojoin=1")))
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob} {
		waitFor(t, p, name+" joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
	}
	// Each receives the other's video (and audio).
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob} {
		waitFor(t, p, name+" decodes video", `window.chroom.framesDecoded().then(n => n > 0)`, 30*time.Second)
		waitFor(t, p, name+" decodes audio", `window.chroom.audioSamplesReceived().then(n => n > 0)`, 30*time.Second)
		waitFor(t, p, name+" sees two participants", `window.chroom.participants().length === 2`, 10*time.Second)
	}
	// The web client joins anonymously: the orchestrator names it and
	// never makes it host, even first in the room.
	require.Equal(t, "participant", eval[string](t, alice, `window.chroom.role`), "an anonymous join does not host")
	require.Regexp(t, `^guest-[0-9a-f]{12}$`, eval[string](t, alice, `window.chroom.identity`))
	// Client attestation: each tab's grant binds its Ed25519 key and its
	// usage reports are signed statements the orchestrator accepts (the
	// rewards below need them: receipts are credited no more time than
	// the clients attest).
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob} {
		require.True(t, eval[bool](t, p, `window.chroom.attested`), name+" is attested")
		waitFor(t, p, name+"'s signed usage statements are accepted", `window.chroom.statementsAccepted > 0 && window.chroom.statsError === null`, 15*time.Second)
	}

	// Chat both ways over the data channel.
	eval[any](t, alice, `window.chroom.sendChat("hello from alice")`)
	eval[any](t, bob, `window.chroom.sendChat("hello from bob")`)
	waitFor(t, bob, "bob gets alice's chat", `window.chroom.lastChat.some(m => m.text === "hello from alice" && !m.self)`, 10*time.Second)
	waitFor(t, alice, "alice gets bob's chat", `window.chroom.lastChat.some(m => m.text === "hello from bob" && !m.self)`, 10*time.Second)

	// A file arrives intact.
	content := strings.Repeat("chroom file transfer ", 3000)
	sum := sha256.Sum256([]byte(content))
	eval[any](t, alice, fmt.Sprintf(`window.chroom.sendFile(new File([%q], "notes.txt", {type: "text/plain"}))`, content))
	waitFor(t, bob, "bob receives the file", fmt.Sprintf(
		`Promise.resolve(window.chroom.files.find(f => f.name === "notes.txt" && f.direction === "in" && f.status === "complete" && f.verified && f.sha256 === %q) !== undefined)`,
		hex.EncodeToString(sum[:])), 30*time.Second)

	// A screenshot of the call, as a test artifact.
	var png []byte
	require.NoError(t, chromedp.Run(bob, chromedp.FullScreenshot(&png, 100)))
	artifacts := os.Getenv("E2E_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join(root, "build", "e2e")
	}
	require.NoError(t, os.MkdirAll(artifacts, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(artifacts, "call.png"), png, 0o644))

	nodeID := eval[string](t, alice, `window.chroom.nodeId`)
	operator := strings.TrimSpace(run(t, filepath.Join(root, "build", "chroomd"), "keys", "show", "media-operator", "-a",
		"--keyring-backend", "test", "--home", filepath.Join(devnet, "chroomd")))

	// Both leave; their sessions become receipts, then rewards.
	eval[any](t, alice, `window.chroom.leave()`)
	eval[any](t, bob, `window.chroom.leave()`)
	t.Logf("call on media node %s; waiting for its operator %s to earn rewards", nodeID, operator)
	claimable := waitForRewards(t, operator, 150*time.Second)
	escrowAfter, spentAfter := appEscrow(t, "demo")
	paid := escrowBefore - escrowAfter
	t.Logf("app demo's escrow paid %d uchr of usage fees for the call; the media operator can claim %d uchr", paid, claimable)
	require.Positive(t, paid, "the call was paid for from the app's escrow (usage fees)")
	require.Equal(t, paid, spentAfter-spentBefore, "the escrow fell by exactly the fees it paid")
	// Two participants for ≥ 1 s each at 1000 uchr per participant-minute.
	require.GreaterOrEqual(t, paid, int64(2*17), "at least two participants' fees")

	// Claiming pays gas (minimum-gas-prices 0.01uchr): a fixed fee here.
	const claimFee = 2000
	before := balance(t, operator)
	out := chroomd(t, "tx", "incentives", "claim-rewards", "--from", "media-operator", "--keyring-backend", "test",
		"--home", filepath.Join(devnet, "chroomd"), "--chain-id", "chroom-devnet-1", "--gas", "200000", "--fees", fmt.Sprintf("%duchr", claimFee),
		"--yes", "--output", "json")
	hash := regexp.MustCompile(`"txhash":\s*"([0-9A-F]{64})"`).FindStringSubmatch(out)
	require.Len(t, hash, 2, out)
	waitForTx(t, hash[1], 30*time.Second)
	after := balance(t, operator)
	require.GreaterOrEqual(t, after-before+claimFee, claimable, "the balance rises by the claimed rewards (less the tx fee)")
}

// waitForTx polls for a tx until it is in a block (query wait-tx misses a
// tx committed before its subscription starts).
func waitForTx(t *testing.T, hash string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		cmd := exec.Command(filepath.Join(root, "build", "chroomd"), "query", "tx", hash, "--output", "json",
			"--node", fmt.Sprintf("tcp://127.0.0.1:%d", rpcPort))
		out, err := cmd.CombinedOutput()
		if err == nil {
			require.Contains(t, string(out), `"code":0`, "tx %s failed: %s", hash, out)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tx %s not in a block after %s: %s", hash, timeout, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

var amountRE = regexp.MustCompile(`"amount":\s*"([0-9]+)"`)

func waitForRewards(t *testing.T, operator string, timeout time.Duration) int64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		out := chroomd(t, "query", "incentives", "rewards", operator, "--output", "json")
		if m := amountRE.FindStringSubmatch(out); m != nil {
			if n, _ := strconv.ParseInt(m[1], 10, 64); n > 0 {
				return n
			}
		}
		time.Sleep(2 * time.Second)
	}
	t.Fatalf("no claimable rewards for %s after %s", operator, timeout)
	return 0
}

// appEscrow returns app id's escrow balance and total fees spent, uchr.
func appEscrow(t *testing.T, id string) (balance, spent int64) {
	t.Helper()
	out := chroomd(t, "query", "incentives", "app", id, "--output", "json")
	var res struct {
		App struct {
			Balance struct{ Amount string } `json:"balance"`
			Spent   struct{ Amount string } `json:"spent"`
		} `json:"app"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	balance, _ = strconv.ParseInt(res.App.Balance.Amount, 10, 64)
	spent, _ = strconv.ParseInt(res.App.Spent.Amount, 10, 64)
	return balance, spent
}

func balance(t *testing.T, addr string) int64 {
	out := chroomd(t, "query", "bank", "balance", addr, "uchr", "--output", "json")
	m := amountRE.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

func TestWHIPThenWHEPInChromium(t *testing.T) {
	b := browser(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	pub, play := tab(t, b), tab(t, b)
	for _, p := range []context.Context{pub, play} {
		require.NoError(t, chromedp.Run(p, chromedp.Navigate(base+"/?room=live")))
	}
	// The publisher gets a grant and publishes its fake camera over WHIP.
	eval[any](t, pub, `(async () => {
	  const j = await (await fetch("/v1/rooms/live/join", {method: "POST", body: JSON.stringify({name: "streamer"})})).json();
	  const stream = await navigator.mediaDevices.getUserMedia({video: true});
	  const pc = new RTCPeerConnection();
	  pc.addTransceiver(stream.getVideoTracks()[0], {direction: "sendonly"});
	  await pc.setLocalDescription(await pc.createOffer());
	  await new Promise(r => { if (pc.iceGatheringState === "complete") r(); pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && r(); setTimeout(r, 3000); });
	  const res = await fetch(j.media_node.whip_url, {method: "POST", headers: {"Content-Type": "application/sdp", "Authorization": "Bearer " + j.token}, body: pc.localDescription.sdp});
	  if (res.status !== 201) throw new Error("WHIP " + res.status + " " + await res.text());
	  window.whipLocation = res.headers.get("Location");
	  await pc.setRemoteDescription({type: "answer", sdp: await res.text()});
	  window.pub = pc;
	  return true;
	})()`)
	waitFor(t, pub, "WHIP connects", `window.pub.connectionState === "connected"`, 20*time.Second)
	// A viewer plays the room over WHEP.
	eval[any](t, play, `(async () => {
	  const j = await (await fetch("/v1/rooms/live/join", {method: "POST", body: JSON.stringify({name: "watcher", role: "viewer"})})).json();
	  const pc = new RTCPeerConnection();
	  pc.addTransceiver("video", {direction: "recvonly"});
	  await pc.setLocalDescription(await pc.createOffer());
	  await new Promise(r => { if (pc.iceGatheringState === "complete") r(); pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && r(); setTimeout(r, 3000); });
	  const res = await fetch(j.media_node.whep_url, {method: "POST", headers: {"Content-Type": "application/sdp", "Authorization": "Bearer " + j.token}, body: pc.localDescription.sdp});
	  if (res.status !== 201) throw new Error("WHEP " + res.status + " " + await res.text());
	  await pc.setRemoteDescription({type: "answer", sdp: await res.text()});
	  window.play = pc;
	  return true;
	})()`)
	waitFor(t, play, "the WHEP player decodes frames", `window.play.getStats().then(s => { let n = 0; s.forEach(r => { if (r.type === "inbound-rtp" && r.kind === "video") n += r.framesDecoded || 0 }); return n > 0 })`, 30*time.Second)
}

// TestForgedAndExpiredGrantsAreRefused connects to a media node directly
// with grants it must refuse.
func TestForgedAndExpiredGrantsAreRefused(t *testing.T) {
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	resp, err := http.Post(base+"/v1/rooms/guarded/join", "application/json", strings.NewReader(`{"name":"mallory"}`))
	require.NoError(t, err)
	var j struct {
		Token     string `json:"token"`
		MediaNode struct {
			ID    string `json:"id"`
			WSURL string `json:"ws_url"`
		} `json:"media_node"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&j))
	resp.Body.Close()

	// The genuine grant connects.
	ws, r, err := websocket.DefaultDialer.Dial(j.MediaNode.WSURL+"?access_token="+j.Token, nil)
	require.NoError(t, err)
	r.Body.Close()
	ws.Close()

	forger, err := format.GenerateNodeKey(nil)
	require.NoError(t, err)
	forged := issue(t, forger, j.MediaNode.ID, time.Now().Add(time.Hour))
	tampered := j.Token[:len(j.Token)-6] + "AAAAAA"
	for name, tok := range map[string]string{"forged (unknown issuer)": forged, "tampered": tampered} {
		_, r, err := websocket.DefaultDialer.Dial(j.MediaNode.WSURL+"?access_token="+tok, nil)
		require.Error(t, err, name)
		require.Equal(t, http.StatusUnauthorized, r.StatusCode, name)
		r.Body.Close()
	}
	// An expired grant from the real orchestrator key is refused too.
	orchKey, err := format.LoadNodeKey(filepath.Join(devnet, "orchestrator", "node_key.json"))
	require.NoError(t, err)
	expired := issue(t, orchKey, j.MediaNode.ID, time.Now().Add(-time.Minute))
	_, r, err = websocket.DefaultDialer.Dial(j.MediaNode.WSURL+"?access_token="+expired, nil)
	require.Error(t, err)
	require.Equal(t, http.StatusUnauthorized, r.StatusCode)
	r.Body.Close()
}

func issue(t *testing.T, key *format.NodeKey, aud string, exp time.Time) string {
	c := grant.Claims{ChainID: "chroom-devnet-1", Type: grant.TypeJoin, Room: "guarded", Role: grant.RoleHost, Permissions: grant.DefaultPermissions(grant.RoleHost)}
	c.Subject, c.Audience = "mallory", []string{aud}
	c.IssuedAt, c.NotBefore, c.ExpiresAt = jwt.NewNumericDate(exp.Add(-2*time.Hour)), jwt.NewNumericDate(exp.Add(-2*time.Hour)), jwt.NewNumericDate(exp)
	tok, err := grant.Issue(key, c)
	require.NoError(t, err)
	return tok
}

// devnetAPIKey is the app key `orchestrator init` wrote for the devnet.
func devnetAPIKey(t *testing.T) string {
	raw, err := os.ReadFile(filepath.Join(devnet, "orchestrator", "config.yaml"))
	require.NoError(t, err)
	var cfg struct {
		API struct {
			Keys []struct{ Key, Name string } `yaml:"keys"`
		} `yaml:"api"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &cfg))
	require.NotEmpty(t, cfg.API.Keys)
	return cfg.API.Keys[0].Key
}

type joinAnswer struct {
	Token     string `json:"token"`
	Identity  string `json:"identity"`
	Role      string `json:"role"`
	MediaNode struct {
		ID    string `json:"id"`
		WSURL string `json:"ws_url"`
	} `json:"media_node"`
	Error struct{ Code string } `json:"error"`
}

func apiCall(t *testing.T, method, path, key, bearer, body string) (int, joinAnswer) {
	t.Helper()
	req, err := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", orchHTTP, path), strings.NewReader(body))
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out joinAnswer
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestIdentitiesAndRemovalOnTheDevnet: on the running network, nobody
// takes over the host's identity, and a removed participant stays out.
func TestIdentitiesAndRemovalOnTheDevnet(t *testing.T) {
	key := devnetAPIKey(t)
	status, host := apiCall(t, "POST", "/v1/rooms/guard/join", key, "", `{"identity":"alice","name":"Alice"}`)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "host", host.Role)
	hostWS, r, err := websocket.DefaultDialer.Dial(host.MediaNode.WSURL+"?access_token="+host.Token, nil)
	require.NoError(t, err)
	r.Body.Close()
	defer hostWS.Close()
	// The host is in the room once the node says "joined" (the upgrade
	// comes first; a second dial before the join completes races it).
	hostWS.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var m map[string]any
		require.NoError(t, hostWS.ReadJSON(&m), "the host's session joins")
		if m["type"] == "joined" {
			break
		}
	}

	// An anonymous impostor cannot name the host's identity ...
	status, ans := apiCall(t, "POST", "/v1/rooms/guard/join", "", "", `{"identity":"`+host.Identity+`"}`)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "identity_not_allowed", ans.Error.Code)
	// ... and a second grant for the host's identity cannot take her
	// session on the media node.
	_, second := apiCall(t, "POST", "/v1/rooms/guard/join", key, "", `{"identity":"alice"}`)
	_, r, err = websocket.DefaultDialer.Dial(second.MediaNode.WSURL+"?access_token="+second.Token, nil)
	require.Error(t, err)
	require.Equal(t, http.StatusConflict, r.StatusCode)
	r.Body.Close()
	hostWS.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		var m map[string]any
		if err := hostWS.ReadJSON(&m); err != nil {
			var ne interface{ Timeout() bool }
			require.True(t, errors.As(err, &ne) && ne.Timeout(), "the host's session is still open: %v", err)
			break
		}
	}

	// A removed guest can neither reconnect with its grant nor join again.
	status, guest := apiCall(t, "POST", "/v1/rooms/guard/join", "", "", `{"name":"Guest"}`)
	require.Equal(t, http.StatusOK, status)
	guestWS, r, err := websocket.DefaultDialer.Dial(guest.MediaNode.WSURL+"?access_token="+guest.Token, nil)
	require.NoError(t, err)
	r.Body.Close()
	defer guestWS.Close()
	waitForParticipant := func(identity string) {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/v1/rooms/guard/participants", orchHTTP), nil)
			req.Header.Set("X-API-Key", key)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.Contains(string(b), identity) {
					return
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("%s never showed up in the room", identity)
	}
	waitForParticipant(guest.Identity)
	status, _ = apiCall(t, "DELETE", "/v1/rooms/guard/participants/"+guest.Identity, "", host.Token, "")
	require.Equal(t, http.StatusNoContent, status)
	_, r, err = websocket.DefaultDialer.Dial(guest.MediaNode.WSURL+"?access_token="+guest.Token, nil)
	require.Error(t, err, "the removed guest's grant is revoked on the node")
	require.Equal(t, http.StatusForbidden, r.StatusCode)
	r.Body.Close()
	status, ans = apiCall(t, "POST", "/v1/rooms/guard/join", "", "", `{"name":"Guest again"}`)
	require.Equal(t, http.StatusForbidden, status)
	require.Equal(t, "banned", ans.Error.Code)
}

// mediaBases are the devnet's three media nodes' first ports (each uses
// base..base+3: HTTP, RPC, UDP media, ICE-TCP); turnPorts their TURN
// relays' (TURN_BASE + i).
var (
	mediaBases = []int{media1Base, media2Base, media3Base}
	turnPorts  = []int{21478, 21479, 21480}
)

// mediaPorts lists base+offset of every media node, then extra, for an
// nft set ("21882, 21892, 21902").
func mediaPorts(offset int, extra ...int) string {
	var ps []string
	for _, b := range mediaBases {
		ps = append(ps, strconv.Itoa(b+offset))
	}
	for _, e := range extra {
		ps = append(ps, strconv.Itoa(e))
	}
	return strings.Join(ps, ", ")
}

// serviceOf is the devnet service (media-1 …) whose signaling listens on
// the port of pingURL, "" if none.
func serviceOf(pingURL string) string {
	for i, b := range mediaBases {
		if strings.Contains(pingURL, fmt.Sprintf(":%d/", b)) {
			return fmt.Sprintf("media-%d", i+1)
		}
	}
	return ""
}

// proposedNodes is how many media nodes the orchestrator proposes for a
// new room (the ones reporting load).
func proposedNodes() (int, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/v1/rooms/probe-%d/placement", orchHTTP, time.Now().UnixNano()))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var p struct {
		Nodes []json.RawMessage `json:"nodes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return 0, err
	}
	return len(p.Nodes), nil
}

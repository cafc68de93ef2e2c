// Package probes runs the QoS probes the chain assigns this orchestrator
// (x/verification README, "QoS probes"): for each assignment of the
// current or previous epoch without a result on chain, it issues two
// ordinary join grants on the media node, runs the prober program (which
// links Pion; the orchestrator does not), signs the measurement with the
// orchestrator's node key and submits it (MsgSubmitProbe).
package probes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/orchestrator/api"
)

// Assignment is one probe assigned in an epoch.
type Assignment struct {
	Epoch       int64
	MediaNodeID string
	ProberID    string
	// Submitted: a result is already on chain.
	Submitted bool
}

// Chain is what the runner needs from the chain (orchestrator/chain).
type Chain interface {
	CurrentEpoch(ctx context.Context) (int64, error)
	ProbeAssignments(ctx context.Context, epoch int64) ([]Assignment, error)
	// SubmitProbe sends a MsgSubmitProbe and waits for its block.
	SubmitProbe(ctx context.Context, sp format.SignedProbeResult) error
}

// Measurement is the prober's output (chroom-loadtest probe; JSON).
type Measurement struct {
	Connected    bool   `json:"connected"`
	Error        string `json:"error"`
	SetupMs      uint32 `json:"setup_ms"`
	RttMs        uint32 `json:"rtt_ms"`
	JitterMs     uint32 `json:"jitter_ms"`
	LossPermille uint32 `json:"loss_permille"`
	BitrateKbps  uint32 `json:"bitrate_kbps"`
	TargetKbps   uint32 `json:"target_kbps"`
	Relayed      bool   `json:"relayed"`
}

// Runner runs this orchestrator's probes.
type Runner struct {
	Key     *format.NodeKey
	ChainID string
	Chain   Chain
	// Grants issues a probe's two join grants (api.Server.ProbeGrants).
	Grants func(nodeID string) (api.ProbeGrants, error)
	// Command is the prober and its arguments.
	Command    []string
	Duration   time.Duration
	TargetKbps int
	Log        *slog.Logger
	// Observe, if set, is told each probe's outcome: "connected",
	// "failed" (submitted, not connected) or "error" (not submitted).
	Observe func(outcome string)

	mu sync.Mutex
	// done holds the probes this run submitted, of the epochs still open
	// (older ones are forgotten: the chain refuses them anyway).
	done map[doneKey]bool
}

// Run checks for assignments every interval until ctx ends; probes run
// one at a time.
func (r *Runner) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		r.Once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once probes every node this orchestrator is assigned in the current and
// the previous epoch that has no result on chain yet.
func (r *Runner) Once(ctx context.Context) {
	current, err := r.Chain.CurrentEpoch(ctx)
	if err != nil || current < 1 {
		return
	}
	r.forget(current - 1)
	for _, e := range []int64{current - 1, current} {
		if e < 1 {
			continue
		}
		list, err := r.Chain.ProbeAssignments(ctx, e)
		if err != nil {
			r.Log.Warn("probe assignments not read", "epoch", e, "err", err)
			continue
		}
		for _, a := range list {
			if a.ProberID != r.Key.ID || a.Submitted || r.isDone(a) || ctx.Err() != nil {
				continue
			}
			r.probe(ctx, a)
		}
	}
}

type doneKey struct {
	epoch int64
	node  string
}

func key(a Assignment) doneKey { return doneKey{a.Epoch, a.MediaNodeID} }

// forget drops the submitted probes of epochs before oldest.
func (r *Runner) forget(oldest int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.done {
		if k.epoch < oldest {
			delete(r.done, k)
		}
	}
}

// Submitted is how many submitted probes the runner remembers.
func (r *Runner) Submitted() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.done)
}

func (r *Runner) isDone(a Assignment) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done[key(a)]
}

func (r *Runner) observe(outcome string) {
	if r.Observe != nil {
		r.Observe(outcome)
	}
}

// probe runs and submits one probe.
func (r *Runner) probe(ctx context.Context, a Assignment) {
	log := r.Log.With("epoch", a.Epoch, "media_node", a.MediaNodeID)
	started := time.Now()
	m, err := r.measure(ctx, a.MediaNodeID)
	if err != nil {
		// The prober itself failed (not the node): nothing to submit.
		r.observe("error")
		log.Error("QoS probe not run", "err", err)
		return
	}
	res := format.ProbeResult{Epoch: a.Epoch, MediaNodeId: a.MediaNodeID, ProberId: r.Key.ID, StartedUnixMs: started.UnixMilli(),
		Connected: m.Connected, SetupMs: m.SetupMs, RttMs: m.RttMs, JitterMs: m.JitterMs, LossPermille: min(m.LossPermille, 1000),
		BitrateKbps: m.BitrateKbps, TargetKbps: max(m.TargetKbps, 1), Relayed: m.Relayed, Error: m.Error}
	if res.Connected {
		res.Error = ""
	} else if res.Error == "" {
		res.Error = "no media came back"
	}
	if len(res.Error) > format.MaxProbeErrorBytes {
		res.Error = strings.ToValidUTF8(res.Error[:format.MaxProbeErrorBytes], "")
	}
	sp, err := format.SignProbe(r.Key, r.ChainID, res)
	if err != nil {
		r.observe("error")
		log.Error("QoS probe not signed", "err", err)
		return
	}
	if err := r.Chain.SubmitProbe(ctx, *sp); err != nil {
		r.observe("error")
		log.Warn("QoS probe not submitted (retried at the next check)", "err", err)
		return
	}
	r.mu.Lock()
	if r.done == nil {
		r.done = map[doneKey]bool{}
	}
	r.done[key(a)] = true
	r.mu.Unlock()
	outcome := "failed"
	if res.Connected {
		outcome = "connected"
	}
	r.observe(outcome)
	log.Info("QoS probe submitted", "connected", res.Connected, "loss_permille", res.LossPermille, "rtt_ms", res.RttMs,
		"bitrate_kbps", res.BitrateKbps, "setup_ms", res.SetupMs, "relayed", res.Relayed, "error", res.Error)
}

// measure issues the probe grants and runs the prober program.
func (r *Runner) measure(ctx context.Context, nodeID string) (Measurement, error) {
	if len(r.Command) == 0 {
		return Measurement{}, errors.New("no prober command (probes.command)")
	}
	g, err := r.Grants(nodeID)
	if err != nil {
		return Measurement{}, err
	}
	req, err := json.Marshal(map[string]any{"whip": g.WHIP, "whep": g.WHEP, "publish_token": g.PublishToken, "view_token": g.ViewToken,
		"duration_ms": r.Duration.Milliseconds(), "target_kbps": r.TargetKbps})
	if err != nil {
		return Measurement{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, r.Duration+90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, r.Command[0], r.Command[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(req), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return Measurement{}, fmt.Errorf("prober %s: %w: %s", r.Command[0], err, strings.TrimSpace(lastLine(stderr.String())))
	}
	var m Measurement
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &m); err != nil {
		return Measurement{}, fmt.Errorf("prober %s printed no measurement: %w", r.Command[0], err)
	}
	return m, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

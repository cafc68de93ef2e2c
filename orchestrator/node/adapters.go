package node

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/orchestrator/api"
	"github.com/chroom/chroom/orchestrator/chain"
	"github.com/chroom/chroom/orchestrator/probes"
)

// directory adapts the chain's registry view to api.Directory.
type directory struct{ v *chain.View }

func nodeInfo(n chain.NodeInfo) api.NodeInfo {
	return api.NodeInfo{ID: n.ID, Type: n.Type, Status: n.Status, Operator: n.Operator, Moniker: n.Moniker, Region: n.Region,
		Endpoints: n.Endpoints, MaxSessions: n.MaxSessions, MaxEgressKbps: n.MaxEgressKbps, Quality: n.Quality}
}

func (d directory) list(typ string) []api.NodeInfo {
	var out []api.NodeInfo
	for _, n := range d.v.ActiveNodes(typ) {
		out = append(out, nodeInfo(n))
	}
	return out
}

func (d directory) ActiveMediaNodes() []api.NodeInfo { return d.list(chain.TypeMedia) }

func (d directory) ActiveOrchestrators() []api.NodeInfo { return d.list(chain.TypeOrchestrator) }

func (d directory) Node(id string) (api.NodeInfo, bool) {
	n, ok := d.v.NodeInfo(id)
	if !ok {
		return api.NodeInfo{}, false
	}
	return nodeInfo(n), true
}

func (d directory) Ready() bool { return d.v.Ready() }

// Endpoints implements nodes.Endpoints.
func (d directory) Endpoints(id string) ([]string, bool) {
	n, ok := d.v.NodeInfo(id)
	return n.Endpoints, ok
}

// peerURLs lists the other ACTIVE orchestrators' base URLs.
func (d directory) peerURLs(self string) map[string]string {
	out := map[string]string{}
	for _, o := range d.ActiveOrchestrators() {
		if o.ID == self {
			continue
		}
		for _, e := range o.Endpoints {
			if u, err := url.Parse(e); err == nil && (u.Scheme == "http" || u.Scheme == "https") && strings.TrimSuffix(u.Path, "/") != "/rpc" {
				out[o.ID] = e
				break
			}
		}
	}
	return out
}

// rewards adapts the chain client to api.Rewards.
type rewards struct{ c *chain.Client }

func (r rewards) Claimable(ctx context.Context, operator string) (string, string, error) {
	coin, err := r.c.Claimable(ctx, operator)
	if err != nil {
		return "", "", err
	}
	return coin.Amount.String(), coin.Denom, nil
}

// probeChain adapts the chain client and submitter to probes.Chain.
type probeChain struct {
	c   *chain.Client
	sub *chain.Submitter
	// mu keeps probe transactions one at a time (one account sequence).
	mu sync.Mutex
}

func (p *probeChain) CurrentEpoch(ctx context.Context) (int64, error) { return p.c.CurrentEpoch(ctx) }

func (p *probeChain) ProbeAssignments(ctx context.Context, epoch int64) ([]probes.Assignment, error) {
	list, err := p.c.ProbeAssignments(ctx, epoch)
	if err != nil {
		return nil, err
	}
	out := make([]probes.Assignment, len(list))
	for i, a := range list {
		out[i] = probes.Assignment{Epoch: a.Epoch, MediaNodeID: a.MediaNodeID, ProberID: a.ProberID, Submitted: a.Submitted}
	}
	return out, nil
}

func (p *probeChain) SubmitProbe(ctx context.Context, sp format.SignedProbeResult) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	tx, err := p.sub.PrepareProbe(ctx, sp)
	if err != nil {
		return err
	}
	_, err = p.sub.Broadcast(ctx, tx)
	return err
}

// proberCommand is probes.command, or chroom-loadtest probe next to this
// executable (else on PATH).
func proberCommand(configured []string) []string {
	if len(configured) > 0 {
		return configured
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "chroom-loadtest")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return []string{p, "probe"}
		}
	}
	if p, err := exec.LookPath("chroom-loadtest"); err == nil {
		return []string{p, "probe"}
	}
	return nil
}

// network adapts the registry view and the chain client to
// api.NetworkSource.
type network struct {
	v *chain.View
	c *chain.Client
}

func (n network) AllNodes() []api.NodeInfo {
	var out []api.NodeInfo
	for _, x := range n.v.AllNodes() {
		out = append(out, nodeInfo(x))
	}
	return out
}

func (n network) NodeHealth(ctx context.Context, id string) (api.NodeHealth, error) {
	h, err := n.c.NodeHealth(ctx, id)
	if err != nil {
		return api.NodeHealth{}, err
	}
	out := api.NodeHealth{Score: h.Score, ConsecutiveFailedProbes: h.ConsecutiveFailedProbes, ProbesPassed: h.ProbesPassed,
		ProbesFailed: h.ProbesFailed, LastProbedEpoch: h.LastProbedEpoch, History: []api.QualityPoint{}}
	if len(h.Probes) > 0 {
		p := h.Probes[0]
		out.LastProbe = &api.ProbeSummary{Epoch: p.Epoch, Connected: p.Connected, SetupMs: p.SetupMs, RttMs: p.RttMs, JitterMs: p.JitterMs,
			LossPermille: p.LossPermille, BitrateKbps: p.BitrateKbps, TargetKbps: p.TargetKbps, Error: p.Error, Quality: p.Quality}
	}
	for _, q := range h.History {
		out.History = append(out.History, api.QualityPoint{Epoch: q.Epoch, Probed: q.Probed, ProbeQuality: q.ProbeQuality,
			ClientSeconds: q.ClientSeconds, ClientQuality: q.ClientQuality, Score: q.Score})
	}
	return out, nil
}

package api

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"time"
)

// NetworkSource reads what GET /v1/network shows beyond the registry
// view: every registered node (not only ACTIVE ones) and the media nodes'
// health from x/verification.
type NetworkSource interface {
	AllNodes() []NodeInfo
	NodeHealth(ctx context.Context, id string) (NodeHealth, error)
}

// NodeHealth is a media node's quality record (x/verification NodeHealth):
// its score in [0, 1] from QoS probes and client-attested figures, its
// probe record, its last probe and its score history, newest first.
type NodeHealth struct {
	Score                   float64        `json:"score"`
	ConsecutiveFailedProbes uint32         `json:"consecutive_failed_probes"`
	ProbesPassed            uint64         `json:"probes_passed"`
	ProbesFailed            uint64         `json:"probes_failed"`
	LastProbedEpoch         int64          `json:"last_probed_epoch"`
	LastProbe               *ProbeSummary  `json:"last_probe,omitempty"`
	History                 []QualityPoint `json:"history"`
}

// ProbeSummary is one QoS probe's figures (times in ms, loss in ‰,
// bitrates in kbit/s) and the quality the chain gave it.
type ProbeSummary struct {
	Epoch        int64   `json:"epoch"`
	Connected    bool    `json:"connected"`
	SetupMs      uint32  `json:"setup_ms"`
	RttMs        uint32  `json:"rtt_ms"`
	JitterMs     uint32  `json:"jitter_ms"`
	LossPermille uint32  `json:"loss_permille"`
	BitrateKbps  uint32  `json:"bitrate_kbps"`
	TargetKbps   uint32  `json:"target_kbps"`
	Error        string  `json:"error,omitempty"`
	Quality      float64 `json:"quality"`
}

// QualityPoint is one epoch of a node's score history.
type QualityPoint struct {
	Epoch         int64   `json:"epoch"`
	Probed        bool    `json:"probed"`
	ProbeQuality  float64 `json:"probe_quality"`
	ClientSeconds uint64  `json:"client_seconds"`
	ClientQuality float64 `json:"client_quality"`
	Score         float64 `json:"score"`
}

// NetworkNode is one node of GET /v1/network.
type NetworkNode struct {
	ID               string            `json:"id"`
	Type             string            `json:"type"`
	Moniker          string            `json:"moniker"`
	Region           string            `json:"region"`
	Status           string            `json:"status"`
	Operator         string            `json:"operator"`
	QualityScore     float64           `json:"quality_score"`
	ClaimableRewards map[string]string `json:"claimable_rewards,omitempty"`
	Health           *NodeHealth       `json:"health,omitempty"`
}

// networkCacheFor is how long GET /v1/network answers from its last read.
const networkCacheFor = 5 * time.Second

type networkCache struct {
	mu    sync.Mutex
	at    time.Time
	nodes []NetworkNode
}

// network answers GET /v1/network: every registered node with its
// status, region and score, each media node's health and score history,
// and each operator's claimable rewards — what the web client's network
// page draws. Public (it shows on-chain data only); read at most every 5 s.
func (s *Server) network(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Network == nil {
		writeError(w, http.StatusNotFound, "not_available", "this orchestrator serves no network view")
		return
	}
	c := &s.netCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nodes == nil || time.Since(c.at) > networkCacheFor {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		c.nodes, c.at = s.readNetwork(ctx), time.Now()
	}
	writeJSON(w, http.StatusOK, map[string]any{"nodes": c.nodes})
}

func (s *Server) readNetwork(ctx context.Context) []NetworkNode {
	all := s.cfg.Network.AllNodes()
	out := make([]NetworkNode, len(all))
	rewards := map[string]map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, 8)
	for i, n := range all {
		out[i] = NetworkNode{ID: n.ID, Type: n.Type, Moniker: n.Moniker, Region: n.Region, Status: n.Status, Operator: n.Operator, QualityScore: n.Quality}
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			if n.Type == "media" {
				if h, err := s.cfg.Network.NodeHealth(ctx, n.ID); err == nil {
					out[i].Health = &h
				}
			}
			if s.rewards == nil {
				return
			}
			mu.Lock()
			_, seen := rewards[n.Operator]
			if !seen {
				rewards[n.Operator] = nil
			}
			mu.Unlock()
			if seen {
				return
			}
			if amount, denom, err := s.rewards.Claimable(ctx, n.Operator); err == nil {
				mu.Lock()
				rewards[n.Operator] = map[string]string{"denom": denom, "amount": amount}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for i := range out {
		out[i].ClaimableRewards = rewards[out[i].Operator]
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Type != out[b].Type {
			return out[a].Type == "media"
		}
		if out[a].Region != out[b].Region {
			return out[a].Region < out[b].Region
		}
		return out[a].ID < out[b].ID
	})
	return out
}

package node

import (
	"context"
	"net/url"
	"strings"

	"github.com/chroom/chroom/orchestrator/api"
	"github.com/chroom/chroom/orchestrator/chain"
	registrytypes "github.com/chroom/chroom/x/registry/types"
)

// directory adapts the chain's registry view to api.Directory.
type directory struct{ v *chain.View }

func nodeInfo(n registrytypes.Node) api.NodeInfo {
	typ := "media"
	if n.NodeType == registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR {
		typ = "orchestrator"
	}
	status := map[registrytypes.NodeStatus]string{
		registrytypes.NodeStatus_NODE_STATUS_ACTIVE: "active", registrytypes.NodeStatus_NODE_STATUS_JAILED: "jailed",
		registrytypes.NodeStatus_NODE_STATUS_UNBONDING: "unbonding",
	}[n.Status]
	q, _ := n.Stats.QualityScore.Float64()
	return api.NodeInfo{ID: n.Id, Type: typ, Status: status, Operator: n.Operator, Moniker: n.Moniker, Region: n.Region,
		Endpoints: n.Endpoints, MaxSessions: n.Capacity.MaxSessions, MaxEgressKbps: n.Capacity.MaxEgressKbps, Quality: q}
}

func (d directory) list(t registrytypes.NodeType) []api.NodeInfo {
	var out []api.NodeInfo
	for _, n := range d.v.Nodes(chain.Active(t)) {
		out = append(out, nodeInfo(n))
	}
	return out
}

func (d directory) ActiveMediaNodes() []api.NodeInfo {
	return d.list(registrytypes.NodeType_NODE_TYPE_MEDIA)
}

func (d directory) ActiveOrchestrators() []api.NodeInfo {
	return d.list(registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR)
}

func (d directory) Node(id string) (api.NodeInfo, bool) {
	n, ok := d.v.Node(id)
	if !ok {
		return api.NodeInfo{}, false
	}
	return nodeInfo(n), true
}

func (d directory) Ready() bool { return d.v.Ready() }

// Endpoints implements nodes.Endpoints.
func (d directory) Endpoints(id string) ([]string, bool) {
	n, ok := d.v.Node(id)
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

package nodes

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/chroom/chroom/netguard"
)

// Peers probes the other orchestrators' /healthz and implements
// api.Peers: an orchestrator that has not answered for FailAfter is not
// healthy, so its rooms move to the next rendezvous owner.
type Peers struct {
	// List returns the other ACTIVE orchestrators' IDs and base URLs.
	List      func() map[string]string
	FailAfter time.Duration
	// Guard decides which addresses a probe may reach; probes never
	// follow redirects.
	Guard netguard.Policy

	mu     sync.Mutex
	lastOK map[string]time.Time
	start  time.Time
}

// Healthy implements api.Peers. Before the first probe round every peer
// counts as healthy.
func (p *Peers) Healthy(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	fail := p.FailAfter
	if fail <= 0 {
		fail = 10 * time.Second
	}
	if p.start.IsZero() || time.Since(p.start) < fail {
		return true
	}
	return time.Since(p.lastOK[id]) < fail
}

// Run probes every interval until ctx ends.
func (p *Peers) Run(ctx context.Context, interval time.Duration) {
	p.mu.Lock()
	p.start, p.lastOK = time.Now(), map[string]time.Time{}
	p.mu.Unlock()
	client := p.Guard.HTTPClient(2 * time.Second)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for id, base := range p.List() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/healthz", nil)
			if err != nil {
				continue
			}
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					p.mu.Lock()
					p.lastOK[id] = time.Now()
					p.mu.Unlock()
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

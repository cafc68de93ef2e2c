// Package selector places rooms on media nodes (DESIGN.md §3): ACTIVE
// nodes that report load recently, in the caller's region first, scored
// by headroom and on-chain quality, then the better of two random choices
// among the best ("power of two choices", Mitzenmacher 2001), which
// spreads rooms without herding onto one node. It also decides which
// orchestrator owns a room by rendezvous hashing.
package selector

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

// Load is a media node's last signed load report.
type Load struct {
	Participants uint32
	// EgressKbps is the node's outbound rate, kbit/s.
	EgressKbps uint64
	// CPUPermille is CPU use in thousandths of all cores.
	CPUPermille uint32
	Draining    bool
	ReportedAt  time.Time
}

// Candidate is an ACTIVE media node from the registry with its last load.
type Candidate struct {
	ID            string
	Region        string
	Quality       float64 // 0…1, from x/registry
	MaxSessions   uint32
	MaxEgressKbps uint64
	Load          *Load // nil: never reported
}

// ErrNoNode means no media node can take the room now.
var ErrNoNode = errors.New("no media node with free capacity is reporting load")

// Selector chooses media nodes. The zero value uses a 15 s staleness
// bound, the wall clock and math/rand.
type Selector struct {
	// StaleAfter: a node whose last load report is older is not chosen.
	StaleAfter time.Duration
	// TopK is how many best-scored nodes the two random choices come from
	// (default 4).
	TopK int
	Now  func() time.Time
	Rand func(n int) int
}

// Headroom is the node's spare capacity in [0, 1]: the smallest of its
// spare sessions, spare egress and spare CPU fractions.
func Headroom(c Candidate) float64 {
	if c.Load == nil || c.MaxSessions == 0 || c.MaxEgressKbps == 0 {
		return 0
	}
	h := 1 - float64(c.Load.Participants)/float64(c.MaxSessions)
	if e := 1 - float64(c.Load.EgressKbps)/float64(c.MaxEgressKbps); e < h {
		h = e
	}
	if cpu := 1 - float64(c.Load.CPUPermille)/1000; cpu < h {
		h = cpu
	}
	if h < 0 {
		return 0
	}
	return h
}

// Select picks a node for a new room whose first participant is in
// region ("DE", "US-CA" or empty). Errors: ErrNoNode.
func (s *Selector) Select(cands []Candidate, region string) (Candidate, error) {
	now, stale, k, rnd := time.Now, 15*time.Second, 4, rand.IntN
	if s.Now != nil {
		now = s.Now
	}
	if s.StaleAfter > 0 {
		stale = s.StaleAfter
	}
	if s.TopK > 0 {
		k = s.TopK
	}
	if s.Rand != nil {
		rnd = s.Rand
	}
	t := now()
	var usable []Candidate
	for _, c := range cands {
		if c.Load == nil || t.Sub(c.Load.ReportedAt) > stale || c.Load.Draining || Headroom(c) <= 0.05 {
			continue
		}
		usable = append(usable, c)
	}
	if len(usable) == 0 {
		return Candidate{}, ErrNoNode
	}
	if country := countryOf(region); country != "" {
		var local []Candidate
		for _, c := range usable {
			if countryOf(c.Region) == country {
				local = append(local, c)
			}
		}
		if len(local) > 0 {
			usable = local
		}
	}
	score := func(c Candidate) float64 { return Headroom(c) * (0.5 + 0.5*clamp01(c.Quality)) }
	sort.SliceStable(usable, func(i, j int) bool {
		si, sj := score(usable[i]), score(usable[j])
		if si != sj {
			return si > sj
		}
		return usable[i].ID < usable[j].ID
	})
	if len(usable) > k {
		usable = usable[:k]
	}
	if len(usable) == 1 {
		return usable[0], nil
	}
	a, b := rnd(len(usable)), rnd(len(usable)-1)
	if b >= a {
		b++
	}
	if score(usable[b]) > score(usable[a]) {
		return usable[b], nil
	}
	return usable[a], nil
}

func countryOf(region string) string {
	c, _, _ := strings.Cut(region, "-")
	return strings.ToUpper(c)
}

func clamp01(x float64) float64 {
	switch {
	case x < 0:
		return 0
	case x > 1:
		return 1
	}
	return x
}

// Owner returns the orchestrator that owns room: the ID with the highest
// rendezvous weight SHA-256(room ‖ 0x00 ‖ id) (highest random weight
// hashing, Thaler & Ravishankar 1998). When an owner disappears from ids,
// only its rooms move. It returns "" for no orchestrators.
func Owner(room string, ids []string) string {
	best, bestW := "", uint64(0)
	for _, id := range ids {
		h := sha256.Sum256([]byte(room + "\x00" + id))
		w := binary.BigEndian.Uint64(h[:8])
		if best == "" || w > bestW || (w == bestW && id < best) {
			best, bestW = id, w
		}
	}
	return best
}

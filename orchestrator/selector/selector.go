// Package selector places rooms on media nodes (DESIGN.md §3): ACTIVE
// nodes that report load recently; the one the first participant measured
// the lowest round-trip time to (Shortlist says which to measure), or
// without measurements the caller's region first, scored by headroom and
// on-chain quality, then the better of two random choices among the best
// ("power of two choices", Mitzenmacher 2001), which spreads rooms without
// herding onto one node. It also decides which orchestrator owns a room by
// rendezvous hashing.
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

// RTTs are a client's measured round-trip times to media nodes, in
// milliseconds, by node ID (from pinging the nodes Shortlist names).
type RTTs map[string]float64

// MaxShortlist is the most nodes Shortlist names for a client to measure.
const MaxShortlist = 4

// rttTie is how close (relative, and absolute in ms) two round-trip times
// must be for the better-scored node to win over the nearer one.
const (
	rttTieRatio = 1.10
	rttTieMs    = 3.0
)

// Select picks a node for a new room whose first participant is in
// region ("DE", "US-CA" or empty) and measured rtts (nil or empty: none).
// With measurements, it is the usable node with the lowest round-trip
// time; nodes within 10 % or 3 ms of it count as equally near and the
// best-scored of them wins. Without (or none to a usable node), the
// region and score rule of the package comment applies. Errors:
// ErrNoNode.
func (s *Selector) Select(cands []Candidate, region string, rtts RTTs) (Candidate, error) {
	k, rnd := 4, rand.IntN
	if s.TopK > 0 {
		k = s.TopK
	}
	if s.Rand != nil {
		rnd = s.Rand
	}
	usable := s.usable(cands)
	if len(usable) == 0 {
		return Candidate{}, ErrNoNode
	}
	if c, ok := nearest(usable, rtts); ok {
		return c, nil
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
	sortByScore(usable)
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

// Shortlist names the nodes a client about to start a room should measure
// its round-trip time to: up to MaxShortlist usable nodes, those in its
// region first, each group by score. Errors: ErrNoNode.
func (s *Selector) Shortlist(cands []Candidate, region string) ([]Candidate, error) {
	usable := s.usable(cands)
	if len(usable) == 0 {
		return nil, ErrNoNode
	}
	sortByScore(usable)
	country := countryOf(region)
	sort.SliceStable(usable, func(i, j int) bool {
		return country != "" && countryOf(usable[i].Region) == country && countryOf(usable[j].Region) != country
	})
	if len(usable) > MaxShortlist {
		usable = usable[:MaxShortlist]
	}
	return usable, nil
}

// usable keeps the candidates that reported load within StaleAfter, are
// not draining and have more than 5 % headroom.
func (s *Selector) usable(cands []Candidate) []Candidate {
	now, stale := time.Now, 15*time.Second
	if s.Now != nil {
		now = s.Now
	}
	if s.StaleAfter > 0 {
		stale = s.StaleAfter
	}
	t := now()
	var usable []Candidate
	for _, c := range cands {
		if c.Load == nil || t.Sub(c.Load.ReportedAt) > stale || c.Load.Draining || Headroom(c) <= 0.05 {
			continue
		}
		usable = append(usable, c)
	}
	// Nodes whose on-chain score fell below QualityFloor (failed QoS
	// probes, clients that saw loss) get new rooms only when no better
	// node can take them, however near they are.
	var good []Candidate
	for _, c := range usable {
		if c.Quality >= QualityFloor {
			good = append(good, c)
		}
	}
	if len(good) > 0 {
		return good
	}
	return usable
}

// QualityFloor is the on-chain quality score below which a media node is
// placed on only when no node at or above it is usable.
const QualityFloor = 0.5

// nearest is the usable candidate with the lowest measured RTT (ties, see
// rttTie, to the best score, then the lower ID); false when none of them
// was measured.
func nearest(usable []Candidate, rtts RTTs) (Candidate, bool) {
	var measured []Candidate
	best := 0.0
	for _, c := range usable {
		if r, ok := rtts[c.ID]; ok {
			if len(measured) == 0 || r < best {
				best = r
			}
			measured = append(measured, c)
		}
	}
	if len(measured) == 0 {
		return Candidate{}, false
	}
	var near []Candidate
	for _, c := range measured {
		if r := rtts[c.ID]; r <= best*rttTieRatio || r <= best+rttTieMs {
			near = append(near, c)
		}
	}
	sortByScore(near)
	return near[0], true
}

func score(c Candidate) float64 { return Headroom(c) * (0.5 + 0.5*clamp01(c.Quality)) }

// sortByScore orders cs by score, best first, then by ID.
func sortByScore(cs []Candidate) {
	sort.SliceStable(cs, func(i, j int) bool {
		si, sj := score(cs[i]), score(cs[j])
		if si != sj {
			return si > sj
		}
		return cs[i].ID < cs[j].ID
	})
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

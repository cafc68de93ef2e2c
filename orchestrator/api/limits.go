package api

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimits bound how fast one client IP or one API key may call the
// API (token buckets, golang.org/x/time/rate). Zero fields take the
// defaults; a negative rate disables that limit.
type RateLimits struct {
	// JoinPerIP is joins per second from one IP (default 2), with bursts
	// of JoinBurstPerIP (default 20).
	JoinPerIP      float64
	JoinBurstPerIP int
	// AdminPerIP is room-admin calls per second from one IP (default 10),
	// bursts of AdminBurstPerIP (default 50).
	AdminPerIP      float64
	AdminBurstPerIP int
	// JoinPerKey is joins per second with one API key (default 100),
	// bursts of JoinBurstPerKey (default 500).
	JoinPerKey      float64
	JoinBurstPerKey int
}

func (l RateLimits) withDefaults() RateLimits {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defI := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.JoinPerIP, 2)
	defI(&l.JoinBurstPerIP, 20)
	def(&l.AdminPerIP, 10)
	defI(&l.AdminBurstPerIP, 50)
	def(&l.JoinPerKey, 100)
	defI(&l.JoinBurstPerKey, 500)
	return l
}

// maxLimiters bounds the limiters kept; idle ones are dropped first.
const (
	maxLimiters   = 100_000
	limiterIdle   = 10 * time.Minute
	sweepInterval = time.Minute
)

// limiters is one token bucket per key (an IP or an API key's app).
type limiters struct {
	every float64
	burst int

	mu        sync.Mutex
	m         map[string]*limiterEntry
	lastSweep time.Time
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiters(perSecond float64, burst int) *limiters {
	return &limiters{every: perSecond, burst: burst, m: map[string]*limiterEntry{}}
}

// allow takes a token for key at now; when none is left it returns false
// and how long until one is.
func (l *limiters) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil || l.every < 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > sweepInterval || len(l.m) >= maxLimiters {
		for k, e := range l.m {
			if now.Sub(e.seen) > limiterIdle {
				delete(l.m, k)
			}
		}
		l.lastSweep = now
	}
	e, ok := l.m[key]
	if !ok {
		if len(l.m) >= maxLimiters {
			return false, limiterIdle // under a flood of distinct keys: refuse new ones
		}
		e = &limiterEntry{lim: rate.NewLimiter(rate.Limit(l.every), l.burst)}
		l.m[key] = e
	}
	e.seen = now
	r := e.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// clientIP is the request's peer address without the port. Proxies are
// not trusted: behind one, every client shares its address.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// tooMany answers 429 with Retry-After (RFC 9110 §10.2.3, whole seconds).
func tooMany(w http.ResponseWriter, wait time.Duration, what string) {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, "rate_limited", what+"; retry after "+strconv.Itoa(secs)+" s")
}

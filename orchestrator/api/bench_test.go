package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chroom/chroom/orchestrator/api"
)

// BenchmarkJoin measures the join handler in process (no network, no
// session persistence): ns/op, and p50/p99 latency of the calls made.
// Rate limits are off so that one client can saturate it; each join
// goes to one of 100 rooms.
//
//	go test -run '^$' -bench BenchmarkJoin -benchtime 20000x ./orchestrator/api/
func BenchmarkJoin(b *testing.B) {
	e := newEnv(&testing.T{}, true)
	e.api = api.New(api.Config{Key: e.key, ChainID: testChainID, AllowAnonymousJoin: true, Region: "DE",
		RateLimits: api.RateLimits{JoinPerIP: -1, AdminPerIP: -1, JoinPerKey: -1}, Directory: e.dir, Loads: loads{}, Admin: e.admin, Rewards: rewards{}, Peers: e.peers})
	h := e.api.Handler()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodPost, fmt.Sprintf("/v1/rooms/room-%d/join", i%100), strings.NewReader(`{"name":"Guest"}`))
		req.RemoteAddr = fmt.Sprintf("198.51.100.%d:1234", i%250)
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, req)
		lat = append(lat, time.Since(start))
		if w.Code != http.StatusOK {
			b.Fatalf("join %d: %d %s", i, w.Code, w.Body.String())
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkSessionsMemory reports the heap the API holds per live
// session (1,000 sessions in 100 rooms per iteration; docs/benchmarks.md).
//
//	go test -run '^$' -bench BenchmarkSessionsMemory -benchtime 3x ./orchestrator/api/
func BenchmarkSessionsMemory(b *testing.B) {
	var perSession float64
	for i := 0; i < b.N; i++ {
		e := newEnv(&testing.T{}, true)
		e.api = api.New(api.Config{Key: e.key, ChainID: testChainID, AllowAnonymousJoin: true, Region: "DE",
			RateLimits: api.RateLimits{JoinPerIP: -1, AdminPerIP: -1, JoinPerKey: -1}, Directory: e.dir, Loads: loads{}, Admin: e.admin, Rewards: rewards{}, Peers: e.peers})
		h := e.api.Handler()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for j := 0; j < 1000; j++ {
			req := httptest.NewRequest(http.MethodPost, fmt.Sprintf("/v1/rooms/room-%d/join", j%100), strings.NewReader(`{"name":"Guest"}`))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("join %d: %d", j, w.Code)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perSession = float64(after.HeapAlloc-before.HeapAlloc) / 1000
		runtime.KeepAlive(h)
	}
	b.ReportMetric(perSession, "heap-B/session")
}

package turn

import (
	"sync"
	"time"
)

// pendingAllocationTimeout is how long an admitted Allocate request holds a
// quota slot while pion creates its allocation (microseconds in practice).
// A slot whose allocation failed (no free relay port) is released after it.
const pendingAllocationTimeout = 5 * time.Second

// quotaTracker counts allocations per identity. pion asks for admission
// (QuotaHandler) before it creates an allocation and reports creation and
// deletion afterwards, and requests arriving on different TCP connections
// are handled concurrently; so admission reserves a pending slot, which
// creation turns into a live one. That keeps the limit exact under
// concurrent Allocate requests for one identity.
type quotaTracker struct {
	max int

	mu      sync.Mutex
	live    map[string]int
	pending map[string][]pendingAllocation
}

type pendingAllocation struct {
	client   string
	admitted time.Time
}

func newQuotaTracker(maxPerIdentity int) *quotaTracker {
	return &quotaTracker{
		max:     maxPerIdentity,
		live:    map[string]int{},
		pending: map[string][]pendingAllocation{},
	}
}

// admit reserves a slot for identity's next allocation from client, or
// reports false if identity is at its quota.
func (q *quotaTracker) admit(identity, client string, now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()

	pending := q.pending[identity][:0:0]
	for _, p := range q.pending[identity] {
		if now.Sub(p.admitted) < pendingAllocationTimeout {
			pending = append(pending, p)
		}
	}
	if q.live[identity]+len(pending) >= q.max {
		q.setPending(identity, pending)
		return false
	}
	q.setPending(identity, append(pending, pendingAllocation{client: client, admitted: now}))
	return true
}

// created turns client's pending slot into a live allocation.
func (q *quotaTracker) created(identity, client string) {
	q.mu.Lock()
	defer q.mu.Unlock()

	pending := q.pending[identity]
	for i, p := range pending {
		if p.client == client {
			q.setPending(identity, append(pending[:i:i], pending[i+1:]...))
			break
		}
	}
	q.live[identity]++
}

// deleted releases one of identity's live allocations.
func (q *quotaTracker) deleted(identity string) {
	q.mu.Lock()
	defer q.mu.Unlock()

	if q.live[identity] <= 1 {
		delete(q.live, identity)
		return
	}
	q.live[identity]--
}

func (q *quotaTracker) setPending(identity string, pending []pendingAllocation) {
	if len(pending) == 0 {
		delete(q.pending, identity)
		return
	}
	q.pending[identity] = pending
}

package receipts

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// A histogram counts duration samples in millisecond buckets, with a fixed
// size (histBuckets × 4 bytes = 1,792 bytes) however many samples arrive:
//
//   - 0 ms … 127 ms: one bucket per millisecond, so medians there are exact;
//   - 128 ms … 131,071 ms: 32 buckets per power of two, each reported at its
//     midpoint, so a median is within 1/64 (1.6 %) of the true value;
//   - longer samples count as 131,071 ms.
//
// Samples are rounded to the nearest millisecond; negative ones are
// ignored. Observe is one atomic add and allocates nothing; drain swaps
// every bucket with zero, so a sample that races a drain is counted in
// exactly one of the two segments.
const (
	histExactMs   = 128 // values below are their own bucket
	histSubShift  = 5   // 2^5 = 32 buckets per power of two above
	histSub       = 1 << histSubShift
	histMaxMs     = 1<<17 - 1 // 131,071 ms
	histOctaves   = 17 - 7    // powers of two from 2^7 to 2^16
	histBuckets   = histExactMs + histOctaves*histSub
	histMaxSample = histMaxMs * time.Millisecond
)

type histogram struct {
	// counts are per segment; a segment is at most one epoch long, so
	// 2^32 samples (over a million a second for an hour) cannot be reached.
	counts [histBuckets]atomic.Uint32
}

func histBucket(ms uint64) int {
	if ms < histExactMs {
		return int(ms)
	}
	if ms > histMaxMs {
		ms = histMaxMs
	}
	e := bits.Len64(ms) - 1 // 7…16
	sub := (ms >> (e - histSubShift)) & (histSub - 1)
	return histExactMs + (e-7)*histSub + int(sub)
}

// histValue is the millisecond value a bucket stands for.
func histValue(i int) uint64 {
	if i < histExactMs {
		return uint64(i)
	}
	j := i - histExactMs
	e := j/histSub + 7
	width := uint64(1) << (e - histSubShift)
	return uint64(1)<<e + uint64(j%histSub)*width + width/2
}

func (h *histogram) observe(d time.Duration) {
	if d < 0 {
		return
	}
	var ms uint64
	if d >= histMaxSample {
		ms = histMaxMs
	} else {
		ms = uint64((d + time.Millisecond/2) / time.Millisecond)
	}
	h.counts[histBucket(ms)].Add(1)
}

// drain returns the median of the samples so far, in ms, and empties the
// histogram.
func (h *histogram) drain() uint32 {
	var c [histBuckets]uint32
	for i := range h.counts {
		c[i] = h.counts[i].Swap(0)
	}
	return median(&c)
}

// peek returns the median of the samples so far without removing them.
func (h *histogram) peek() uint32 {
	var c [histBuckets]uint32
	for i := range h.counts {
		c[i] = h.counts[i].Load()
	}
	return median(&c)
}

// median is the middle value, or the mean of the two middle values
// rounded half up; 0 when there are no samples.
func median(c *[histBuckets]uint32) uint32 {
	var n uint64
	for _, x := range c {
		n += uint64(x)
	}
	if n == 0 {
		return 0
	}
	lo, hi := valueAtRank(c, (n+1)/2), valueAtRank(c, n/2+1)
	m := (lo + hi + 1) / 2
	if m > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(m)
}

// valueAtRank returns the value of the rank-th smallest sample (1-based).
func valueAtRank(c *[histBuckets]uint32, rank uint64) uint64 {
	var seen uint64
	for i, x := range c {
		seen += uint64(x)
		if seen >= rank {
			return histValue(i)
		}
	}
	return histValue(histBuckets - 1)
}

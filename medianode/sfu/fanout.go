package sfu

import (
	"runtime"
	"sync"

	"github.com/pion/rtp"
)

// FanoutParallelAbove is the subscriber count of one track layer from
// which its packets are written by several goroutines (one per core):
// below it, handing a packet to another goroutine costs more than the
// writes it would move.
const FanoutParallelAbove = 32

// fanoutWorkers is how many goroutines share a large fan-out: the
// forwarding loop itself and fanoutWorkers-1 workers.
var fanoutWorkers = runtime.GOMAXPROCS(0)

// fanout is the worker goroutines of one track layer's forwarding loop.
// Each downTrack belongs to one shard for its life (downTrack.shard), so
// its packets are written by one goroutine, in order; shard 0 is the
// forwarding loop's own.
type fanout struct {
	jobs []chan fanJob
	wg   sync.WaitGroup
}

type fanJob struct {
	pkt  *rtp.Packet
	down []*downTrack
}

// startFanout starts n workers writing layer's packets.
func startFanout(n, layer int, m *metrics, batch Batcher) *fanout {
	f := &fanout{jobs: make([]chan fanJob, n)}
	for i := range f.jobs {
		ch := make(chan fanJob, 256)
		f.jobs[i] = ch
		f.wg.Add(1)
		go func(shard int) {
			defer f.wg.Done()
			for j := range ch {
				sent, bytes := writeShard(batch, j.down, shard, layer, j.pkt)
				countForwarded(m, sent, bytes)
			}
		}(i + 1)
	}
	return f
}

// dispatch hands pkt to every worker; down is an immutable snapshot.
// A worker that falls 256 packets behind blocks the forwarding loop
// (back-pressure, no drops: the kernel's socket buffer absorbs the rest).
func (f *fanout) dispatch(pkt *rtp.Packet, down []*downTrack) {
	for _, ch := range f.jobs {
		ch <- fanJob{pkt: pkt, down: down}
	}
}

// stop ends the workers after their queued packets.
func (f *fanout) stop() {
	for _, ch := range f.jobs {
		close(ch)
	}
	f.wg.Wait()
}

// writeShard writes pkt to the downTracks of shard (all of them when
// shard is -1) and returns how many took it and the bytes written. The
// writes are held in one batch (one sendmmsg for the whole shard).
func writeShard(batch Batcher, down []*downTrack, shard, layer int, pkt *rtp.Packet) (sent, bytes int) {
	batch.Hold()
	defer batch.Release()
	for _, d := range down {
		if shard >= 0 && d.shard != shard {
			continue
		}
		if n := d.writeRTP(layer, pkt); n > 0 {
			sent++
			bytes += n
		}
	}
	return sent, bytes
}

// countForwarded updates the forwarding metrics once per packet (or per
// shard), not per subscriber: each update is an atomic (Prometheus) or a
// lock and a clock read (egress).
func countForwarded(m *metrics, sent, bytes int) {
	if sent > 0 {
		m.forwardedPackets.Add(float64(sent))
		m.forwardedBytes.Add(float64(bytes))
		m.egress.add(bytes)
	}
}

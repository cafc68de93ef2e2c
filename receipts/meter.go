package receipts

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/chroom/chroom/format"
)

// Stats is a set of measurements of one participant session.
//
// As the argument of Meter.Add the counters are increments and RTT and
// Jitter are single samples (ignored when zero). As the result of
// Meter.Snapshot it describes the current segment: counters since the last
// cut and the medians of its samples.
type Stats struct {
	// BytesIn and BytesOut are bytes the node received from and sent to
	// the participant (RTP/RTCP/data channel payloads as the SFU counts
	// them).
	BytesIn, BytesOut uint64
	// PacketsSent counts RTP packets the node sent to the participant;
	// PacketsLost those the participant reported lost in RTCP receiver
	// reports (RFC 3550 §6.4.1).
	PacketsSent, PacketsLost uint64
	// RTT is a round-trip time, Jitter an interarrival jitter (RFC 3550
	// §6.4.1, converted from RTP timestamp units to time).
	RTT, Jitter time.Duration
}

// Meter measures one participant session on this media node and turns it
// into usage receipts, one per segment. Add, ObserveRTT and ObserveJitter
// are lock-free and allocation-free, for the SFU's packet loops; every
// method is safe for concurrent use. The RTT and jitter medians come from
// fixed-size histograms (about 3.5 KiB per Meter; exact to the millisecond
// below 128 ms, within 1.6 % above). A Meter must not be copied.
type Meter struct {
	bytesIn, bytesOut, packetsSent, packetsLost atomic.Uint64
	rtt, jitter                                 histogram

	sessionID      [format.SessionIDBytes]byte
	roomHash       []byte
	mediaNodeID    string
	orchestratorID string
	appID          string

	mu         sync.Mutex // guards the fields below
	segStartMs int64      // start of the current segment, Unix ms
	lostCarry  uint64     // losses beyond a segment's sent packets, moved to the next
	client     clientState
}

type clientState struct {
	fresh                 bool   // a report arrived since the last cut
	bytes, frames         uint64 // the latest cumulative figures
	baseBytes, baseFrames uint64 // the figures at the last cut
}

// NewMeter starts measuring the session sessionID (32 random bytes chosen
// at join) of a participant of room (the name; receipts carry only its
// format.RoomHash) placed on media node mediaNodeID by orchestrator
// orchestratorID (both node IDs, 40 lowercase hex). The first segment
// starts at start, which must be after the Unix epoch for the receipts to
// be valid.
func NewMeter(sessionID [32]byte, room string, mediaNodeID, orchestratorID string, start time.Time) *Meter {
	return &Meter{
		sessionID:      sessionID,
		roomHash:       format.RoomHash(room),
		mediaNodeID:    mediaNodeID,
		orchestratorID: orchestratorID,
		segStartMs:     start.UnixMilli(),
	}
}

// SetApp sets the app_id of the session's receipts: the on-chain app its
// join grant bills (grant claim "app"). Call before the first cut.
func (m *Meter) SetApp(appID string) {
	m.mu.Lock()
	m.appID = appID
	m.mu.Unlock()
}

// Add adds delta's counters to the current segment and records
// delta.RTT and delta.Jitter as samples when they are positive (use
// ObserveRTT / ObserveJitter to record a zero sample). It takes no lock and
// does not allocate.
func (m *Meter) Add(delta Stats) {
	if delta.BytesIn != 0 {
		m.bytesIn.Add(delta.BytesIn)
	}
	if delta.BytesOut != 0 {
		m.bytesOut.Add(delta.BytesOut)
	}
	if delta.PacketsSent != 0 {
		m.packetsSent.Add(delta.PacketsSent)
	}
	if delta.PacketsLost != 0 {
		m.packetsLost.Add(delta.PacketsLost)
	}
	if delta.RTT > 0 {
		m.rtt.observe(delta.RTT)
	}
	if delta.Jitter > 0 {
		m.jitter.observe(delta.Jitter)
	}
}

// ObserveRTT records one round-trip time sample (rounded to the nearest
// millisecond; negative samples are ignored).
func (m *Meter) ObserveRTT(d time.Duration) { m.rtt.observe(d) }

// ObserveJitter records one interarrival jitter sample (rounded to the
// nearest millisecond; negative samples are ignored).
func (m *Meter) ObserveJitter(d time.Duration) { m.jitter.observe(d) }

// SetClientReport records the participant's own cumulative figures since
// it joined, as WebRTC getStats reports them (inbound-rtp bytesReceived,
// and framesDecoded summed over its tracks). Each receipt carries the
// increase since the figures at the previous cut, and has no client_report
// when no report arrived during its segment. A figure lower than at the
// previous cut is taken as a counter restart: the receipt carries it whole.
func (m *Meter) SetClientReport(bytesReceived, framesDecoded uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.client.fresh = true
	m.client.bytes, m.client.frames = bytesReceived, framesDecoded
}

// Snapshot returns the current segment so far — counters since the last
// cut and the medians of its samples so far (0 without samples) — without
// cutting it, for metrics and load reports. PacketsLost includes losses
// carried over from the previous segment.
func (m *Meter) Snapshot() Stats {
	m.mu.Lock()
	carry := m.lostCarry
	m.mu.Unlock()
	return Stats{
		BytesIn:     m.bytesIn.Load(),
		BytesOut:    m.bytesOut.Load(),
		PacketsSent: m.packetsSent.Load(),
		PacketsLost: m.packetsLost.Load() + carry,
		RTT:         time.Duration(m.rtt.peek()) * time.Millisecond,
		Jitter:      time.Duration(m.jitter.peek()) * time.Millisecond,
	}
}

// Cut ends the current segment at end and returns its receipt for epoch
// (unsigned; see Signer), then starts the next segment at that instant.
// Call it when the participant leaves and at every epoch boundary of a long
// session; all receipts of a Meter share its session_id.
//
// The receipt covers [start_unix_ms, end_unix_ms] in Unix milliseconds,
// the first segment starting at NewMeter's start and each next one where
// the previous ended, so segments neither overlap nor leave gaps; an end
// before the segment's start (a wall clock stepped back) is taken as the
// start. Counters are the increments since the previous cut; every Add
// lands in exactly one receipt, even when it races Cut. packets_lost is
// capped at packets_sent (the chain refuses a loss ratio above 1): the
// excess, from receiver reports that lag the packets, is carried into the
// next segment. rtt_ms_p50 and jitter_ms_p50 are the medians of the
// segment's samples in ms, 0 when it had none.
func (m *Meter) Cut(end time.Time, epoch int64) format.UsageReceipt {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.segmentLocked(end, epoch, true)
}

// Peek returns the receipt Cut(end, epoch) would return now, without
// cutting: the open segment so far, for a checkpoint (Store.SaveOpen) that
// a crash turns into the segment's receipt at the next start.
func (m *Meter) Peek(end time.Time, epoch int64) format.UsageReceipt {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.segmentLocked(end, epoch, false)
}

// segmentLocked returns the receipt of the open segment ending at end
// (see Cut). With cut it also ends the segment: counters and samples start
// again, the next segment starts at end and excess loss carries over.
// m.mu is held.
func (m *Meter) segmentLocked(end time.Time, epoch int64, cut bool) format.UsageReceipt {
	startMs, endMs := m.segStartMs, end.UnixMilli()
	if endMs < startMs {
		endMs = startMs
	}
	take := func(c *atomic.Uint64) uint64 {
		if cut {
			return c.Swap(0)
		}
		return c.Load()
	}
	sent := take(&m.packetsSent)
	lost := take(&m.packetsLost) + m.lostCarry
	var carry uint64
	if lost > sent {
		carry, lost = lost-sent, sent
	}
	r := format.UsageReceipt{
		SessionId:      append([]byte(nil), m.sessionID[:]...),
		RoomHash:       append([]byte(nil), m.roomHash...),
		MediaNodeId:    m.mediaNodeID,
		OrchestratorId: m.orchestratorID,
		AppId:          m.appID,
		Epoch:          epoch,
		StartUnixMs:    startMs,
		EndUnixMs:      endMs,
		BytesIn:        take(&m.bytesIn),
		BytesOut:       take(&m.bytesOut),
		PacketsSent:    sent,
		PacketsLost:    lost,
	}
	if cut {
		r.RttMsP50, r.JitterMsP50 = m.rtt.drain(), m.jitter.drain()
	} else {
		r.RttMsP50, r.JitterMsP50 = m.rtt.peek(), m.jitter.peek()
	}
	if c := &m.client; c.fresh {
		r.ClientReport = &format.ClientReport{
			BytesReceived: increase(c.baseBytes, c.bytes),
			FramesDecoded: increase(c.baseFrames, c.frames),
		}
		if cut {
			c.baseBytes, c.baseFrames, c.fresh = c.bytes, c.frames, false
		}
	}
	if cut {
		m.segStartMs, m.lostCarry = endMs, carry
	}
	return r
}

// increase is cur − base for a cumulative counter, or cur if the counter
// restarted below base.
func increase(base, cur uint64) uint64 {
	if cur < base {
		return cur
	}
	return cur - base
}

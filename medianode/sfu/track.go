package sfu

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Simulcast layers, lowest first, with the RIDs browsers use.
const (
	LayerLow    = 0 // rid "q"
	LayerMedium = 1 // rid "h"
	LayerHigh   = 2 // rid "f"
)

// LayerFromRID maps a simulcast RID to a layer; an empty RID (no
// simulcast) is the high layer.
func LayerFromRID(rid string) int {
	switch rid {
	case "q", "l", "low":
		return LayerLow
	case "h", "m", "mid", "medium":
		return LayerMedium
	default:
		return LayerHigh
	}
}

// TrackSource tells camera, microphone and screen share apart.
type TrackSource string

// Track sources.
const (
	SourceCamera      TrackSource = "camera"
	SourceMicrophone  TrackSource = "microphone"
	SourceScreen      TrackSource = "screen"
	SourceScreenAudio TrackSource = "screen_audio"
	SourceUnknown     TrackSource = "unknown"
)

// TrackInfo describes a published track to signaling clients.
type TrackInfo struct {
	ID        string      `json:"id"`
	Publisher string      `json:"publisher"`
	Kind      string      `json:"kind"`
	Source    TrackSource `json:"source"`
	MimeType  string      `json:"mime_type"`
	Simulcast bool        `json:"simulcast"`
	Muted     bool        `json:"muted"`
}

// publishedTrack is one upstream track and everyone subscribed to it. It
// reads every simulcast layer in its own goroutine and fans each packet
// out to the downTracks.
type publishedTrack struct {
	info      TrackInfo
	codec     webrtc.RTPCodecCapability
	publisher *Participant

	mu     sync.RWMutex
	layers map[int]*webrtc.TrackRemote
	rates  [3]rateMeter
	down   map[string]*downTrack // by subscriber identity
	// downList is a copy of down's values, replaced (never modified) on
	// every change, so the forwarding loops read it without a lock.
	downList atomic.Pointer[[]*downTrack]
	shardSeq uint32 // the next downTrack's fan-out shard
	closed   bool
	lastPLI  time.Time
	audioLv  audioLevel
	dyn      dynacastState
	dynMu    sync.Mutex // serializes applyDynacast (dynacast.go)

	wg sync.WaitGroup
}

func newPublishedTrack(p *Participant, info TrackInfo, codec webrtc.RTPCodecCapability) *publishedTrack {
	return &publishedTrack{info: info, codec: codec, publisher: p, layers: map[int]*webrtc.TrackRemote{}, down: map[string]*downTrack{},
		dyn: dynacastState{sent: LayerHigh}}
}

// StallKeyframeAfter is how long a video layer may go without packets
// before its next packet triggers a keyframe request.
const StallKeyframeAfter = 500 * time.Millisecond

// addLayer starts forwarding one upstream layer; the goroutine stops when
// the remote track ends (the publisher leaves or unpublishes).
func (t *publishedTrack) addLayer(remote *webrtc.TrackRemote) {
	t.addLayerAt(LayerFromRID(remote.RID()), remote)
}

// addLayerAt is addLayer with the layer given (a relay leg's per-layer
// track has no RID).
func (t *publishedTrack) addLayerAt(layer int, remote *webrtc.TrackRemote) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.layers[layer] = remote
	if len(t.layers) > 1 {
		t.info.Simulcast = true
	}
	downs := make([]*downTrack, 0, len(t.down))
	for _, d := range t.down {
		downs = append(downs, d)
	}
	t.mu.Unlock()
	// Subscribers that joined before this layer existed may now get a
	// layer closer to the one they want.
	retarget := false
	for _, d := range downs {
		if d.Want() != LayerOff { // paused by the allocator: stays paused
			retarget = d.SetTargetLayer(t.bestLayer(d.Want())) || retarget
		}
	}
	if retarget {
		t.requestKeyframe("layer added")
	}
	t.updateDynacast()
	t.wg.Add(1)
	go t.forward(layer, remote)
}

func (t *publishedTrack) forward(layer int, remote *webrtc.TrackRemote) {
	defer t.wg.Done()
	m := t.publisher.room.sfu.metrics
	batch := t.publisher.room.sfu.batch
	audio := remote.Kind() == webrtc.RTPCodecTypeAudio
	var levelID uint8
	if audio {
		levelID = t.publisher.audioLevelExtID()
		t.publisher.log.Debug("forwarding audio", "track", t.info.ID, "audio_level_ext", levelID)
	}
	var fan *fanout
	defer func() {
		if fan != nil {
			fan.stop()
		}
	}()
	var last time.Time
	for {
		pkt, _, err := remote.ReadRTP()
		if err != nil {
			t.publisher.log.Debug("layer ended", "track", t.info.ID, "layer", layer, "err", err)
			return
		}
		size := pkt.MarshalSize()
		t.publisher.meterIn(size)
		now := t.rates[layer].add(size)
		// A video stream that resumes after a stall (the publisher's
		// network dropped, or it was muted) cannot be decoded from where
		// it left off: ask for a keyframe at once rather than wait for
		// every subscriber's decoder to give up on the missing frames
		// and send its own PLI seconds later.
		if !audio && !last.IsZero() && now.Sub(last) > StallKeyframeAfter {
			t.requestKeyframe("the stream resumed after " + now.Sub(last).Round(time.Millisecond).String())
		}
		last = now
		if audio && levelID != 0 {
			if ext := pkt.GetExtension(levelID); len(ext) > 0 {
				t.audioLv.observe(ext[0] & 0x7f)
			}
		}
		var down []*downTrack
		if p := t.downList.Load(); p != nil {
			down = *p
		}
		if len(down) >= FanoutParallelAbove && fanoutWorkers > 1 {
			if fan == nil {
				fan = startFanout(fanoutWorkers-1, layer, m, batch)
			}
			fan.dispatch(pkt, down) // shards 1…n-1 on the workers
			sent, bytes := writeShard(batch, down, 0, layer, pkt)
			countForwarded(m, sent, bytes)
			continue
		}
		sent, bytes := writeShard(batch, down, -1, layer, pkt)
		countForwarded(m, sent, bytes)
	}
}

// publishDownLocked replaces downList with a copy of down, giving new
// downTracks a fan-out shard; t.mu is held.
func (t *publishedTrack) publishDownLocked() {
	list := make([]*downTrack, 0, len(t.down))
	for _, d := range t.down {
		if d.shard < 0 {
			d.shard = int(t.shardSeq % uint32(max(fanoutWorkers, 1)))
			t.shardSeq++
		}
		list = append(list, d)
	}
	t.downList.Store(&list)
}

// subscribe adds a downTrack for subscriber s at layer (or the best layer
// present). It returns the downTrack to add to the subscriber's
// PeerConnection. No keyframe is requested here: the downTrack asks for
// one when it can first deliver it (bound and connected), since a
// keyframe that arrives before then is lost and the publisher's browser
// ignores a second request for about 300 ms.
func (t *publishedTrack) subscribe(s *Participant, layer int) *downTrack {
	kind := webrtc.RTPCodecTypeVideo
	if t.info.Kind == "audio" {
		kind = webrtc.RTPCodecTypeAudio
	}
	d := newDownTrack(t.info.ID, t.info.Publisher, kind, t.codec, t.bestLayer(layer), s.meterOut)
	d.log = s.log.With("track", t.info.ID)
	if s.relay && kind == webrtc.RTPCodecTypeAudio {
		d.levelFrom = t.publisher.audioLevelExtID() // the other node computes its speakers too
	}
	d.ready = &s.connected // before the downTrack is visible to the forwarders
	reason := "subscriber " + s.identity + " waits for a keyframe"
	d.wantKeyframe = func() { t.requestKeyframe(reason) }
	t.mu.Lock()
	d.muted.Store(t.info.Muted) // a late subscriber gets the track muted too
	t.down[s.identity] = d
	t.publishDownLocked()
	t.mu.Unlock()
	return d
}

// attach adds an existing downTrack (a WHEP viewer's slot) as the
// subscriber identity's, muted as the track is; false if t is closed.
func (t *publishedTrack) attach(identity string, d *downTrack) bool {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return false
	}
	d.muted.Store(t.info.Muted)
	t.down[identity] = d
	t.publishDownLocked()
	t.mu.Unlock()
	t.updateDynacast()
	return true
}

// detach removes identity's downTrack if it is d.
func (t *publishedTrack) detach(identity string, d *downTrack) {
	t.mu.Lock()
	if t.down[identity] == d {
		delete(t.down, identity)
		t.publishDownLocked()
	}
	t.mu.Unlock()
	t.updateDynacast()
}

// unsubscribe removes s's downTrack.
func (t *publishedTrack) unsubscribe(identity string) *downTrack {
	t.mu.Lock()
	d := t.down[identity]
	delete(t.down, identity)
	t.publishDownLocked()
	t.mu.Unlock()
	t.updateDynacast()
	return d
}

// bestLayer returns want if that layer is published, else the closest
// lower one, else the lowest present.
func (t *publishedTrack) bestLayer(want int) int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if len(t.layers) == 0 {
		return want
	}
	for l := want; l >= LayerLow; l-- {
		if _, ok := t.layers[l]; ok {
			return l
		}
	}
	ls := make([]int, 0, len(t.layers))
	for l := range t.layers {
		ls = append(ls, l)
	}
	sort.Ints(ls)
	return ls[0]
}

// requestKeyframe sends a PLI (RFC 4585 §6.3.1) for every layer of the
// track, at most once per 200 ms (publishers answer each with a keyframe,
// which costs bandwidth). reason goes to the debug log.
func (t *publishedTrack) requestKeyframe(reason string) {
	if t.info.Kind != "video" {
		return
	}
	t.mu.Lock()
	if time.Since(t.lastPLI) < 200*time.Millisecond {
		t.mu.Unlock()
		return
	}
	t.lastPLI = time.Now()
	pkts := make([]rtcp.Packet, 0, len(t.layers))
	for _, r := range t.layers {
		pkts = append(pkts, &rtcp.PictureLossIndication{MediaSSRC: uint32(r.SSRC())})
	}
	t.mu.Unlock()
	if len(pkts) > 0 {
		err := t.publisher.pc.WriteRTCP(pkts)
		t.publisher.room.sfu.metrics.plis.Inc()
		t.publisher.log.Debug("keyframe requested", "track", t.info.ID, "reason", reason, "layers", len(pkts), "err", err)
	}
}

// close stops accepting subscribers; forwarding goroutines end with their
// remote tracks.
func (t *publishedTrack) close() []*downTrack {
	t.mu.Lock()
	t.closed = true
	if t.dyn.timer != nil {
		t.dyn.timer.Stop()
		t.dyn.timer = nil
	}
	out := make([]*downTrack, 0, len(t.down))
	for _, d := range t.down {
		out = append(out, d)
	}
	t.down = map[string]*downTrack{}
	t.publishDownLocked()
	t.mu.Unlock()
	return out
}

// layerBitrates returns the measured bits per second of each layer.
func (t *publishedTrack) layerBitrates() [3]float64 {
	var out [3]float64
	for i := range t.rates {
		out[i] = t.rates[i].bitsPerSecond()
	}
	return out
}

// rateMeter measures a byte rate over one-second windows.
type rateMeter struct {
	mu          sync.Mutex
	windowStart time.Time
	bytes       int
	last        float64
}

// add counts n bytes now and returns now.
func (r *rateMeter) add(n int) time.Time {
	r.mu.Lock()
	now := time.Now()
	if now.Sub(r.windowStart) >= time.Second {
		if !r.windowStart.IsZero() {
			r.last = float64(r.bytes*8) / now.Sub(r.windowStart).Seconds()
		}
		r.windowStart, r.bytes = now, 0
	}
	r.bytes += n
	r.mu.Unlock()
	return now
}

func (r *rateMeter) bitsPerSecond() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.windowStart) > 2*time.Second {
		return 0 // no traffic lately
	}
	return r.last
}

// audioLevel keeps a smoothed loudness from RFC 6464 levels (0 loudest,
// 127 silence), as 0 (silent) … 127 (loud), with a hangover: the level
// reported is the highest smoothed value of the last SpeakerHangover, so
// speech with short pauses (or Chromium's fake microphone, a tone that
// comes and goes, whose smoothed level moves around the speaker threshold
// 25…38 in the e2e devnet) is not shown as starting and stopping every
// half second — voice-activity detectors hold their decision the same way.
type audioLevel struct {
	mu       sync.Mutex
	smoothed float64
	updated  time.Time
	peak     float64
	peakAt   time.Time
}

// SpeakerHangover is how long a participant's loudest recent level counts.
const SpeakerHangover = 1500 * time.Millisecond

func (a *audioLevel) observe(dBov uint8) { a.observeAt(time.Now(), dBov) }

func (a *audioLevel) observeAt(now time.Time, dBov uint8) {
	a.mu.Lock()
	loud := float64(127 - min(dBov, 127))
	a.smoothed = 0.9*a.smoothed + 0.1*loud
	a.updated = now
	if a.smoothed >= a.peak || now.Sub(a.peakAt) > SpeakerHangover {
		a.peak, a.peakAt = a.smoothed, now
	}
	a.mu.Unlock()
}

func (a *audioLevel) level() float64 { return a.levelAt(time.Now()) }

// levelAt is the level at now: 0 once no packet came for a second (the
// track stopped), else the highest smoothed level of the last
// SpeakerHangover.
func (a *audioLevel) levelAt(now time.Time) float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if now.Sub(a.updated) > time.Second {
		return 0
	}
	if now.Sub(a.peakAt) <= SpeakerHangover {
		return a.peak // ≥ smoothed: observeAt keeps it so
	}
	return a.smoothed
}

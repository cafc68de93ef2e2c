package sfu

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	rooms            prometheus.Gauge
	participants     prometheus.Gauge
	tracks           prometheus.Gauge
	forwardedPackets prometheus.Counter
	forwardedBytes   prometheus.Counter
	nacks            prometheus.Counter
	retransmitted    prometheus.Counter
	plis             prometheus.Counter
	dataMessages     prometheus.Counter
	detached         prometheus.Counter
	resumes          prometheus.Counter
	egress           rateMeter
}

// newMetrics creates the SFU's Prometheus metrics, named
// chroom_medianode_<what>_<unit>, and registers them on reg if set.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		rooms:            prometheus.NewGauge(prometheus.GaugeOpts{Name: "chroom_medianode_rooms", Help: "Open rooms."}),
		participants:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "chroom_medianode_participants", Help: "Connected participants."}),
		tracks:           prometheus.NewGauge(prometheus.GaugeOpts{Name: "chroom_medianode_published_tracks", Help: "Published tracks."}),
		forwardedPackets: prometheus.NewCounter(prometheus.CounterOpts{Name: "chroom_medianode_forwarded_packets_total", Help: "RTP packets forwarded to subscribers."}),
		forwardedBytes:   prometheus.NewCounter(prometheus.CounterOpts{Name: "chroom_medianode_forwarded_bytes_total", Help: "RTP bytes forwarded to subscribers."}),
		nacks:            prometheus.NewCounter(prometheus.CounterOpts{Name: "chroom_medianode_nacks_received_total", Help: "Generic NACKs received from subscribers."}),
		retransmitted:    prometheus.NewCounter(prometheus.CounterOpts{Name: "chroom_medianode_retransmitted_packets_total", Help: "Packets sent again in answer to subscribers' NACKs."}),
		plis:             prometheus.NewCounter(prometheus.CounterOpts{Name: "chroom_medianode_plis_sent_total", Help: "Picture loss indications sent to publishers."}),
		dataMessages:     prometheus.NewCounter(prometheus.CounterOpts{Name: "chroom_medianode_data_messages_total", Help: "Data-channel messages relayed."}),
		detached:         prometheus.NewCounter(prometheus.CounterOpts{Name: "chroom_medianode_signaling_lost_total", Help: "Sessions whose signaling connection dropped without a leave (kept for resume)."}),
		resumes:          prometheus.NewCounter(prometheus.CounterOpts{Name: "chroom_medianode_sessions_resumed_total", Help: "Sessions resumed on a new signaling connection."}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.rooms, m.participants, m.tracks, m.forwardedPackets, m.forwardedBytes, m.nacks, m.retransmitted, m.plis, m.dataMessages, m.detached, m.resumes} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

package attest

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Values of the result label of chroom_orchestrator_receipts_received_total,
// and the first word of the refusal reasons Intake returns.
const (
	// ResultCountersigned: checked, countersigned and durably queued.
	ResultCountersigned = "countersigned"
	// ResultDuplicate: the very same receipt was countersigned before; it
	// is acknowledged again and not queued a second time.
	ResultDuplicate = "duplicate"
	// ResultProbe: the receipt of a QoS probe's session: acknowledged to
	// the node (which cannot tell a probe from a user) and dropped, never
	// countersigned nor submitted.
	ResultProbe = "probe"
	// ResultMalformed: no receipt, ValidateBasic fails, or the media node
	// signature is not 64 bytes.
	ResultMalformed = "malformed"
	// ResultWrongMediaNode: media_node_id is not the node that sent it.
	ResultWrongMediaNode = "wrong_media_node"
	// ResultWrongOrchestrator: orchestrator_id is not this orchestrator.
	ResultWrongOrchestrator = "wrong_orchestrator"
	// ResultStaleEpoch: the epoch is older than the previous one; the chain
	// would refuse it.
	ResultStaleEpoch = "stale_epoch"
	// ResultUnknownMediaNode: media_node_id is not a registered media node.
	ResultUnknownMediaNode = "unknown_media_node"
	// ResultBadSignature: the media node signature does not verify with the
	// node's registered key for this chain.
	ResultBadSignature = "bad_signature"
	// ResultConflict: a different receipt for the same (epoch, media node,
	// session) was countersigned before; countersigning this one too would
	// be equivocation.
	ResultConflict = "conflict"
	// ResultUnknownSession: the session checker has no such session.
	ResultUnknownSession = "unknown_session"
	// ResultOutOfTolerance: the receipt disagrees with the session record
	// beyond the tolerance.
	ResultOutOfTolerance = "out_of_tolerance"
	// ResultError: a transient failure (registry not loaded, session store
	// or disk error); the receipt is neither accepted nor refused.
	ResultError = "error"
)

// Metrics are the pipeline's Prometheus metrics.
type Metrics struct {
	// Received counts receipts given to Intake, by result (the Result…
	// constants).
	Received *prometheus.CounterVec
	// Submitted counts receipts in MsgSubmitReceipts txs the chain
	// included and ran, accepted or rejected, each once.
	Submitted prometheus.Counter
	// Rejected counts receipts the chain rejected, by reason (the
	// RejectReason name in lower case without its prefix, e.g. duplicate,
	// stale_epoch).
	Rejected *prometheus.CounterVec
	// QueueDepth is the number of countersigned receipts waiting to be
	// included on chain.
	QueueDepth prometheus.Gauge
}

// NewMetrics creates the metrics and registers them on reg if it is not
// nil.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chroom_orchestrator_receipts_received_total",
			Help: "Usage receipts received from media nodes, by result.",
		}, []string{"result"}),
		Submitted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chroom_orchestrator_receipts_submitted_total",
			Help: "Countersigned receipts in transactions the chain included.",
		}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chroom_orchestrator_receipts_rejected_total",
			Help: "Submitted receipts the chain rejected, by reason.",
		}, []string{"reason"}),
		QueueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chroom_orchestrator_receipt_queue_depth",
			Help: "Countersigned receipts waiting for inclusion on chain.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.Received, m.Submitted, m.Rejected, m.QueueDepth} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

package types

import (
	sdkmath "cosmossdk.io/math"

	"github.com/chroom/chroom/format"
)

// Quality returns a receipt's quality in [0, 1] (fixed point, no floats):
//
//	loss      = packets_lost / packets_sent              (0 when nothing was sent)
//	q_loss    = max(0, 1 − loss / loss_zero_quality)
//	q_rtt     = 1                                         if rtt ≤ rtt_full_quality_ms
//	          = (rtt_zero − rtt) / (rtt_zero − rtt_full)  between the two
//	          = 0                                         if rtt ≥ rtt_zero_quality_ms
//	quality   = q_loss × q_rtt
//
// A receipt that moved no bytes at all has quality 0: it proves no work.
// Jitter is recorded but not scored: loss and RTT already reflect a path
// bad enough to make jitter matter.
func Quality(p Params, r *format.UsageReceipt) sdkmath.LegacyDec {
	if r.BytesIn == 0 && r.BytesOut == 0 {
		return sdkmath.LegacyZeroDec()
	}
	one := sdkmath.LegacyOneDec()
	qLoss := one
	if r.PacketsSent > 0 {
		loss := sdkmath.LegacyNewDecFromInt(sdkmath.NewIntFromUint64(r.PacketsLost)).
			QuoInt(sdkmath.NewIntFromUint64(r.PacketsSent))
		qLoss = one.Sub(loss.Quo(p.LossZeroQuality))
		if qLoss.IsNegative() {
			qLoss = sdkmath.LegacyZeroDec()
		}
	}
	var qRTT sdkmath.LegacyDec
	switch rtt := r.RttMsP50; {
	case rtt <= p.RttFullQualityMs:
		qRTT = one
	case rtt >= p.RttZeroQualityMs:
		qRTT = sdkmath.LegacyZeroDec()
	default:
		qRTT = sdkmath.LegacyNewDec(int64(p.RttZeroQualityMs - rtt)).QuoInt64(int64(p.RttZeroQualityMs - p.RttFullQualityMs))
	}
	return qLoss.Mul(qRTT)
}

// AttestedQuality is the quality of a receipt with a client attestation:
// the node's figures can only lower it, never raise it above what the
// client saw (Quality never comes from the node's figures alone):
//
//	client_loss = packets_lost / (packets_received + packets_lost)   (statement)
//	q_client    = max(0, 1 − client_loss / loss_zero_quality); 0 if the
//	              client neither received nor sent a byte
//	quality     = min(Quality(p, r), q_client)
func AttestedQuality(p Params, r *format.UsageReceipt, st *format.UsageStatement) sdkmath.LegacyDec {
	q := Quality(p, r)
	if st.BytesReceived == 0 && st.BytesSent == 0 {
		return sdkmath.LegacyZeroDec()
	}
	qc := sdkmath.LegacyOneDec()
	if total := st.PacketsReceived + st.PacketsLost; total >= st.PacketsReceived && total > 0 {
		loss := sdkmath.LegacyNewDecFromInt(sdkmath.NewIntFromUint64(st.PacketsLost)).QuoInt(sdkmath.NewIntFromUint64(total))
		qc = sdkmath.LegacyOneDec().Sub(loss.Quo(p.LossZeroQuality))
		if qc.IsNegative() {
			qc = sdkmath.LegacyZeroDec()
		}
	}
	return sdkmath.LegacyMinDec(q, qc)
}

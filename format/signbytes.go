package format

import (
	"errors"
	"fmt"
	"strings"
)

// Object kinds that nodes sign. Each kind has its own domain, so a
// signature over one kind can never be presented as another.
const (
	// ObjectUsageReceipt is a usage receipt signed by its media node.
	ObjectUsageReceipt = "usage-receipt"
	// ObjectReceiptCountersignature is an orchestrator's countersignature
	// over a media-node-signed usage receipt.
	ObjectReceiptCountersignature = "usage-receipt-countersignature"
	// ObjectLoadReport is a media node's load report to orchestrators.
	ObjectLoadReport = "load-report"
	// ObjectRPCCall authenticates one Media Node RPC call.
	ObjectRPCCall = "rpc-call"
	// ObjectUsageStatement is a client's signed usage statement (see
	// UsageStatement).
	ObjectUsageStatement = "usage-statement"
	// ObjectRelayDial proves that the media node named in a relay grant is
	// the one dialling a relay leg with it (RelayDialPayload).
	ObjectRelayDial = "relay-dial"
	// ObjectProbeResult is a QoS probe's result signed by its prober
	// orchestrator (ProbeResult).
	ObjectProbeResult = "probe-result"
)

// RelayDialPayload is what a pulling media node signs (ObjectRelayDial)
// when it dials a relay leg: the relay grant's jti, the serving node's ID
// and the dial time in Unix milliseconds, as
//
//	jti || 0x00 || serverNodeID || 0x00 || unixMs (8 bytes, big-endian)
func RelayDialPayload(jti, serverNodeID string, unixMs int64) []byte {
	out := make([]byte, 0, len(jti)+len(serverNodeID)+10)
	out = append(out, jti...)
	out = append(out, 0)
	out = append(out, serverNodeID...)
	out = append(out, 0)
	for i := 7; i >= 0; i-- {
		out = append(out, byte(uint64(unixMs)>>(8*i)))
	}
	return out
}

// MaxChainIDLength bounds the chain ID accepted in signing bytes; it is the
// same bound CometBFT puts on chain IDs.
const MaxChainIDLength = 50

// SignBytes returns the bytes a node signs for an off-chain object
// (DESIGN.md §1):
//
//	"chroom/" || object || "/v1" || 0x00 || chainID || 0x00 || payload
//
// payload must be the deterministic protobuf encoding of the object (the
// gogoproto Marshal of a message without map fields). The object name is
// lowercase letters, digits and dashes; chainID is non-empty, at most 50
// bytes, and contains no NUL byte. Binding the chain ID means a signature
// cannot be replayed on another network.
func SignBytes(object, chainID string, payload []byte) ([]byte, error) {
	if err := validateObject(object); err != nil {
		return nil, err
	}
	if chainID == "" {
		return nil, errors.New("chain ID is empty")
	}
	if len(chainID) > MaxChainIDLength {
		return nil, fmt.Errorf("chain ID is longer than %d bytes", MaxChainIDLength)
	}
	if strings.IndexByte(chainID, 0) >= 0 {
		return nil, errors.New("chain ID contains a NUL byte")
	}
	prefix := "chroom/" + object + "/v1\x00" + chainID + "\x00"
	out := make([]byte, 0, len(prefix)+len(payload))
	out = append(out, prefix...)
	return append(out, payload...), nil
}

func validateObject(object string) error {
	if object == "" {
		return errors.New("object kind is empty")
	}
	for _, c := range object {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return fmt.Errorf("object kind %q may hold only a-z, 0-9 and '-'", object)
		}
	}
	return nil
}

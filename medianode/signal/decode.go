package signal

import (
	"encoding/json"
	"errors"
	"fmt"
)

// DecodeClientMessage parses one WebSocket message and checks its shape:
// a known type and the fields that type needs. It never panics; every
// error says what is wrong.
func DecodeClientMessage(data []byte) (ClientMessage, error) {
	var m ClientMessage
	if len(data) > MaxMessageBytes {
		return m, fmt.Errorf("message is %d bytes, more than %d", len(data), MaxMessageBytes)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("malformed message: %w", err)
	}
	switch m.Type {
	case "offer", "answer":
		if m.SDP == "" {
			return m, errors.New(m.Type + ": sdp is empty")
		}
		if err := checkSDP(m.SDP); err != nil {
			return m, fmt.Errorf("%s: malformed SDP: %w", m.Type, err)
		}
	case "candidate":
		if m.Candidate == nil || m.Candidate.Candidate == "" && m.Candidate.SDPMid == nil {
			return m, errors.New("candidate: candidate is missing")
		}
	case "announce_track", "mute", "layer":
		if m.TrackID == "" || len(m.TrackID) > 128 {
			return m, errors.New(m.Type + ": track_id must be 1 to 128 bytes")
		}
		if m.Type == "layer" && (m.Layer == nil || *m.Layer < -1 || *m.Layer > 2) {
			return m, errors.New("layer: layer must be -1 (off), 0, 1 or 2")
		}
	case "relay_layers":
		if m.TrackID == "" || len(m.TrackID) > 128 {
			return m, errors.New("relay_layers: track_id must be 1 to 128 bytes")
		}
		if len(m.Layers) != 3 {
			return m, errors.New("relay_layers: layers must be three booleans (q, h, f)")
		}
	case "subscription":
		if m.Video == nil {
			return m, errors.New("subscription: video (true or false) is missing")
		}
	case "client_stats", "leave":
	case "":
		return m, errors.New("type is missing")
	default:
		return m, fmt.Errorf("unknown message type %q", m.Type)
	}
	return m, nil
}

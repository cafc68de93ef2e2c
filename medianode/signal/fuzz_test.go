package signal_test

import (
	"encoding/json"
	"testing"

	"github.com/chroom/chroom/medianode/signal"
)

// FuzzDecodeClientMessage feeds arbitrary bytes to the WebSocket message
// decoder: it must never panic, and what it accepts must re-encode and
// decode to an accepted message of the same type.
func FuzzDecodeClientMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"offer","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}`,
		`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0"}}`,
		`{"type":"layer","track_id":"t","layer":1}`,
		`{"type":"announce_track","track_id":"t","source":"screen"}`,
		`{"type":"client_stats","bytes_received":5,"frames_decoded":2}`,
		`{"type":"leave"}`, `{}`, `[]`, `{"type":`, `{"type":"layer","layer":-1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := signal.DecodeClientMessage(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("errors must say what is wrong")
			}
			return
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := signal.DecodeClientMessage(again)
		if err != nil || m2.Type != m.Type {
			t.Fatalf("accepted %q but its re-encoding %q fails: %v", data, again, err)
		}
	})
}

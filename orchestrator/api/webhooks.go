package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Webhook event types, as LiveKit names them.
const (
	EventRoomStarted       = "room_started"
	EventRoomFinished      = "room_finished"
	EventParticipantJoined = "participant_joined"
	EventParticipantLeft   = "participant_left"
	// EventParticipantConnectionAborted: the session ended because its
	// connection failed or the client vanished (not a leave).
	EventParticipantConnectionAborted = "participant_connection_aborted"
	EventTrackPublished               = "track_published"
	EventTrackUnpublished             = "track_unpublished"
	// EventParticipantUpdated: the app or the host changed a participant's
	// role, permissions, name, metadata or attributes.
	EventParticipantUpdated = "participant_updated"
	// EventTrackMuted: the app or the host muted (or unmuted) a track.
	EventTrackMuted = "track_muted"
)

// WebhookEvent is the JSON body POSTed to the webhook URL.
type WebhookEvent struct {
	ID          string       `json:"id"`
	Event       string       `json:"event"`
	Room        string       `json:"room"`
	NodeID      string       `json:"media_node_id,omitempty"`
	Participant *Participant `json:"participant,omitempty"`
	Track       *Track       `json:"track,omitempty"`
	// CreatedAtUnixMs is when the orchestrator saw the event.
	CreatedAtUnixMs int64 `json:"created_at_unix_ms"`
}

// Webhooks delivers room and participant events to an app's URL, signed:
// X-Chroom-Timestamp is the Unix time in seconds and X-Chroom-Signature is
// "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)). Delivery is
// asynchronous and at-least-once with three attempts (1 s, 4 s apart); a
// full queue drops events (logged) rather than slowing joins.
type Webhooks struct {
	URL    string
	Secret []byte
	Client *http.Client
	Log    *slog.Logger
	queue  chan WebhookEvent
}

// NewWebhooks returns a sender; Run must be started.
func NewWebhooks(url string, secret []byte, log *slog.Logger) *Webhooks {
	if log == nil {
		log = slog.Default()
	}
	return &Webhooks{URL: url, Secret: secret, Client: &http.Client{Timeout: 5 * time.Second}, Log: log, queue: make(chan WebhookEvent, 1024)}
}

// Send queues an event.
func (w *Webhooks) Send(ev WebhookEvent) {
	if w == nil {
		return
	}
	if ev.ID == "" {
		ev.ID, _ = randomID()
	}
	if ev.CreatedAtUnixMs == 0 {
		ev.CreatedAtUnixMs = time.Now().UnixMilli()
	}
	select {
	case w.queue <- ev:
	default:
		w.Log.Warn("webhook queue full; event dropped", "event", ev.Event, "room", ev.Room)
	}
}

// Sign returns the signature header value for body at ts.
func (w *Webhooks) Sign(ts int64, body []byte) string {
	mac := hmac.New(sha256.New, w.Secret)
	mac.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Run delivers events until ctx ends.
func (w *Webhooks) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-w.queue:
			w.deliver(ctx, ev)
		}
	}
}

func (w *Webhooks) deliver(ctx context.Context, ev WebhookEvent) {
	body, err := json.Marshal(ev)
	if err != nil {
		return
	}
	for attempt, wait := 0, time.Second; attempt < 3; attempt, wait = attempt+1, wait*4 {
		ts := time.Now().Unix()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Chroom-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Chroom-Signature", w.Sign(ts, body))
		resp, err := w.Client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	w.Log.Warn("webhook not delivered after 3 attempts", "event", ev.Event, "room", ev.Room, "url", w.URL)
}

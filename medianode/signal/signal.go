// Package signal is the media node's signaling: a WebSocket JSON protocol
// for full rooms and WHIP (RFC 9725) / WHEP HTTP endpoints for ingest and
// playback. Every entry point is authenticated by a join grant
// (Authorization: Bearer <JWT>, or the access_token query parameter for
// browsers' WebSockets). medianode/README.md documents the protocol.
package signal

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/medianode/sfu"
)

// MaxMessageBytes bounds one WebSocket message and one WHIP/WHEP body.
const MaxMessageBytes = 64 << 10

// Authenticator verifies join grants for this node.
type Authenticator interface {
	Verify(token string) (*grant.Claims, error)
}

// ICEProvider mints TURN credentials for a grant holder.
type ICEProvider interface {
	// ICEServers returns the ICE servers (with fresh TURN credentials) for
	// the WebSocket join answer.
	ICEServers(identity string) []webrtc.ICEServer
	// LinkHeaders returns RFC 9725 §4.6 Link header values.
	LinkHeaders(identity string) []string
}

// SessionHooks let the node attach per-session data (receipt meters) and
// see client reports.
type SessionHooks interface {
	// SessionData is stored with the participant (sfu.JoinParams.Data).
	SessionData(claims *grant.Claims, kind sfu.Kind) any
	// ClientReport records the client's own received-bytes and
	// frames-decoded totals.
	ClientReport(p *sfu.Participant, bytesReceived, framesDecoded uint64)
}

// Server serves the signaling endpoints.
type Server struct {
	SFU   *sfu.SFU
	Auth  Authenticator
	ICE   ICEProvider
	Hooks SessionHooks
	Log   *slog.Logger
	// AllowedOrigins for WebSocket upgrades; empty allows any origin
	// (grants, not cookies, authenticate).
	AllowedOrigins []string
	// Relay authenticates relay legs (cascading): a relay grant is taken
	// only from the media node it names, proven by RelayProofHeader. Nil
	// refuses every relay grant.
	Relay *RelayAuth

	mu       sync.Mutex
	sessions map[string]*httpSession // WHIP/WHEP resources by ID
}

type httpSession struct {
	p         *sfu.Participant
	tokenHash string

	mu  sync.Mutex
	tag string // the ETag of the current ICE session: the node's quoted ufrag
}

func (h *httpSession) etag() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tag
}

func (h *httpSession) setETag(tag string) {
	h.mu.Lock()
	h.tag = tag
	h.mu.Unlock()
}

// Handler returns the routes: GET /rtc (WebSocket), POST /whip, PATCH and
// DELETE /whip/{id}, POST /whep, PATCH and DELETE /whep/{id}, and GET
// /ping (204, what clients time to measure their round-trip time to the
// node before the orchestrator places their room).
func (s *Server) Handler() http.Handler {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /rtc", s.serveWS)
	mux.HandleFunc("POST /whip", func(w http.ResponseWriter, r *http.Request) { s.serveHTTPOffer(w, r, sfu.KindWHIP) })
	mux.HandleFunc("POST /whep", func(w http.ResponseWriter, r *http.Request) { s.serveHTTPOffer(w, r, sfu.KindWHEP) })
	for _, prefix := range []string{"/whip/", "/whep/"} {
		mux.HandleFunc("PATCH "+prefix+"{id}", s.servePatch)
		mux.HandleFunc("DELETE "+prefix+"{id}", s.serveDelete)
		mux.HandleFunc("OPTIONS "+prefix+"{id}", s.serveOptions)
	}
	mux.HandleFunc("OPTIONS /whip", s.serveOptions)
	mux.HandleFunc("OPTIONS /whep", s.serveOptions)
	mux.HandleFunc("GET /ping", servePing)
	return withCORS(mux)
}

// bearer extracts the grant from the Authorization header or, for
// browser WebSockets, the access_token query parameter.
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
	}
	return r.URL.Query().Get("access_token")
}

// authenticate verifies the request's grant and that it allows action.
func (s *Server) authenticate(r *http.Request, action grant.Action) (*grant.Claims, int, error) {
	token := bearer(r)
	if token == "" {
		return nil, http.StatusUnauthorized, errors.New("missing join grant: send Authorization: Bearer <grant>")
	}
	claims, err := s.Auth.Verify(token)
	if err != nil {
		return nil, http.StatusUnauthorized, err
	}
	if err := claims.Allow(claims.Room, action); err != nil {
		return nil, http.StatusForbidden, err
	}
	return claims, 0, nil
}

func permissionsOf(c *grant.Claims) sfu.Permissions {
	p := sfu.Permissions{
		CanPublish: c.CanPublish, CanPublishScreen: c.CanPublishScreen, CanSubscribe: c.CanSubscribe,
		CanPublishData: c.CanPublishData, CanAdmin: c.CanAdmin, Hidden: c.Hidden,
	}
	for _, s := range c.CanPublishSources {
		p.CanPublishSources = append(p.CanPublishSources, sfu.TrackSource(s))
	}
	return p
}

// joinErrorStatus maps an sfu.Join error to its HTTP status: 409 for a
// grant or identity already in use, 403 for a revoked grant, 503 for a
// full room or node.
func joinErrorStatus(err error) int {
	switch {
	case errors.Is(err, sfu.ErrGrantInUse), errors.Is(err, sfu.ErrIdentityInUse):
		return http.StatusConflict
	case errors.Is(err, sfu.ErrGrantRevoked):
		return http.StatusForbidden
	default:
		return http.StatusServiceUnavailable
	}
}

// grantExpiry is the grant's exp claim (zero if absent).
func grantExpiry(c *grant.Claims) time.Time {
	if c.ExpiresAt == nil {
		return time.Time{}
	}
	return c.ExpiresAt.Time
}

// httpError writes a plain-text error with the status.
func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// servePing answers 204 with nothing to parse or cache; Timing-Allow-Origin
// lets a page on another origin read the Resource Timing of it (W3C
// Resource Timing §4.5), should it want more than its own clock.
func servePing(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Timing-Allow-Origin", "*")
	w.WriteHeader(http.StatusNoContent)
}

func withCORS(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
		w.Header().Set("Access-Control-Expose-Headers", "Location, Link, ETag")
		h.ServeHTTP(w, r)
	})
}

// RelayProofHeader carries a pulling media node's proof that it is the
// node its relay grant names: "<unix ms>.<base64url signature>", the
// signature over format.RelayDialPayload(jti, this node's ID, unix ms) as
// format.ObjectRelayDial.
const RelayProofHeader = "X-Chroom-Relay-Proof"

// RelayProofSkew is how far a relay proof's time may be from this node's
// clock.
const RelayProofSkew = 60 * time.Second

// RelayAuth checks relay proofs.
type RelayAuth struct {
	// NodeID is this (serving) node's ID; ChainID the chain signed for.
	NodeID, ChainID string
	// MediaNodeKey returns the registered key of an ACTIVE media node.
	MediaNodeKey func(id string) (ed25519.PublicKey, error)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// check verifies r's relay proof for a relay grant with subject
// "relay:<node ID>" and the given jti.
func (a *RelayAuth) check(r *http.Request, subject, jti string) error {
	if a == nil {
		return errors.New("this node serves no relay legs")
	}
	id, ok := strings.CutPrefix(subject, "relay:")
	if !ok || id == "" {
		return fmt.Errorf("a relay grant's subject is relay:<node ID>, not %q", subject)
	}
	key, err := a.MediaNodeKey(id)
	if err != nil {
		return fmt.Errorf("relay grant for node %s: %v", id, err)
	}
	proof := r.Header.Get(RelayProofHeader)
	msStr, sigStr, ok := strings.Cut(proof, ".")
	if !ok {
		return fmt.Errorf("missing or malformed %s: want <unix ms>.<base64url signature>", RelayProofHeader)
	}
	ms, err := strconv.ParseInt(msStr, 10, 64)
	if err != nil {
		return fmt.Errorf("%s: the time is not a number", RelayProofHeader)
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	if d := now().Sub(time.UnixMilli(ms)); d > RelayProofSkew || d < -RelayProofSkew {
		return fmt.Errorf("%s is %v from this node's clock (at most %v)", RelayProofHeader, d.Round(time.Second), RelayProofSkew)
	}
	sig, err := base64.RawURLEncoding.DecodeString(sigStr)
	if err != nil || !format.Verify(key, format.ObjectRelayDial, a.ChainID, format.RelayDialPayload(jti, a.NodeID, ms), sig) {
		return fmt.Errorf("%s does not verify with node %s's registered key", RelayProofHeader, id)
	}
	return nil
}

// RelayProof returns the RelayProofHeader value with which node key
// proves it is dialling a relay leg with grant jti to serverNodeID.
func RelayProof(key *format.NodeKey, chainID, jti, serverNodeID string, now time.Time) (string, error) {
	ms := now.UnixMilli()
	sig, err := key.Sign(format.ObjectRelayDial, chainID, format.RelayDialPayload(jti, serverNodeID, ms))
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(ms, 10) + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

package api

import (
	"context"
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/noderpc"
	"github.com/chroom/chroom/orchestrator/selector"
	"github.com/chroom/chroom/orchestrator/session"
)

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 16 << 10

// Config configures the API server.
type Config struct {
	Key *format.NodeKey
	// ChainID is the chain this orchestrator serves; join grants carry it
	// (claim chain_id) and media nodes refuse grants for another chain.
	// Required: without it every join fails.
	ChainID string
	// PublicURL is this orchestrator's base URL (for redirects).
	PublicURL string
	// APIKeys maps an API key to the app name using it.
	APIKeys map[string]string
	// KeyPolicies bound each app's key (by app name); an app without one
	// may do everything.
	KeyPolicies map[string]KeyPolicy
	// AllowAnonymousJoin lets the bundled web client join without an API
	// key (devnets, public demos).
	AllowAnonymousJoin bool
	// AnonymousBillApp is the on-chain app billed for anonymous joins
	// (the bundled web client); empty: the operator pays.
	AnonymousBillApp string
	// Sessions is the core: rooms, placement, grants, roles, bans. Nil: a
	// Book kept in memory only, with GrantTTL, placing rooms on
	// Directory's ACTIVE media nodes by their Loads.
	Sessions *session.Book
	// GrantTTL is how long a join grant is valid when Sessions is nil
	// (default 6 h).
	GrantTTL time.Duration
	// Region is the default region for joins that give none.
	Region string
	// Webhooks, if set, receives room and participant events.
	Webhooks *Webhooks
	// RateLimits bound joins and admin calls per client IP and API key.
	RateLimits RateLimits

	// Directory is the registry view (required); Loads the media nodes'
	// load reports (required); Admin carries out room administration on
	// media nodes; Rewards reads claimable rewards; Peers judges other
	// orchestrators' health (nil: all healthy); Logger (default
	// slog.Default()); Registry registers the metrics (nil: not registered).
	Directory Directory
	Loads     Loads
	Admin     Admin
	Rewards   Rewards
	Peers     Peers
	Logger    *slog.Logger
	Registry  prometheus.Registerer
	// Probe checks that a media node answers, when a client reports its
	// room's node unreachable (the join's unreachable_node). Nil: GET the
	// node's /ping with a 1.5 s timeout.
	Probe func(ctx context.Context, node NodeInfo) error
	// Network, if set, serves GET /v1/network (the web client's network
	// page).
	Network NetworkSource
}

// Server is the orchestrator HTTP API.
type Server struct {
	cfg      Config
	dir      Directory
	loads    Loads
	admin    Admin
	rewards  Rewards
	peers    Peers
	book     *session.Book
	log      *slog.Logger
	joins    *prometheus.CounterVec
	redirect prometheus.Counter

	joinsPerIP, adminPerIP, joinsPerKey *limiters
	netCache                            networkCache
}

// New returns the API server.
func New(cfg Config) *Server {
	if cfg.Sessions == nil {
		cfg.Sessions = session.New(session.Params{GrantTTL: cfg.GrantTTL, Nodes: Candidates(cfg.Directory, cfg.Loads), ChainID: cfg.ChainID})
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.RateLimits = cfg.RateLimits.withDefaults()
	rl := cfg.RateLimits
	s := &Server{
		joinsPerIP:  newLimiters(rl.JoinPerIP, rl.JoinBurstPerIP),
		adminPerIP:  newLimiters(rl.AdminPerIP, rl.AdminBurstPerIP),
		joinsPerKey: newLimiters(rl.JoinPerKey, rl.JoinBurstPerKey),
		cfg:         cfg, dir: cfg.Directory, loads: cfg.Loads, admin: cfg.Admin, rewards: cfg.Rewards, peers: cfg.Peers, book: cfg.Sessions,
		log:      cfg.Logger.With("component", "api"),
		joins:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chroom_orchestrator_joins_total", Help: "Join requests by result."}, []string{"result"}),
		redirect: prometheus.NewCounter(prometheus.CounterOpts{Name: "chroom_orchestrator_redirects_total", Help: "Requests redirected to the room's owner."}),
	}
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(s.joins, s.redirect)
	}
	return s
}

// Handler returns the API routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/rooms", s.createRoom)
	mux.HandleFunc("GET /v1/rooms", s.listRooms)
	mux.HandleFunc("GET /v1/rooms/{room}", s.getRoom)
	mux.HandleFunc("POST /v1/rooms/{room}/join", s.join)
	mux.HandleFunc("GET /v1/rooms/{room}/placement", s.placement)
	mux.HandleFunc("POST /v1/rooms/{room}/stats", s.stats)
	mux.HandleFunc("GET /v1/rooms/{room}/participants", s.listParticipants)
	mux.HandleFunc("GET /v1/rooms/{room}/relays", s.listRelays)
	mux.HandleFunc("GET /v1/rooms/{room}/participants/{identity}", s.getParticipant)
	mux.HandleFunc("PATCH /v1/rooms/{room}/participants/{identity}", s.updateParticipant)
	mux.HandleFunc("POST /v1/rooms/{room}/participants/{identity}/subscriptions", s.updateSubscriptions)
	mux.HandleFunc("POST /v1/rooms/{room}/data", s.sendData)
	mux.HandleFunc("POST /v1/rooms/{room}/participants/{identity}/role", s.setRole)
	mux.HandleFunc("POST /v1/rooms/{room}/participants/{identity}/mute", s.mute)
	mux.HandleFunc("DELETE /v1/rooms/{room}/participants/{identity}", s.remove)
	mux.HandleFunc("DELETE /v1/rooms/{room}", s.endRoom)
	mux.HandleFunc("GET /v1/nodes/{id}", s.nodeInfo)
	mux.HandleFunc("GET /v1/network", s.network)
	mux.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPI)
	})
	return withCORS(mux)
}

// withCORS lets browser apps on other origins (and the web client after a
// 307 to another orchestrator) call the API; credentials are API keys or
// grants in headers, never cookies.
func withCORS(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-API-Key")
		w.Header().Set("Access-Control-Expose-Headers", "Location")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// apiError is the JSON error body of every 4xx and 5xx.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readJSON decodes a bounded JSON body into v, refusing unknown fields.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes))
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "malformed_body", "the body is not the expected JSON: "+err.Error())
		return false
	}
	return true
}

// ValidateRoomName accepts 1–64 characters of A-Z, a-z, 0-9, '.', '_' and '-'.
func ValidateRoomName(room string) error {
	if room == "" || len(room) > 64 {
		return errors.New("room names are 1 to 64 characters")
	}
	for _, c := range room {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("room names may hold only letters, digits, '.', '_' and '-', not %q", c)
		}
	}
	return nil
}

func validateText(field, s string, min, max int) error {
	if len(s) < min || len(s) > max || !utf8.ValidString(s) {
		return fmt.Errorf("%s must be %d to %d bytes of UTF-8", field, min, max)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%s contains a control character", field)
		}
	}
	return nil
}

// apiKey returns the app of the request's API key ("" if none) and
// whether a key was given at all.
func (s *Server) apiKey(r *http.Request) (app string, given bool) {
	key := r.Header.Get("X-API-Key")
	if key == "" {
		if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") && strings.Count(h, ".") != 2 {
			key = strings.TrimPrefix(h, "Bearer ")
		}
	}
	if key == "" {
		return "", false
	}
	for k, name := range s.cfg.APIKeys {
		if subtle.ConstantTimeCompare([]byte(k), []byte(key)) == 1 {
			return name, true
		}
	}
	return "", true
}

// owner redirects to the room's owner and returns false when this
// orchestrator does not own room (307 keeps method and body).
func (s *Server) owner(w http.ResponseWriter, r *http.Request, room string) bool {
	var ids []string
	for _, o := range s.dir.ActiveOrchestrators() {
		if o.ID == s.cfg.Key.ID || s.peers == nil || s.peers.Healthy(o.ID) {
			ids = append(ids, o.ID)
		}
	}
	owner := selector.Owner(room, ids)
	if owner == "" || owner == s.cfg.Key.ID {
		return true
	}
	o, ok := s.dir.Node(owner)
	base := noderpc.HTTPBase(o.Endpoints)
	if !ok || base == "" {
		return true // cannot reach it: serve here rather than fail
	}
	s.redirect.Inc()
	w.Header().Set("Location", strings.TrimSuffix(base, "/")+r.URL.RequestURI())
	writeError(w, http.StatusTemporaryRedirect, "redirect", "room "+room+" is served by orchestrator "+owner)
	return false
}

// AnonymousPrefix starts every identity the orchestrator assigns to an
// anonymous join.
const AnonymousPrefix = session.AnonymousPrefix

type joinRequest struct {
	Identity string `json:"identity"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Region   string `json:"region"`
	// ClientKey is the client's Ed25519 public key, 32 bytes in base64url
	// (no padding): the grant binds it (cnf) and the client signs its
	// usage statements with it.
	ClientKey string `json:"client_key"`
	// UnreachableNode is the ID of the room's media node when the client
	// is joining again because that node stopped answering (its
	// connection and resume failed). The orchestrator probes the node;
	// if it does not answer either, the room moves to another node.
	UnreachableNode string `json:"unreachable_node"`
	// Hidden asks for a session the others in the room are not told of
	// (it may watch and listen, not publish); API keys only.
	Hidden bool `json:"hidden"`
	// RTTMs are the client's measured round-trip times to the nodes
	// GET …/placement named, in milliseconds by node ID; a new room goes to
	// the nearest (selector.Select). At most 8, each in (0, 60000].
	RTTMs map[string]float64 `json:"rtt_ms"`
}

// MediaNodeRef tells the client where to connect.
type MediaNodeRef struct {
	ID      string `json:"id"`
	WSURL   string `json:"ws_url"`
	WHIPURL string `json:"whip_url"`
	WHEPURL string `json:"whep_url"`
	// PingURL answers GET with 204 and no body, from any origin: what a
	// client times to measure its round-trip time to the node.
	PingURL string `json:"ping_url"`
	Region  string `json:"region"`
}

type joinResponse struct {
	Token         string       `json:"token"`
	Room          string       `json:"room"`
	Role          string       `json:"role"`
	Identity      string       `json:"identity"`
	ExpiresAtUnix int64        `json:"expires_at_unix"`
	MediaNode     MediaNodeRef `json:"media_node"`
	// ChainID is the chain the grant and the client's usage statements
	// are bound to.
	ChainID string `json:"chain_id"`
	// RoomOptions are the room's mode, metadata and features (an app's
	// POST /v1/rooms; defaults otherwise).
	RoomOptions RoomOptionsRef `json:"room_options"`
}

func (s *Server) join(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	if err := ValidateRoomName(room); err != nil {
		s.joins.WithLabelValues("bad_request").Inc()
		writeError(w, http.StatusBadRequest, "invalid_room", err.Error())
		return
	}
	now := s.book.Now()
	ip := clientIP(r)
	if ok, wait := s.joinsPerIP.allow(ip, now); !ok {
		s.joins.WithLabelValues("rate_limited").Inc()
		tooMany(w, wait, "too many joins from "+ip)
		return
	}
	app, keyGiven := s.apiKey(r)
	if keyGiven && app == "" {
		s.joins.WithLabelValues("unauthorized").Inc()
		writeError(w, http.StatusUnauthorized, "unknown_api_key", "the API key is not known to this orchestrator")
		return
	}
	if app != "" {
		if ok, wait := s.joinsPerKey.allow(app, now); !ok {
			s.joins.WithLabelValues("rate_limited").Inc()
			tooMany(w, wait, "too many joins with this API key")
			return
		}
		if !s.authorizeKey(w, app, ScopeJoin, room) {
			s.joins.WithLabelValues("unauthorized").Inc()
			return
		}
	}
	if !keyGiven && !s.cfg.AllowAnonymousJoin {
		s.joins.WithLabelValues("unauthorized").Inc()
		writeError(w, http.StatusUnauthorized, "api_key_required", "send an API key in X-API-Key")
		return
	}
	var req joinRequest
	if !readJSON(w, r, &req) {
		return
	}
	// Identities are bound to principals: an anonymous join gets one from
	// the orchestrator; an app names its own, inside its namespace.
	identity := ""
	if app == "" {
		if req.Identity != "" {
			writeError(w, http.StatusBadRequest, "identity_not_allowed",
				"an anonymous join cannot choose its identity (the orchestrator assigns one; name is free text); apps with an API key may")
			return
		}
		id, err := session.NewID()
		if err != nil {
			writeError(w, http.StatusInternalServerError, "internal", err.Error())
			return
		}
		identity = AnonymousPrefix + id[:12]
	} else {
		if err := validateText("identity", req.Identity, 1, 128); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_identity", err.Error())
			return
		}
		if strings.Contains(req.Identity, "#") {
			writeError(w, http.StatusBadRequest, "invalid_identity", "identity may not contain '#'")
			return
		}
		identity = app + ":" + req.Identity
	}
	if err := validateText("name", req.Name, 0, 128); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_name", err.Error())
		return
	}
	var clientKey []byte
	if req.ClientKey != "" {
		k, err := base64.RawURLEncoding.DecodeString(req.ClientKey)
		if err != nil || len(k) != ed25519.PublicKeySize {
			writeError(w, http.StatusBadRequest, "invalid_client_key", "client_key must be a 32-byte Ed25519 public key in base64url without padding")
			return
		}
		clientKey = k
	}
	var asked grant.Role
	if req.Role != "" {
		var err error
		if asked, err = grant.ParseRole(req.Role); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_role", "role must be host, presenter, participant or viewer")
			return
		}
		if app == "" && asked != grant.RoleParticipant && asked != grant.RoleViewer {
			writeError(w, http.StatusForbidden, "role_not_allowed", "without an API key only the participant and viewer roles may be asked for")
			return
		}
	}
	if req.Hidden && app == "" {
		writeError(w, http.StatusForbidden, "hidden_not_allowed", "a hidden session needs an API key")
		return
	}
	if !s.dir.Ready() {
		writeError(w, http.StatusServiceUnavailable, "not_ready", "the orchestrator has not loaded the registry yet")
		return
	}
	if !s.owner(w, r, room) {
		return
	}
	region := req.Region
	if region == "" {
		region = s.cfg.Region
	}
	if err := validateRTTs(req.RTTMs); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_rtt", err.Error())
		return
	}
	if req.UnreachableNode != "" {
		s.checkReportedNode(r.Context(), room, req.UnreachableNode)
	}
	s.adoptRoom(r.Context(), room)
	nodeID, started, err := s.book.PlaceFor(room, session.Want{Region: region, RegionAsked: req.Region != "", RTTs: selector.RTTs(req.RTTMs)})
	if err != nil {
		s.joins.WithLabelValues("no_node").Inc()
		writeError(w, http.StatusServiceUnavailable, "no_media_node", err.Error())
		return
	}
	if started {
		s.cfg.Webhooks.Send(WebhookEvent{Event: EventRoomStarted, Room: room, NodeID: nodeID})
	}
	node, _ := s.dir.Node(nodeID)
	pol := s.cfg.KeyPolicies[app]
	bill := pol.BillApp
	if app == "" {
		bill = s.cfg.AnonymousBillApp
	}
	sess, err := s.book.Admit(session.Admission{Room: room, NodeID: nodeID, Identity: identity, App: app, BillApp: bill, IP: ip, Role: asked,
		Quota: session.Quota{MaxRooms: pol.MaxRooms, MaxSessions: pol.MaxSessions}, ClientKey: clientKey, Hidden: req.Hidden})
	var banned *session.BanError
	switch {
	case errors.As(err, &banned):
		s.joins.WithLabelValues("banned").Inc()
		writeError(w, http.StatusForbidden, "banned", "you were removed from room "+room+"; joining again is refused until "+banned.Until.UTC().Format(time.RFC3339))
		return
	case errors.Is(err, session.ErrQuota):
		s.joins.WithLabelValues("quota").Inc()
		writeError(w, http.StatusForbidden, "quota_exceeded", err.Error())
		return
	case errors.Is(err, session.ErrRoleNotAllowed):
		writeError(w, http.StatusForbidden, "role_not_allowed", err.Error())
		return
	case errors.Is(err, session.ErrRoomFull):
		s.joins.WithLabelValues("room_full").Inc()
		writeError(w, http.StatusConflict, "room_full", err.Error())
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	c := s.claimsFor(sess, req.Name)
	if clientKey != nil {
		c.Cnf = &grant.Confirmation{JWK: grant.Ed25519JWK(clientKey)}
	}
	token, err := grant.Issue(s.cfg.Key, c)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	s.joins.WithLabelValues("ok").Inc()
	writeJSON(w, http.StatusOK, joinResponse{
		Token: token, Room: room, Role: string(sess.Role), Identity: identity, ExpiresAtUnix: sess.ExpiresAt.Unix(), ChainID: s.cfg.ChainID,
		MediaNode: mediaRef(node), RoomOptions: s.roomOptionsRef(room),
	})
}

// checkReportedNode probes the media node a client reports unreachable,
// if it is the room's node, and marks it down when the probe fails too: a
// client can make the orchestrator look, not move a room by itself. A
// probe that succeeds leaves the room where it is (the client's own path
// is the problem, or the node is back).
func (s *Server) checkReportedNode(ctx context.Context, room, nodeID string) {
	current, ok := s.book.Node(room)
	if !ok || current != nodeID {
		return
	}
	node, ok := s.dir.Node(nodeID)
	if !ok {
		return
	}
	probe := s.cfg.Probe
	if probe == nil {
		probe = pingNode
	}
	ctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	if err := probe(ctx, node); err != nil {
		s.book.MarkDown(nodeID)
		s.log.Warn("media node unreachable: its rooms move to other nodes until it reports load again", "node", nodeID, "room", room, "err", err)
		return
	}
	s.log.Info("a client reported a media node unreachable, but it answers", "node", nodeID, "room", room)
}

// pingNode GETs node's /ping (MediaNodeRef.PingURL): any answer below 500
// counts as alive.
func pingNode(ctx context.Context, node NodeInfo) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, mediaRef(node).PingURL, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return fmt.Errorf("GET /ping: %s", resp.Status)
	}
	return nil
}

// validateRTTs checks a join's rtt_ms: at most 8 entries, node IDs of at
// most 128 bytes, times in (0, 60000] ms.
func validateRTTs(m map[string]float64) error {
	if len(m) > 8 {
		return fmt.Errorf("rtt_ms has %d entries; at most 8 (the nodes GET /v1/rooms/{room}/placement names)", len(m))
	}
	for id, v := range m {
		if id == "" || len(id) > 128 {
			return fmt.Errorf("rtt_ms keys are node IDs of 1-128 bytes, got %q", id)
		}
		if math.IsNaN(v) || v <= 0 || v > 60000 {
			return fmt.Errorf("rtt_ms[%q] must be a time in milliseconds in (0, 60000], got %v", id, v)
		}
	}
	return nil
}

// placementResponse names the nodes a client should measure before it
// joins a room (GET /v1/rooms/{room}/placement).
type placementResponse struct {
	Room string `json:"room"`
	// Placed is true when the room is already live on the one node named:
	// nothing to measure.
	Placed bool           `json:"placed"`
	Nodes  []MediaNodeRef `json:"nodes"`
}

// placement answers GET /v1/rooms/{room}/placement?region=: the media
// nodes a client should ping (MediaNodeRef.PingURL) before it joins, so
// that it can send its round-trip times with the join (rtt_ms). Open to
// anyone who may join; it reveals only registered, public node endpoints.
func (s *Server) placement(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	if err := ValidateRoomName(room); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_room", err.Error())
		return
	}
	region := r.URL.Query().Get("region")
	if len(region) > 32 {
		writeError(w, http.StatusBadRequest, "invalid_region", "region is at most 32 bytes (\"DE\", \"US-CA\")")
		return
	}
	if region == "" {
		region = s.cfg.Region
	}
	if !s.dir.Ready() {
		writeError(w, http.StatusServiceUnavailable, "not_ready", "the orchestrator has not loaded the registry yet")
		return
	}
	if !s.owner(w, r, room) {
		return
	}
	s.adoptRoom(r.Context(), room)
	cands, placed, err := s.book.Shortlist(room, region)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "no_media_node", err.Error())
		return
	}
	out := placementResponse{Room: room, Placed: placed, Nodes: []MediaNodeRef{}}
	for _, c := range cands {
		if n, ok := s.dir.Node(c.ID); ok {
			out.Nodes = append(out.Nodes, mediaRef(n))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// FindRoomTimeout bounds how long a join or placement waits for the
// media nodes' FindRoom answers when this orchestrator has no record of a
// room (adoptRoom).
const FindRoomTimeout = 1500 * time.Millisecond

// findRoomParallel is how many FindRoom calls adoptRoom has in flight.
const findRoomParallel = 16

// adoptRoom gives this orchestrator a record of a room it owns but never
// placed, when the room is already open on media nodes: another
// orchestrator owned it and placed it, then died or left the registry,
// and the rendezvous hash gave the room to this one (DESIGN.md §3) — or
// this one was away while another served the room. It asks every ACTIVE
// media node (Media Node RPC FindRoom, at most FindRoomTimeout) and
// records the room on the nodes that serve participants in it, the
// busiest first, so that new joins reach the people already in the call
// instead of starting a second call of the same name. It does nothing
// when this orchestrator knows the room, is the only ACTIVE
// orchestrator, or its Admin cannot find rooms; a node that does not
// answer is taken as not hosting the room.
func (s *Server) adoptRoom(ctx context.Context, room string) {
	finder, ok := s.admin.(RoomFinder)
	if !ok || finder == nil {
		return
	}
	if _, known := s.book.Node(room); known {
		return
	}
	others := false
	for _, o := range s.dir.ActiveOrchestrators() {
		others = others || o.ID != s.cfg.Key.ID
	}
	if !others {
		return
	}
	nodes := s.dir.ActiveMediaNodes()
	counts := make([]int, len(nodes))
	cctx, cancel := context.WithTimeout(ctx, FindRoomTimeout)
	defer cancel()
	var wg sync.WaitGroup
	slots := make(chan struct{}, findRoomParallel)
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case slots <- struct{}{}:
			case <-cctx.Done():
				return
			}
			defer func() { <-slots }()
			if c, err := finder.FindRoom(cctx, n.ID, room); err == nil {
				counts[i] = c
			}
		}()
	}
	wg.Wait()
	order := make([]int, 0, len(nodes))
	for i := range nodes {
		if counts[i] > 0 {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return counts[order[a]] > counts[order[b]] })
	found, served := make([]string, len(order)), make([]int, len(order))
	for k, i := range order {
		found[k], served[k] = nodes[i].ID, counts[i]
	}
	if s.book.Adopt(room, found) {
		s.log.Info("took over a room another orchestrator placed", "room", room, "nodes", found, "participants", served)
	}
}

// mediaRef derives a media node's client URLs from its base endpoint.
func mediaRef(n NodeInfo) MediaNodeRef {
	base := strings.TrimSuffix(noderpc.HTTPBase(n.Endpoints), "/")
	return MediaNodeRef{ID: n.ID, WSURL: noderpc.SignalURL(n.Endpoints), WHIPURL: base + "/whip", WHEPURL: base + "/whep", PingURL: base + "/ping", Region: n.Region}
}

// bearerSession authenticates a request by its join grant (issued by this
// orchestrator) and returns the session.
func (s *Server) bearerSession(r *http.Request, room string) (session.Record, *grant.Claims, error) {
	h := r.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Bearer ") || strings.Count(h, ".") != 2 {
		return session.Record{}, nil, errors.New("send the join grant as Authorization: Bearer <grant>")
	}
	token := strings.TrimPrefix(h, "Bearer ")
	unverified, err := grant.PeekClaims(token)
	if err != nil {
		return session.Record{}, nil, err
	}
	sess, ok := s.book.Session(unverified.ID)
	if !ok {
		return session.Record{}, nil, errors.New("this grant was not issued here or has expired")
	}
	v := &grant.Verifier{Audience: sess.NodeID, ChainID: s.cfg.ChainID, Issuers: selfIssuer{s.cfg.Key}, Now: s.book.Now}
	claims, err := v.Verify(token)
	if err != nil {
		return session.Record{}, nil, err
	}
	if claims.Room != room {
		return session.Record{}, nil, errors.New("the grant is for another room")
	}
	return sess, claims, nil
}

type selfIssuer struct{ k *format.NodeKey }

func (s selfIssuer) OrchestratorKey(id string) (ed25519.PublicKey, error) {
	if id == s.k.ID {
		return s.k.PublicKey, nil
	}
	return nil, grant.ErrUnknownIssuer
}

type statsRequest struct {
	BytesReceived   uint64 `json:"bytes_received"`
	FramesDecoded   uint64 `json:"frames_decoded"`
	PacketsReceived uint64 `json:"packets_received"`
	PacketsLost     uint64 `json:"packets_lost"`
	BytesSent       uint64 `json:"bytes_sent"`
	AudioSamples    uint64 `json:"audio_samples"`
	// Seq, ElapsedMs and Signature make the report a signed usage
	// statement (format.UsageStatement): required when the grant binds a
	// client key (cnf), ignored otherwise.
	Seq       uint64 `json:"seq"`
	ElapsedMs uint64 `json:"elapsed_ms"`
	Signature string `json:"signature"`
}

// stats records the client's own received-bytes and frames-decoded
// totals, which receipts are checked against. For an attested grant (it
// binds a client key) the report must be a usage statement signed with
// that key: 400 invalid_statement otherwise, and the elapsed time it
// attests bounds the session time credited to receipts.
func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	sess, _, err := s.bearerSession(r, room)
	if err != nil {
		writeError(w, http.StatusUnauthorized, "invalid_grant", err.Error())
		return
	}
	var req statsRequest
	if !readJSON(w, r, &req) {
		return
	}
	if len(sess.ClientKey) > 0 {
		sig, err := base64.RawURLEncoding.DecodeString(req.Signature)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_statement", "signature must be base64url without padding")
			return
		}
		st := &format.UsageStatement{GrantId: sess.JTI, Seq: req.Seq, ElapsedMs: req.ElapsedMs, BytesReceived: req.BytesReceived, FramesDecoded: req.FramesDecoded,
			PacketsReceived: req.PacketsReceived, PacketsLost: req.PacketsLost, BytesSent: req.BytesSent, AudioSamples: req.AudioSamples}
		if err := s.book.Statement(st, sig); err != nil {
			if errors.Is(err, session.ErrBadStatement) {
				writeError(w, http.StatusBadRequest, "invalid_statement", err.Error())
				return
			}
			writeError(w, http.StatusInternalServerError, "internal", err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// Best effort: the receipt check tolerates older figures.
	if err := s.book.Stats(sess.JTI, req.BytesReceived, req.FramesDecoded); err != nil {
		s.log.Warn("client stats not stored", "err", err)
	}
	w.WriteHeader(http.StatusNoContent)
}

// authorizeAdmin allows an API key or a host grant for the room, and
// returns the room's node.
func (s *Server) authorizeAdmin(w http.ResponseWriter, r *http.Request) (string, string, bool) {
	if ok, wait := s.adminPerIP.allow(clientIP(r), s.book.Now()); !ok {
		tooMany(w, wait, "too many room-admin calls from "+clientIP(r))
		return "", "", false
	}
	room := r.PathValue("room")
	if err := ValidateRoomName(room); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_room", err.Error())
		return "", "", false
	}
	if app, given := s.apiKey(r); given {
		if app == "" {
			writeError(w, http.StatusUnauthorized, "unknown_api_key", "the API key is not known to this orchestrator")
			return "", "", false
		}
		scope := ScopeAdmin
		if r.Method == http.MethodGet {
			scope = ScopeStats
		}
		if !s.authorizeKey(w, app, scope, room) {
			return "", "", false
		}
	} else {
		sess, _, err := s.bearerSession(r, room)
		if err != nil {
			writeError(w, http.StatusUnauthorized, "invalid_grant", err.Error())
			return "", "", false
		}
		// The role of the grant presented (role changes update every
		// grant of the identity): a later grant of the same identity as a
		// participant does not take a host's authority away.
		if sess.Role != grant.RoleHost {
			writeError(w, http.StatusForbidden, "not_host", "only the room's host may do this")
			return "", "", false
		}
	}
	if !s.owner(w, r, room) {
		return "", "", false
	}
	node, ok := s.book.Node(room)
	if !ok {
		writeError(w, http.StatusNotFound, "room_not_found", "no such room")
		return "", "", false
	}
	return room, node, true
}

func (s *Server) adminCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 5*time.Second)
}

func (s *Server) listParticipants(w http.ResponseWriter, r *http.Request) {
	room, node, ok := s.authorizeAdmin(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.adminCtx(r)
	defer cancel()
	// A cascaded room: each node lists its own participants.
	ps := []Participant{}
	var failed error
	answered := 0
	for _, n := range s.roomNodes(room, node) {
		got, err := s.admin.ListParticipants(ctx, n, room)
		if err != nil {
			failed = err
			continue
		}
		answered++
		ps = append(ps, got...)
	}
	if answered == 0 && failed != nil {
		writeError(w, http.StatusBadGateway, "media_node_error", failed.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"participants": ps})
}

type roleRequest struct {
	Role string `json:"role"`
}

func (s *Server) setRole(w http.ResponseWriter, r *http.Request) {
	room, node, ok := s.authorizeAdmin(w, r)
	if !ok {
		return
	}
	var req roleRequest
	if !readJSON(w, r, &req) {
		return
	}
	role, err := grant.ParseRole(req.Role)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_role", "role must be host, presenter, participant or viewer")
		return
	}
	identity := r.PathValue("identity")
	if session.IsAnonymous(identity) && (role == grant.RoleHost || role == grant.RolePresenter) {
		writeError(w, http.StatusForbidden, "role_not_allowed", "anonymous participants cannot be made host or presenter")
		return
	}
	ctx, cancel := s.adminCtx(r)
	defer cancel()
	perms := s.permissionsFor(room, role)
	if s.book.Hidden(room, identity) {
		// A role change keeps a hidden session hidden and silent.
		perms.Hidden, perms.CanPublish, perms.CanPublishScreen, perms.CanPublishData = true, false, false, false
	}
	if err := s.admin.SetRole(ctx, s.book.NodeOf(room, identity, node), room, identity, role, perms); err != nil {
		writeError(w, http.StatusBadGateway, "media_node_error", err.Error())
		return
	}
	if err := s.book.SetRole(room, identity, role); err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "the media node changed the role but recording it failed: "+err.Error())
		return
	}
	s.cfg.Webhooks.Send(WebhookEvent{Event: EventParticipantUpdated, Room: room, NodeID: node, Participant: &Participant{Identity: identity, Role: string(role)}})
	w.WriteHeader(http.StatusNoContent)
}

type muteRequest struct {
	TrackID string `json:"track_id"`
	Muted   bool   `json:"muted"`
}

func (s *Server) mute(w http.ResponseWriter, r *http.Request) {
	room, node, ok := s.authorizeAdmin(w, r)
	if !ok {
		return
	}
	var req muteRequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.TrackID == "" {
		writeError(w, http.StatusBadRequest, "invalid_track", "track_id is required")
		return
	}
	ctx, cancel := s.adminCtx(r)
	defer cancel()
	identity := r.PathValue("identity")
	if err := s.admin.MuteTrack(ctx, s.book.NodeOf(room, identity, node), room, identity, req.TrackID, req.Muted); err != nil {
		writeError(w, http.StatusBadGateway, "media_node_error", err.Error())
		return
	}
	s.cfg.Webhooks.Send(WebhookEvent{Event: EventTrackMuted, Room: room, NodeID: node, Participant: &Participant{Identity: identity},
		Track: &Track{ID: req.TrackID, Muted: req.Muted}})
	w.WriteHeader(http.StatusNoContent)
}

// remove ends a participant's session; unless ?ban=false it also bans
// the identity (and, for an anonymous one, the address it joined from)
// from the room for the rest of its grants' lifetime. The media node
// revokes the session's grant itself.
func (s *Server) remove(w http.ResponseWriter, r *http.Request) {
	room, node, ok := s.authorizeAdmin(w, r)
	if !ok {
		return
	}
	ban := true
	switch r.URL.Query().Get("ban") {
	case "", "true":
	case "false":
		ban = false
	default:
		writeError(w, http.StatusBadRequest, "invalid_ban", "ban must be true or false")
		return
	}
	identity := r.PathValue("identity")
	ctx, cancel := s.adminCtx(r)
	defer cancel()
	if err := s.admin.RemoveParticipant(ctx, s.book.NodeOf(room, identity, node), room, identity); err != nil {
		writeError(w, http.StatusBadGateway, "media_node_error", err.Error())
		return
	}
	if ban {
		until, err := s.book.Ban(room, identity)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "internal", "the participant was removed but the ban was not stored: "+err.Error())
			return
		}
		s.log.Info("participant banned", "room", room, "identity", identity, "until", until)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) endRoom(w http.ResponseWriter, r *http.Request) {
	room, node, ok := s.authorizeAdmin(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.adminCtx(r)
	defer cancel()
	for _, n := range s.roomNodes(room, node) { // every node of a cascaded room
		if err := s.admin.EndRoom(ctx, n, room); err != nil {
			writeError(w, http.StatusBadGateway, "media_node_error", err.Error())
			return
		}
	}
	// The room's session records stay until their grants expire: the
	// receipts cut when the room ended are checked against them. Its
	// options go: a room joined again starts with the defaults.
	if err := s.book.DeleteOptions(room); err != nil {
		s.log.Warn("room options not deleted", "room", room, "err", err)
	}
	s.cfg.Webhooks.Send(WebhookEvent{Event: EventRoomFinished, Room: room, NodeID: node})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) nodeInfo(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if format.ValidateNodeID(id) != nil {
		writeError(w, http.StatusBadRequest, "invalid_node_id", "node IDs are 40 lowercase hex characters")
		return
	}
	n, ok := s.dir.Node(id)
	if !ok {
		writeError(w, http.StatusNotFound, "node_not_found", "no such node in the registry")
		return
	}
	out := map[string]any{"id": n.ID, "type": n.Type, "moniker": n.Moniker, "region": n.Region, "status": n.Status,
		"operator": n.Operator, "quality_score": n.Quality}
	if s.rewards != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if amount, denom, err := s.rewards.Claimable(ctx, n.Operator); err == nil {
			out["claimable_rewards"] = map[string]string{"denom": denom, "amount": amount}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// claimsFor returns the join grant claims of a session record: its room,
// role (default permissions), subject, audience (its media node), jti and
// lifetime, and name.
func (s *Server) claimsFor(sess session.Record, name string) grant.Claims {
	c := grant.Claims{ChainID: s.cfg.ChainID, Type: grant.TypeJoin, Room: sess.Room, Role: sess.Role, Name: name, App: sess.BillApp, Permissions: s.permissionsFor(sess.Room, sess.Role),
		AudioOnly: s.audioSpace(sess.Room) && sess.Role != grant.RoleRelay}
	if sess.Hidden {
		c.Hidden, c.CanPublish, c.CanPublishScreen, c.CanPublishData = true, false, false, false
	}
	c.Subject, c.Audience, c.ID = sess.Identity, []string{sess.NodeID}, sess.JTI
	c.NotBefore, c.ExpiresAt = jwtTime(sess.IssuedAt.Add(-session.GrantNotBeforeSkew)), jwtTime(sess.ExpiresAt)
	c.IssuedAt = jwtTime(sess.IssuedAt) // exp − iat = GrantTTL, what media nodes bound (grants.max_lifetime)
	return c
}

// roomNodes are the media nodes serving room now (first the room's first
// node; session.Book.ServingNodes); primary alone if none is.
func (s *Server) roomNodes(room, primary string) []string {
	if ns := s.book.ServingNodes(room); len(ns) > 0 {
		return ns
	}
	return []string{primary}
}

// RelayLeg describes one cascade relay leg of a room (GET
// /v1/rooms/{room}/relays): a session of the serving node, billed to the
// room's app like a participant's.
type RelayLeg struct {
	// Server is the serving media node, Puller the node that pulls.
	Server string `json:"server"`
	Puller string `json:"puller"`
	// GrantID is the relay grant's jti; SessionIDs are the usage receipts'
	// session IDs of its connections so far (hex, format.GrantSessionID).
	GrantID    string   `json:"grant_id"`
	SessionIDs []string `json:"session_ids"`
	// Live says the leg is connected now; ConnectedMs is the time of its
	// closed connections and CreditedMs the time of its receipts this
	// orchestrator countersigned, in milliseconds.
	Live        bool  `json:"live"`
	ConnectedMs int64 `json:"connected_ms"`
	CreditedMs  int64 `json:"credited_ms"`
}

// listRelays lists a room's relay legs (cascading) for its admins: which
// nodes relay to which, and what the legs were credited.
func (s *Server) listRelays(w http.ResponseWriter, r *http.Request) {
	room, _, ok := s.authorizeAdmin(w, r)
	if !ok {
		return
	}
	out := []RelayLeg{}
	for _, rec := range s.book.RelayRecords(room) {
		leg := RelayLeg{Server: rec.NodeID, Puller: strings.TrimPrefix(rec.Identity, session.RelayIdentityPrefix), GrantID: rec.JTI,
			SessionIDs: []string{}, Live: !rec.LiveSince.IsZero(), ConnectedMs: rec.ConnectedMs, CreditedMs: rec.CreditedMs}
		for c := uint32(0); c < rec.Joins; c++ {
			leg.SessionIDs = append(leg.SessionIDs, hex.EncodeToString(format.GrantSessionID(s.cfg.Key.ID, rec.JTI, c)))
		}
		out = append(out, leg)
	}
	writeJSON(w, http.StatusOK, map[string]any{"relays": out})
}

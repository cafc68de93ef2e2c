package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/orchestrator/web"
)

// EmbedHandler serves GET /embed?token=<grant>[&name=<display name>]: a
// call page for an <iframe> on an app's own page. The app's backend gets
// the grant with its API key (POST /v1/rooms/{room}/join) and puts it in
// the iframe's URL; the page joins with it (the SDK, /sdk/). Only the
// origins the app's key lists (api.keys[].embed_origins) may frame it —
// the page's CSP frame-ancestors (CSP Level 3 §6.4.2) — so no other site
// can overlay it. A grant that is malformed, expired, for another
// orchestrator or anonymous gets 401/403 with frame-ancestors 'none'.
func (s *Server) EmbedHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		answer, origins, status, err := s.embedGrant(r.URL.Query().Get("token"))
		if err != nil {
			h.Set("Content-Security-Policy", web.ContentSecurityPolicy(nil))
			h.Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(status)
			_, _ = w.Write([]byte("This call link cannot be used: " + err.Error() + "\n"))
			return
		}
		data, err := json.Marshal(answer) // escapes <, > and & for an HTML data block
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		block := `<script type="application/json" id="chroom-grant">` + string(data) + `</script>`
		page := bytes.Replace(web.EmbedPage(), []byte(web.EmbedGrantPlaceholder), []byte(block), 1)
		h.Set("Content-Security-Policy", web.ContentSecurityPolicy(origins))
		h.Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
}

// embedGrant checks an embed page's grant and returns the join answer the
// page connects with and the origins that may frame it.
func (s *Server) embedGrant(token string) (joinResponse, []string, int, error) {
	if token == "" || strings.Count(token, ".") != 2 {
		return joinResponse{}, nil, http.StatusBadRequest, errors.New("add the join grant as ?token=<grant> (your backend gets it with POST /v1/rooms/{room}/join)")
	}
	unverified, err := grant.PeekClaims(token)
	if err != nil {
		return joinResponse{}, nil, http.StatusUnauthorized, err
	}
	sess, ok := s.book.Session(unverified.ID)
	if !ok {
		return joinResponse{}, nil, http.StatusUnauthorized, errors.New("this grant was not issued by this orchestrator or has expired")
	}
	v := &grant.Verifier{Audience: sess.NodeID, ChainID: s.cfg.ChainID, Issuers: selfIssuer{s.cfg.Key}, Now: s.book.Now}
	if _, err := v.Verify(token); err != nil {
		return joinResponse{}, nil, http.StatusUnauthorized, err
	}
	if sess.App == "" {
		return joinResponse{}, nil, http.StatusForbidden, errors.New("anonymous grants cannot be embedded; an app's backend asks for the grant with its API key")
	}
	node, ok := s.dir.Node(sess.NodeID)
	if !ok {
		return joinResponse{}, nil, http.StatusServiceUnavailable, errors.New("the room's media node is not in the registry any more; ask for a new grant")
	}
	ans := joinResponse{Token: token, Room: sess.Room, Role: string(sess.Role), Identity: sess.Identity, ExpiresAtUnix: sess.ExpiresAt.Unix(),
		MediaNode: mediaRef(node), ChainID: s.cfg.ChainID, RoomOptions: s.roomOptionsRef(sess.Room)}
	return ans, s.cfg.KeyPolicies[sess.App].EmbedOrigins, http.StatusOK, nil
}

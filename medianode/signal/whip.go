package signal

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/medianode/sfu"
)

// serveHTTPOffer handles POST /whip (publish) and POST /whep (play): an
// SDP offer in, 201 Created with the SDP answer, a Location for the
// session resource and TURN servers as Link headers out (RFC 9725 §4.2).
func (s *Server) serveHTTPOffer(w http.ResponseWriter, r *http.Request, kind sfu.Kind) {
	action := grant.ActionPublish
	prefix := "/whip/"
	if kind == sfu.KindWHEP {
		action, prefix = grant.ActionSubscribe, "/whep/"
	}
	claims, status, err := s.authenticate(r, action)
	if err != nil {
		httpError(w, status, err.Error())
		return
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/sdp" {
		httpError(w, http.StatusUnsupportedMediaType, "the body must be an SDP offer (Content-Type: application/sdp)")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxMessageBytes))
	if err != nil {
		httpError(w, http.StatusRequestEntityTooLarge, "the SDP offer is larger than 64 KiB")
		return
	}
	if err := checkSDP(string(body)); err != nil {
		httpError(w, http.StatusBadRequest, "malformed SDP offer: "+err.Error())
		return
	}
	jp := sfu.JoinParams{
		Room: claims.Room, Identity: claims.Subject, Name: claims.Name, Role: string(claims.Role),
		Permissions: permissionsOf(claims), Kind: kind,
		GrantID: claims.ID, GrantExpiry: grantExpiry(claims), Issuer: claims.Issuer,
	}
	if kind == sfu.KindWHEP {
		// A WHEP viewer is a separate session from the identity's call.
		jp.Identity = claims.Subject + "#whep-" + newID()[:8]
	}
	if s.Hooks != nil {
		jp.Data = s.Hooks.SessionData(claims, kind)
	}
	p, err := s.SFU.Join(jp)
	if err != nil {
		httpError(w, joinErrorStatus(err), err.Error())
		return
	}
	answer, err := p.HandleOffer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(body)})
	if err != nil {
		p.Close("bad offer")
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	id := newID()
	s.mu.Lock()
	if s.sessions == nil {
		s.sessions = map[string]*httpSession{}
	}
	_, tag := sdpFrag(answer.SDP)
	s.sessions[id] = &httpSession{p: p, tokenHash: hashToken(bearer(r)), tag: tag}
	s.mu.Unlock()
	go func() {
		<-p.Done()
		s.mu.Lock()
		delete(s.sessions, id)
		s.mu.Unlock()
	}()
	if s.ICE != nil {
		for _, l := range s.ICE.LinkHeaders(claims.Subject) {
			w.Header().Add("Link", l)
		}
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", prefix+id)
	w.Header().Set("ETag", tag)
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(answer.SDP))
}

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

// session finds a WHIP/WHEP resource and checks that the caller holds the
// grant that created it.
func (s *Server) session(w http.ResponseWriter, r *http.Request) (*httpSession, bool) {
	s.mu.Lock()
	sess, ok := s.sessions[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		httpError(w, http.StatusNotFound, "no such session")
		return nil, false
	}
	if hashToken(bearer(r)) != sess.tokenHash {
		httpError(w, http.StatusUnauthorized, "this session belongs to another grant")
		return nil, false
	}
	return sess, true
}

// servePatch handles trickle ICE and ICE restarts (RFC 9725 §4.3): an
// application/trickle-ice-sdpfrag body (RFC 8840). With a=candidate lines
// it adds the client's candidates (204). With new a=ice-ufrag and
// a=ice-pwd lines and If-Match: "*" (or the resource's current ETag) it
// restarts ICE (§4.3.2): 200 with the node's new credentials and
// candidates as an sdpfrag and the new ETag; without If-Match, 428.
func (s *Server) servePatch(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.session(w, r)
	if !ok {
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/trickle-ice-sdpfrag" {
		httpError(w, http.StatusUnsupportedMediaType, "PATCH takes application/trickle-ice-sdpfrag")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxMessageBytes))
	if err != nil {
		httpError(w, http.StatusRequestEntityTooLarge, "fragment larger than 64 KiB")
		return
	}
	mid, ufrag, pwd := "", "", ""
	var cands []webrtc.ICECandidateInit
	for _, line := range strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:"):
			pwd = strings.TrimPrefix(line, "a=ice-pwd:")
		case strings.HasPrefix(line, "a=mid:"):
			mid = strings.TrimPrefix(line, "a=mid:")
		case strings.HasPrefix(line, "a=candidate:"):
			c := webrtc.ICECandidateInit{Candidate: strings.TrimPrefix(line, "a=")}
			if mid != "" {
				m := mid
				c.SDPMid = &m
			}
			cands = append(cands, c)
		}
	}
	restart := ufrag != "" || pwd != ""
	if restart {
		match := r.Header.Get("If-Match")
		switch {
		case ufrag == "" || pwd == "":
			httpError(w, http.StatusBadRequest, "an ICE restart needs both a=ice-ufrag and a=ice-pwd")
			return
		case match == "":
			httpError(w, http.StatusPreconditionRequired, "an ICE restart needs If-Match: \"*\" (RFC 9725 §4.3.2)")
			return
		case match != "*" && match != sess.etag():
			httpError(w, http.StatusPreconditionFailed, "If-Match does not match the resource's ETag "+sess.etag())
			return
		}
		local, err := sess.p.RestartICE(ufrag, pwd)
		if err != nil {
			httpError(w, http.StatusUnprocessableEntity, "ICE restart failed: "+err.Error())
			return
		}
		for _, c := range cands {
			if err := sess.p.AddCandidate(c); err != nil {
				httpError(w, http.StatusBadRequest, err.Error())
				return
			}
		}
		frag, tag := sdpFrag(local.SDP)
		sess.setETag(tag)
		w.Header().Set("Content-Type", "application/trickle-ice-sdpfrag")
		w.Header().Set("ETag", sess.etag())
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, frag)
		return
	}
	for _, c := range cands {
		if err := sess.p.AddCandidate(c); err != nil {
			httpError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// sdpFrag returns the ICE part of a local description as an RFC 8840
// fragment — ufrag, pwd, then the first media section's mid and its
// candidates (the session is bundled) — and the ETag naming that ICE
// session (the quoted ufrag).
func sdpFrag(sdp string) (frag, etag string) {
	var b strings.Builder
	ufrag, pwd, mline, mid := "", "", "", ""
	var cands []string
	sections := 0
	for _, line := range strings.Split(strings.ReplaceAll(sdp, "\r\n", "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "m="):
			sections++
			if sections == 1 {
				mline = line
			}
		case strings.HasPrefix(line, "a=ice-ufrag:") && ufrag == "":
			ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:") && pwd == "":
			pwd = strings.TrimPrefix(line, "a=ice-pwd:")
		case strings.HasPrefix(line, "a=mid:") && sections == 1:
			mid = strings.TrimPrefix(line, "a=mid:")
		case strings.HasPrefix(line, "a=candidate:") && sections == 1:
			cands = append(cands, line)
		}
	}
	fmt.Fprintf(&b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", ufrag, pwd)
	if mline != "" {
		fmt.Fprintf(&b, "%s\r\na=mid:%s\r\n", mline, mid)
		for _, c := range cands {
			b.WriteString(c + "\r\n")
		}
	}
	return b.String(), `"` + ufrag + `"`
}

// serveDelete ends a WHIP/WHEP session (RFC 9725 §4.4).
func (s *Server) serveDelete(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.session(w, r)
	if !ok {
		return
	}
	sess.p.Close("session deleted")
	w.WriteHeader(http.StatusOK)
}

func (s *Server) serveOptions(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Accept-Post", "application/sdp")
	w.Header().Set("Accept-Patch", "application/trickle-ice-sdpfrag")
	w.WriteHeader(http.StatusNoContent)
}

// checkSDP parses an offer with pion/sdp and requires at least one media
// section, so garbage is refused before it reaches the PeerConnection.
func checkSDP(s string) error {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		return err
	}
	if len(d.MediaDescriptions) == 0 {
		return errNoMedia
	}
	return nil
}

type sdpError string

func (e sdpError) Error() string { return string(e) }

const errNoMedia = sdpError("the offer has no media section")

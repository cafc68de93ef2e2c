package turn

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // HMAC-SHA1 is what the TURN REST API and every browser-facing TURN server use.
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

const (
	// maxEscapedIdentityBytes bounds the identity part of a username. Longer
	// escaped identities are replaced by "~" and the hex SHA-256 of the raw
	// identity, which keeps the USERNAME attribute well under its 513-byte
	// limit (RFC 8489 §14.3) and the quota key stable.
	maxEscapedIdentityBytes = 256

	// maxExpiryDigits is the number of decimal digits of the largest int64.
	maxExpiryDigits = 19

	upperHex = "0123456789ABCDEF"
)

var (
	errUsernameFormat = errors.New("username is not <unix expiry>:<identity>")
	errIdentityFormat = errors.New("username identity has characters Credentials never emits")
)

// Credentials mints TURN credentials for identity in the TURN REST API style
// (draft-uberti-behave-turn-rest-00 §2.2, coturn's use-auth-secret):
//
//	username = "<unix expiry seconds>:<escaped identity>"
//	password = base64(HMAC-SHA1(Config.Secret, username))
//
// The credentials stop working at expires, which is now plus
// Config.CredentialTTL, truncated to the second. In the identity, bytes other
// than ASCII letters, digits and "-._@" are percent-encoded (so ':' becomes
// "%3A" and the username stays printable ASCII); an escaped identity longer
// than 256 bytes is replaced by "~" and its hex SHA-256. The escaped identity
// is what the per-user allocation quota counts.
func (s *Server) Credentials(identity string, now time.Time) (username, password string, expires time.Time) {
	expiry := now.Add(s.cfg.CredentialTTL).Unix()
	username = strconv.FormatInt(expiry, 10) + ":" + escapeIdentity(identity)
	return username, s.password(username), time.Unix(expiry, 0)
}

// password is the TURN REST password for username.
func (s *Server) password(username string) string {
	mac := hmac.New(sha1.New, s.cfg.Secret)
	mac.Write([]byte(username)) //nolint:errcheck // hash.Hash writes never fail
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// parseUsername splits a username minted by Credentials into its expiry
// (Unix seconds) and escaped identity.
func parseUsername(username string) (expiry int64, identity string, err error) {
	ts, identity, ok := strings.Cut(username, ":")
	if !ok || ts == "" || len(ts) > maxExpiryDigits {
		return 0, "", errUsernameFormat
	}
	for i := 0; i < len(ts); i++ {
		if ts[i] < '0' || ts[i] > '9' {
			return 0, "", errUsernameFormat
		}
	}
	expiry, err = strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return 0, "", errUsernameFormat
	}
	if len(identity) > maxEscapedIdentityBytes {
		return 0, "", errIdentityFormat
	}
	for i := 0; i < len(identity); i++ {
		if c := identity[i]; !identitySafe(c) && c != '%' && c != '~' {
			return 0, "", errIdentityFormat
		}
	}
	return expiry, identity, nil
}

// escapeIdentity percent-encodes every byte of id outside [A-Za-z0-9-._@],
// and hashes the result if it would be too long. '~' is always encoded, so a
// hashed identity cannot collide with an escaped one.
func escapeIdentity(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if identitySafe(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&0x0f])
	}
	if b.Len() > maxEscapedIdentityBytes {
		sum := sha256.Sum256([]byte(id))
		return "~" + hex.EncodeToString(sum[:])
	}
	return b.String()
}

func identitySafe(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '@'
}

// ICEServer returns the WebRTC ICE server entry for a TURN relay reached at
// urls (e.g. "turn:203.0.113.7:3478?transport=udp") with credentials from
// Server.Credentials.
func ICEServer(urls []string, username, password string) webrtc.ICEServer {
	return webrtc.ICEServer{
		URLs:           append([]string(nil), urls...),
		Username:       username,
		Credential:     password,
		CredentialType: webrtc.ICECredentialTypePassword,
	}
}

// LinkHeader formats the value of one Link header that advertises a TURN
// server on a WHIP/WHEP answer (RFC 9725 §4.6, RFC 8288):
//
//	<turn:host:port?transport=udp>; rel="ice-server"; username="…"; credential="…"; credential-type="password"
//
// Characters that may not appear between '<' and '>' (controls, space, '<',
// '>', '"' and non-ASCII) are percent-encoded in url. username and password
// become quoted-strings (RFC 9110 §5.6.4) with '"' and '\' backslash-escaped;
// control characters other than HTAB cannot be carried by a quoted-string and
// are dropped, so the value can never split the header. Credentials from
// Server.Credentials contain none of these characters.
func LinkHeader(url, username, password string) string {
	var b strings.Builder
	b.WriteByte('<')
	for i := 0; i < len(url); i++ {
		c := url[i]
		if c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' {
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&0x0f])
			continue
		}
		b.WriteByte(c)
	}
	b.WriteString(`>; rel="ice-server"; username=`)
	writeQuoted(&b, username)
	b.WriteString("; credential=")
	writeQuoted(&b, password)
	b.WriteString(`; credential-type="password"`)
	return b.String()
}

// writeQuoted writes s as an RFC 9110 quoted-string.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t' || c >= ' ' && c != 0x7f:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

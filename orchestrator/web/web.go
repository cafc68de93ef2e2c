// Package web serves the browser client people use to call (DESIGN.md §5):
// plain HTML, CSS and JavaScript modules embedded in the orchestrator
// binary, with no build step. The client talks to the orchestrator's
// /v1 API and to the media node's WebSocket signaling.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	jssdk "github.com/chroom/chroom/sdk/js"
)

//go:embed static
var static embed.FS

// contentTypes are the media types of the embedded files by extension, so
// answers do not depend on the host's MIME tables (a JavaScript module
// served as text/plain is refused by browsers).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".json": "application/json",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".txt":  "text/plain; charset=utf-8",
	".ts":   "text/plain; charset=utf-8",
	".md":   "text/markdown; charset=utf-8",
}

// contentSecurityPolicy allows only the client's own scripts and styles.
// connect-src stays open: the media node's WebSocket and another
// orchestrator (after a room redirect) are on other origins.
var contentSecurityPolicy = ContentSecurityPolicy(nil)

// ContentSecurityPolicy is the web client's CSP with frame-ancestors
// listing origins ('none' when there are none: no page may frame it).
// Origins must be validated (config.ValidOrigin): they are copied as is.
func ContentSecurityPolicy(origins []string) string {
	ancestors := "'none'"
	if len(origins) > 0 {
		ancestors = strings.Join(origins, " ")
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
		"media-src 'self' blob: mediastream:; connect-src 'self' http: https: ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors " + ancestors
}

// EmbedGrantPlaceholder is the JSON data block of embed.html that the
// /embed handler replaces with the call's join answer.
const EmbedGrantPlaceholder = `<script type="application/json" id="chroom-grant">null</script>`

// EmbedPage returns static/embed.html, whose EmbedGrantPlaceholder's
// "null" the /embed handler replaces (the whole placeholder, with the
// same element holding the JSON).
func EmbedPage() []byte {
	loadOnce.Do(load)
	return files["/embed.html"].content
}

type file struct {
	content     []byte
	contentType string
	etag        string
}

var (
	loadOnce sync.Once
	files    map[string]file // by URL path, "/index.html"
)

func load() {
	files = map[string]file{}
	root, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the folder
	}
	add(root, "/")
	add(jssdk.FS, "/sdk/") // @chroom/client, which the web client is built on
}

// add serves every file of root under prefix.
func add(root fs.FS, prefix string) {
	err := fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, name)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(b)
		files[prefix+name] = file{content: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		panic(err) // reading an embedded FS does not fail
	}
}

// Handler serves the web client: GET and HEAD of / (index.html) and of
// every file under static/, and of the JavaScript SDK under /sdk/ (with
// Access-Control-Allow-Origin: *), with its content type, a strong ETag and
// Cache-Control: no-cache, so browsers revalidate and pick up a new build at
// once. Unknown paths get 404 and other methods 405. Mount it at "/".
func Handler() http.Handler {
	loadOnce.Do(load)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := path.Clean("/" + r.URL.Path)
		if name == "/" {
			name = "/index.html"
		}
		f, ok := files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", f.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if strings.HasPrefix(name, "/sdk/") {
			// Module scripts load in CORS mode: an app's page on another
			// origin may import the SDK from here.
			h.Set("Access-Control-Allow-Origin", "*")
		}
		if strings.HasPrefix(f.contentType, "text/html") {
			h.Set("Content-Security-Policy", contentSecurityPolicy)
		}
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.content))
	})
}

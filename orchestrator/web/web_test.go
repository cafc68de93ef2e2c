package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chroom/chroom/orchestrator/web"
)

func TestHandler(t *testing.T) {
	h := web.Handler()
	tests := []struct {
		name        string
		method      string
		path        string
		wantStatus  int
		wantType    string
		wantContain string
	}{
		{"index at root", http.MethodGet, "/", http.StatusOK, "text/html; charset=utf-8", "<title>Chroom</title>"},
		{"index with query", http.MethodGet, "/?room=demo", http.StatusOK, "text/html; charset=utf-8", `src="js/app.js"`},
		{"module", http.MethodGet, "/js/app.js", http.StatusOK, "text/javascript; charset=utf-8", "window.chroom"},
		{"every module", http.MethodGet, "/js/call.js", http.StatusOK, "text/javascript; charset=utf-8", "export class Call"},
		{"stylesheet", http.MethodGet, "/style.css", http.StatusOK, "text/css; charset=utf-8", ".tiles"},
		{"icon", http.MethodGet, "/favicon.svg", http.StatusOK, "image/svg+xml", "<svg"},
		{"head", http.MethodHead, "/js/api.js", http.StatusOK, "text/javascript; charset=utf-8", ""},
		{"unknown file", http.MethodGet, "/nope.js", http.StatusNotFound, "", ""},
		{"directory", http.MethodGet, "/js/", http.StatusNotFound, "", ""},
		{"dot segments stay inside", http.MethodGet, "/js/../../web.go", http.StatusNotFound, "", ""},
		{"post", http.MethodPost, "/", http.StatusMethodNotAllowed, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.wantStatus {
				t.Fatalf("%s %s: status %d, want %d", tc.method, tc.path, rec.Code, tc.wantStatus)
			}
			if tc.wantStatus != http.StatusOK {
				return
			}
			if got := rec.Header().Get("Content-Type"); got != tc.wantType {
				t.Errorf("Content-Type %q, want %q", got, tc.wantType)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control %q, want no-cache", got)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			if tc.wantContain != "" && !strings.Contains(rec.Body.String(), tc.wantContain) {
				t.Errorf("body does not contain %q", tc.wantContain)
			}
		})
	}
}

func TestHandlerRevalidates(t *testing.T) {
	h := web.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/js/app.js", nil))
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	req := httptest.NewRequest(http.MethodGet, "/js/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("If-None-Match %s: status %d, want 304", etag, rec.Code)
	}
}

func TestIndexHasContentSecurityPolicy(t *testing.T) {
	rec := httptest.NewRecorder()
	web.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "connect-src 'self' http: https: ws: wss:"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
}

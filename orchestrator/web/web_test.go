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
		{"the SDK", http.MethodGet, "/sdk/index.js", http.StatusOK, "text/javascript; charset=utf-8", "export { Room"},
		{"the SDK's modules", http.MethodGet, "/sdk/src/room.js", http.StatusOK, "text/javascript; charset=utf-8", "export class Room"},
		{"the SDK's types", http.MethodGet, "/sdk/index.d.ts", http.StatusOK, "text/plain; charset=utf-8", "export declare class Room"},
		{"not the SDK's tests", http.MethodGet, "/sdk/test/rtt.test.js", http.StatusNotFound, "", ""},
		{"stylesheet", http.MethodGet, "/style.css", http.StatusOK, "text/css; charset=utf-8", ".tiles"},
		{"icon", http.MethodGet, "/favicon.svg", http.StatusOK, "image/svg+xml", "<svg"},
		{"head", http.MethodHead, "/sdk/src/api.js", http.StatusOK, "text/javascript; charset=utf-8", ""},
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

// TestSDKLoadsFromOtherOrigins: an app's page on another origin imports
// the SDK from its orchestrator; module scripts load in CORS mode.
func TestSDKLoadsFromOtherOrigins(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/sdk/index.js", nil)
	req.Header.Set("Origin", "https://app.example")
	web.Handler().ServeHTTP(rec, req)
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "*" {
		t.Fatalf("Access-Control-Allow-Origin %q, want *", got)
	}
	rec = httptest.NewRecorder()
	web.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/js/app.js", nil))
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("the web client's own modules are not shared: Access-Control-Allow-Origin %q", got)
	}
}

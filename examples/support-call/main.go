// Command support-call is an example app on the Chroom network: a
// support page with a "Call us" button. Its backend holds the app's API
// key, asks the orchestrator for a join grant for the visitor (POST
// /v1/rooms/{room}/join), and the page shows the call in an <iframe> of
// the orchestrator's /embed page. The agent joins the same room from the
// web client (or their own tool). See README.md.
//
//	go run ./examples/support-call -orchestrator http://127.0.0.1:7800 -api-key <key> -listen 127.0.0.1:7900
//
// The API key must list this page's origin in embed_origins (make demo
// EMBED_ORIGINS=http://127.0.0.1:7900), or the browser refuses the frame.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"time"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Example Co. support</title>
<style>body{font:16px system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}iframe{width:100%;height:30rem;border:1px solid #ccc;border-radius:8px}</style>
</head><body>
<h1>Example Co. support</h1>
{{if .Embed}}
<p>You are in room <code>{{.Room}}</code>. An agent will join you shortly.</p>
<iframe src="{{.Embed}}" allow="camera; microphone; autoplay; display-capture" title="Support call"></iframe>
<p>Agents: join from <a href="{{.AgentURL}}">{{.AgentURL}}</a>.</p>
{{else}}
<form method="post" action="/call">
  <label>Your name <input name="name" required maxlength="64" autocomplete="name"></label>
  <button>Call us</button>
</form>
{{end}}
</body></html>`))

type joinAnswer struct {
	Token string `json:"token"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

var nameRE = regexp.MustCompile(`^[\pL\pN .'-]{1,64}$`)

func main() {
	orch := flag.String("orchestrator", "http://127.0.0.1:7800", "the orchestrator's public URL")
	key := flag.String("api-key", os.Getenv("CHROOM_API_KEY"), "the app's API key (or $CHROOM_API_KEY)")
	listen := flag.String("listen", "127.0.0.1:7900", "where this example serves its page")
	flag.Parse()
	if *key == "" {
		log.Fatal("give the app's API key with -api-key or CHROOM_API_KEY (make demo prints it)")
	}
	client := &http.Client{Timeout: 10 * time.Second}

	http.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { _ = page.Execute(w, nil) })
	http.HandleFunc("POST /call", func(w http.ResponseWriter, r *http.Request) {
		name := r.FormValue("name")
		if !nameRE.MatchString(name) {
			http.Error(w, "enter your name (letters, digits, spaces; at most 64)", http.StatusBadRequest)
			return
		}
		var id [6]byte
		_, _ = rand.Read(id[:])
		visitor := "visitor-" + hex.EncodeToString(id[:])
		room := "support-" + hex.EncodeToString(id[:4])
		body, _ := json.Marshal(map[string]string{"identity": visitor, "name": name, "role": "participant"})
		req, _ := http.NewRequest(http.MethodPost, *orch+"/v1/rooms/"+room+"/join", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+*key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, "the call service is unreachable: "+err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var ans joinAnswer
		if err := json.Unmarshal(raw, &ans); err != nil || ans.Token == "" {
			msg := string(raw)
			if ans.Error != nil {
				msg = ans.Error.Message
			}
			http.Error(w, fmt.Sprintf("the call service refused the call (HTTP %d): %s", resp.StatusCode, msg), http.StatusBadGateway)
			return
		}
		embed := *orch + "/embed?" + url.Values{"token": {ans.Token}, "name": {name}}.Encode()
		agent := *orch + "/?" + url.Values{"room": {room}, "name": {"Agent"}}.Encode()
		_ = page.Execute(w, map[string]any{"Room": room, "Embed": template.URL(embed), "AgentURL": template.URL(agent)})
	})
	log.Printf("support page on http://%s (orchestrator %s)", *listen, *orch)
	srv := &http.Server{Addr: *listen, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

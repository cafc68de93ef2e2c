package api

// openAPI is the OpenAPI 3.1 description of the API, served at
// /v1/openapi.json.
var openAPI = []byte(`{
  "openapi": "3.1.0",
  "info": {"title": "Chroom orchestrator API", "version": "1.0.0",
    "description": "Join grants for Chroom rooms, room administration, client statistics and node information. Errors are {\"error\":{\"code\",\"message\"}}. A 307 points to the orchestrator that owns the room; repeat the request there."},
  "components": {
    "securitySchemes": {
      "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
      "grant": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (join grant)"}
    },
    "schemas": {
      "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
      "JoinRequest": {"type": "object", "additionalProperties": false, "properties": {
        "identity": {"type": "string", "minLength": 1, "maxLength": 128, "description": "required with an API key (the grant's identity is <app>:<identity>); refused without one (anonymous joins get guest-<hex>)"},
        "name": {"type": "string", "maxLength": 128, "description": "display name, free text"},
        "role": {"type": "string", "enum": ["host", "presenter", "participant", "viewer"], "description": "host and presenter only with an API key; default: an app's first participant is host, others participant; anonymous joins never host"},
        "region": {"type": "string", "description": "ISO 3166-1 alpha-2 region preferred for a new room"},
        "hidden": {"type": "boolean", "description": "API keys only: the others are not told of this session (a recorder, a moderator watching); it may not publish media or data"},
        "unreachable_node": {"type": "string", "description": "the room's media node, when joining again because it stopped answering: the orchestrator probes it and moves the room if it is down"},
        "rtt_ms": {"type": "object", "maxProperties": 8, "additionalProperties": {"type": "number", "exclusiveMinimum": 0, "maximum": 60000},
          "description": "measured round-trip times in ms to the nodes GET /v1/rooms/{room}/placement named, by node ID; a new room goes to the nearest"}}},
      "JoinResponse": {"type": "object", "properties": {
        "token": {"type": "string", "description": "join grant: JWT signed EdDSA (RFC 8037) by this orchestrator's node key"},
        "room": {"type": "string"}, "role": {"type": "string"}, "identity": {"type": "string"},
        "expires_at_unix": {"type": "integer"},
        "media_node": {"$ref": "#/components/schemas/MediaNode"},
        "chain_id": {"type": "string"},
        "room_options": {"type": "object", "description": "what the app set with POST /v1/rooms (defaults otherwise)", "properties": {
          "mode": {"type": "string", "enum": ["call", "audio_space"]}, "max_participants": {"type": "integer"}, "metadata": {"type": "string"}, "realtime_text": {"type": "boolean"}}}}},
      "CreateRoom": {"type": "object", "additionalProperties": false, "required": ["name"], "properties": {
        "name": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
        "mode": {"type": "string", "enum": ["call", "audio_space"], "default": "call"},
        "max_participants": {"type": "integer", "minimum": 0, "maximum": 10000, "description": "people in the room at once; 0: no limit; joins past it get 409 room_full"},
        "empty_timeout_s": {"type": "integer", "minimum": 0, "maximum": 604800, "description": "the options are forgotten after this long with nobody in the room; 0: 300"},
        "metadata": {"type": "string", "maxLength": 4096, "description": "the app's, given to every client in room_options"},
        "realtime_text": {"type": "boolean", "description": "live text (T.140 over the data channel) on in the clients"}}},
      "Room": {"type": "object", "properties": {"name": {"type": "string"}, "mode": {"type": "string"}, "max_participants": {"type": "integer"}, "empty_timeout_s": {"type": "integer"},
        "metadata": {"type": "string"}, "realtime_text": {"type": "boolean"}, "num_participants": {"type": "integer", "description": "people in it now (connected, or granted < 30 s ago)"},
        "media_nodes": {"type": "array", "items": {"type": "string"}}, "created_at_unix": {"type": "integer"}, "created": {"type": "boolean", "description": "an app created it (else it exists because someone joined)"}}},
      "MediaNode": {"type": "object", "properties": {"id": {"type": "string"}, "ws_url": {"type": "string"}, "whip_url": {"type": "string"}, "whep_url": {"type": "string"},
        "ping_url": {"type": "string", "description": "answers GET with 204 from any origin: time it to measure the round-trip time to the node"}, "region": {"type": "string"}}},
      "Participant": {"type": "object", "properties": {"identity": {"type": "string"}, "name": {"type": "string"}, "role": {"type": "string"}, "joined_at_unix_ms": {"type": "integer"},
        "metadata": {"type": "string"}, "attributes": {"type": "object", "additionalProperties": {"type": "string"}},
        "tracks": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "kind": {"type": "string"}, "source": {"type": "string"}, "muted": {"type": "boolean"}}}}}}
    },
    "parameters": {
      "room": {"name": "room", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}},
      "identity": {"name": "identity", "in": "path", "required": true, "schema": {"type": "string"}}
    },
    "responses": {
      "Error": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
  },
  "paths": {
    "/v1/rooms": {
      "post": {"summary": "Create a room with options, or replace the options of one (API key, admin scope)",
        "security": [{"apiKey": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateRoom"}}}},
        "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Room"}}}},
          "200": {"description": "options replaced", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Room"}}}},
          "307": {"description": "another orchestrator owns the room"}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}}},
      "get": {"summary": "List the rooms this orchestrator serves that the key's app created or holds grants in (API key, stats scope)",
        "security": [{"apiKey": []}],
        "responses": {"200": {"description": "rooms", "content": {"application/json": {"schema": {"type": "object", "properties": {"rooms": {"type": "array", "items": {"$ref": "#/components/schemas/Room"}}}}}}},
          "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}}}},
    "/v1/rooms/{room}/placement": {"get": {"summary": "The media nodes to measure (GET their ping_url) before joining; send the times as the join's rtt_ms",
      "parameters": [{"$ref": "#/components/parameters/room"}, {"name": "region", "in": "query", "required": false, "schema": {"type": "string", "maxLength": 32}}],
      "responses": {"200": {"description": "nodes", "content": {"application/json": {"schema": {"type": "object", "properties": {
          "room": {"type": "string"}, "placed": {"type": "boolean", "description": "the room is live on the one node named"},
          "nodes": {"type": "array", "items": {"$ref": "#/components/schemas/MediaNode"}}}}}}},
        "307": {"description": "another orchestrator owns the room"}, "400": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}}}},
    "/v1/rooms/{room}/join": {"post": {"summary": "Get a join grant and the media node to connect to",
      "security": [{"apiKey": []}, {}], "parameters": [{"$ref": "#/components/parameters/room"}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JoinRequest"}}}},
      "responses": {"200": {"description": "grant", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JoinResponse"}}}},
        "307": {"description": "another orchestrator owns the room"}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
        "403": {"$ref": "#/components/responses/Error"}, "409": {"description": "room_full: the room has its max_participants", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "413": {"$ref": "#/components/responses/Error"},
        "429": {"description": "rate limited; see Retry-After", "headers": {"Retry-After": {"schema": {"type": "integer"}}}}, "503": {"$ref": "#/components/responses/Error"}}}},
    "/v1/rooms/{room}/stats": {"post": {"summary": "Report the client's received bytes and decoded frames (totals since joining)",
      "security": [{"grant": []}], "parameters": [{"$ref": "#/components/parameters/room"}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "properties": {"bytes_received": {"type": "integer"}, "frames_decoded": {"type": "integer"}}}}}},
      "responses": {"204": {"description": "recorded"}, "401": {"$ref": "#/components/responses/Error"}}}},
    "/v1/rooms/{room}/participants": {"get": {"summary": "List participants (host grant or API key)",
      "security": [{"apiKey": []}, {"grant": []}], "parameters": [{"$ref": "#/components/parameters/room"}],
      "responses": {"200": {"description": "participants", "content": {"application/json": {"schema": {"type": "object", "properties": {"participants": {"type": "array", "items": {"$ref": "#/components/schemas/Participant"}}}}}}},
        "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/v1/rooms/{room}/relays": {"get": {"summary": "List the room's cascade relay legs between media nodes, with their connected and credited time (host grant or API key)",
      "security": [{"apiKey": []}, {"grant": []}], "parameters": [{"$ref": "#/components/parameters/room"}],
      "responses": {"200": {"description": "relay legs", "content": {"application/json": {"schema": {"type": "object", "properties": {"relays": {"type": "array", "items": {"type": "object", "properties": {
        "server": {"type": "string"}, "puller": {"type": "string"}, "grant_id": {"type": "string"}, "session_ids": {"type": "array", "items": {"type": "string"}},
        "live": {"type": "boolean"}, "connected_ms": {"type": "integer"}, "credited_ms": {"type": "integer"}}}}}}}}},
        "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/v1/rooms/{room}/participants/{identity}/role": {"post": {"summary": "Promote or demote a participant (host grant or API key)",
      "security": [{"apiKey": []}, {"grant": []}], "parameters": [{"$ref": "#/components/parameters/room"}, {"$ref": "#/components/parameters/identity"}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {"role": {"type": "string", "enum": ["host", "presenter", "participant", "viewer"]}}}}}},
      "responses": {"204": {"description": "done"}, "400": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}}}},
    "/v1/rooms/{room}/participants/{identity}/mute": {"post": {"summary": "Mute or unmute a participant's track (host grant or API key)",
      "security": [{"apiKey": []}, {"grant": []}], "parameters": [{"$ref": "#/components/parameters/room"}, {"$ref": "#/components/parameters/identity"}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {"track_id": {"type": "string"}, "muted": {"type": "boolean"}}}}}},
      "responses": {"204": {"description": "done"}, "400": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}}}},
    "/v1/rooms/{room}/data": {"post": {"summary": "Send the app's data message to the room's participants, or to some (host grant or API key); clients get {from: \"\", server: true, payload}",
      "security": [{"apiKey": []}, {"grant": []}], "parameters": [{"$ref": "#/components/parameters/room"}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "required": ["payload"], "properties": {
        "payload": {"description": "any JSON value, at most 61440 bytes"}, "destination_identities": {"type": "array", "items": {"type": "string"}, "description": "empty: everyone"}}}}}},
      "responses": {"200": {"description": "sent", "content": {"application/json": {"schema": {"type": "object", "properties": {"delivered": {"type": "integer"}}}}}},
        "400": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}, "502": {"$ref": "#/components/responses/Error"}}}},
    "/v1/rooms/{room}/participants/{identity}/subscriptions": {"post": {"summary": "Subscribe a participant to tracks, or unsubscribe it (host grant or API key)",
      "security": [{"apiKey": []}, {"grant": []}], "parameters": [{"$ref": "#/components/parameters/room"}, {"$ref": "#/components/parameters/identity"}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "properties": {
        "track_ids": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "string"}}, "subscribe": {"type": "boolean"}}}}}},
      "responses": {"204": {"description": "done"}, "400": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "502": {"$ref": "#/components/responses/Error"}}}},
    "/v1/rooms/{room}/participants/{identity}": {
      "get": {"summary": "One participant as its media node knows it (host grant or API key)",
        "security": [{"apiKey": []}, {"grant": []}], "parameters": [{"$ref": "#/components/parameters/room"}, {"$ref": "#/components/parameters/identity"}],
        "responses": {"200": {"description": "the participant", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Participant"}}}},
          "404": {"$ref": "#/components/responses/Error"}, "502": {"$ref": "#/components/responses/Error"}}},
      "patch": {"summary": "Change a participant's name, metadata, attributes (merged; empty value deletes) or permissions (host grant or API key)",
        "security": [{"apiKey": []}, {"grant": []}], "parameters": [{"$ref": "#/components/parameters/room"}, {"$ref": "#/components/parameters/identity"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "minProperties": 1, "properties": {
          "name": {"type": "string", "maxLength": 128}, "metadata": {"type": "string", "maxLength": 4096},
          "attributes": {"type": "object", "maxProperties": 32, "additionalProperties": {"type": "string", "maxLength": 256}},
          "permission": {"type": "object", "additionalProperties": false, "properties": {"can_publish": {"type": "boolean"}, "can_subscribe": {"type": "boolean"},
            "can_publish_data": {"type": "boolean"}, "can_publish_screen": {"type": "boolean"},
            "can_publish_sources": {"type": "array", "items": {"type": "string", "enum": ["camera", "microphone", "screen", "screen_audio"]}, "description": "empty: any the flags allow"},
            "hidden": {"type": "boolean", "description": "hide the participant from the others (it may then not publish); false shows it"}}}}}}}},
        "responses": {"200": {"description": "the participant now", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Participant"}}}},
          "400": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}, "502": {"$ref": "#/components/responses/Error"}}},
      "delete": {"summary": "Remove a participant (host grant or API key); unless ban=false, the identity may not rejoin the room while its grant would have lasted",
      "security": [{"apiKey": []}, {"grant": []}], "parameters": [{"$ref": "#/components/parameters/room"}, {"$ref": "#/components/parameters/identity"},
        {"name": "ban", "in": "query", "required": false, "schema": {"type": "boolean", "default": true}}],
      "responses": {"204": {"description": "removed"}, "400": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "429": {"description": "rate limited; see Retry-After"}}}},
    "/v1/rooms/{room}": {
      "get": {"summary": "One room (API key, stats scope)", "security": [{"apiKey": []}], "parameters": [{"$ref": "#/components/parameters/room"}],
        "responses": {"200": {"description": "the room", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Room"}}}},
          "307": {"description": "another orchestrator owns the room"}, "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}},
      "delete": {"summary": "End the room (host grant or API key)",
      "security": [{"apiKey": []}, {"grant": []}], "parameters": [{"$ref": "#/components/parameters/room"}],
      "responses": {"204": {"description": "ended"}, "403": {"$ref": "#/components/responses/Error"}}}},
    "/v1/nodes/{id}": {"get": {"summary": "A registered node and its operator's claimable rewards",
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[0-9a-f]{40}$"}}],
      "responses": {"200": {"description": "node"}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/v1/network": {"get": {"summary": "Every registered node: status, region, quality score; media nodes' QoS probe health, last probe and score history; operators' claimable rewards (the web client's network page; read at most every 5 s)",
      "responses": {"200": {"description": "{nodes: [{id, type, moniker, region, status, operator, quality_score, claimable_rewards?, health?: {score, consecutive_failed_probes, probes_passed, probes_failed, last_probed_epoch, last_probe?, history: [{epoch, probed, probe_quality, client_seconds, client_quality, score}]}}]}"}, "404": {"$ref": "#/components/responses/Error"}}}},
    "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "alive"}}}},
    "/readyz": {"get": {"summary": "Readiness: registry loaded and at least one ACTIVE media node reporting load", "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}}}},
    "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "metrics"}}}}
  }
}`)

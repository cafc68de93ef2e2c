// Package turn is the media node's embedded TURN relay (RFC 8656), built on
// pion/turn v4, for clients that cannot reach the SFU directly.
//
// The node opens the UDP socket and the TCP listener itself and hands them
// to New (DESIGN.md §4; livekit's pkg/service/turn.go is the model). Clients
// authenticate with short-lived credentials in the TURN REST API style
// (draft-uberti-behave-turn-rest-00): the node mints them with
// Server.Credentials for holders of a valid join grant and hands them out in
// the WebSocket join answer (ICEServer) and as RFC 9725 §4.6 Link headers on
// WHIP/WHEP answers (LinkHeader). No other state is shared: any node that
// knows the secret can check them.
//
// pion/turn admits every peer by default; this server refuses relaying to
// loopback, private, link-local, CGNAT, documentation, multicast and other
// special-use addresses (PeerAllowed), so a relay cannot be used to reach
// the node's own services, its cloud metadata endpoint or its LAN. A
// per-identity quota bounds the allocations one grant holder can make.
//
// Server owns no goroutines of its own; pion/turn runs one read loop per
// socket, one per accepted TCP connection and one per allocation, and
// Server.Close closes every socket those loops read from, so all of them
// end.
package turn

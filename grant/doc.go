// Package grant issues and verifies join grants (DESIGN.md §3, §4).
//
// A join grant is a JWT (RFC 7519) in JWS compact serialization, signed with
// EdDSA over Ed25519 (RFC 8037) by the issuing orchestrator's node key. Its
// header is {"alg":"EdDSA","typ":"JWT"} and its claims are
//
//	iss  orchestrator node ID (40 lowercase hex characters)
//	sub  participant identity
//	aud  media node ID, a single string
//	exp, nbf, iat  NumericDate, whole seconds since the Unix epoch
//	jti  unique grant ID (32 hex characters when Issue generates it)
//	room, role, name (optional)
//	can_publish, can_subscribe, can_publish_data, can_publish_screen, can_admin
//
// The orchestrator calls Issue; a media node calls Verifier.Verify on the
// bearer token of every WebSocket, WHIP and WHEP request and then
// Claims.Allow before each action. A grant is accepted only if its issuer is
// an ACTIVE orchestrator in the registry (see Issuers), its aud is the node
// itself and it has not expired.
//
// The package does not import the Cosmos SDK: media nodes link it.
package grant

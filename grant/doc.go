// Package grant issues and verifies join grants (DESIGN.md §3, §4).
//
// A join grant is a JWT (RFC 7519) in JWS compact serialization, signed with
// EdDSA over Ed25519 (RFC 8037) by the issuing orchestrator's node key. Its
// header is {"alg":"EdDSA","typ":"JWT"} and its claims are
//
//	iss       orchestrator node ID (40 lowercase hex characters)
//	sub       participant identity
//	aud       media node ID, a single string
//	exp, nbf, iat  NumericDate, whole seconds since the Unix epoch
//	jti       unique grant ID (32 hex characters when Issue generates it)
//	chain_id  the chain the issuer and the media node belong to
//	gty       the grant type: TypeJoin, "chroom/join-grant/v1"
//	room, role, name (optional)
//	can_publish, can_subscribe, can_publish_data, can_publish_screen, can_admin
//
// chain_id and gty are the grant's domain separation (DESIGN.md §1): the
// off-chain objects that node keys sign bind the chain ID and the object
// type into their signing bytes, and a grant, whose signing input is fixed
// by JWS, binds them as claims instead. A media node accepts a grant only
// for the chain it serves and only of type TypeJoin, so a grant cannot be
// replayed on another network, and a token another Chroom component signs
// with the same orchestrator key for another purpose cannot pass as a join
// grant.
//
// The orchestrator calls Issue; a media node calls Verifier.Verify on the
// bearer token of every WebSocket, WHIP and WHEP request and then
// Claims.Allow before each action. A grant is accepted only if its issuer is
// an ACTIVE orchestrator in the registry (see Issuers), its chain_id is the
// node's chain, its gty is TypeJoin, its aud is the node itself, it has not
// expired, and it was not issued to live (exp − iat) longer than the node's
// maximum grant lifetime (Verifier.MaxLifetime).
//
// The package does not import the Cosmos SDK: media nodes link it.
package grant

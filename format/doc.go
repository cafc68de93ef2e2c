// Package format holds the formats that the Chroom chain, orchestrators and
// media nodes share: the ed25519 node key file, node IDs and the
// domain-separated bytes every off-chain signature covers (DESIGN.md §1).
//
// The package must not import the Cosmos SDK: the media node links it and
// never links the SDK. gogoproto-generated types are allowed.
package format

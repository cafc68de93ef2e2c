// Package jssdk holds @chroom/client, the JavaScript SDK of the Chroom
// network (README.md beside this file), and embeds it so the orchestrator
// serves it at /sdk/ (orchestrator/web): pages import
// "/sdk/index.js" from the orchestrator they talk to, without npm.
package jssdk

import "embed"

// FS is the SDK as published: index.js, its type declarations, the
// package manifest, the README and src/ (not the tests).
//
//go:embed index.js index.d.ts package.json README.md src
var FS embed.FS

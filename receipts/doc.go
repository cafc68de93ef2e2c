// Package receipts turns what a media node measures about each participant
// session into signed usage receipts and keeps them on disk until an
// orchestrator acknowledges them (DESIGN.md §4; the receipt itself is
// specified in x/verification/README.md).
//
// The flow is:
//
//	Meter   — one per participant session; the SFU's packet loops call Add
//	          and the RTCP handlers ObserveRTT / ObserveJitter.
//	Cut     — when the participant leaves, and at every epoch boundary for
//	          a long session, yields the format.UsageReceipt of the segment
//	          since the previous cut (same session_id, one epoch each).
//	Signer  — Emit signs the receipt with the node key and writes it to the
//	          Store, fsynced, before anything else sees it.
//	Store   — a bbolt file; a sender reads Pending, sends to the
//	          orchestrator, calls MarkAttempt, and Ack once the orchestrator
//	          has acknowledged (countersigned and durably queued) it.
//
// The package must not import the Cosmos SDK (DESIGN.md §4).
package receipts

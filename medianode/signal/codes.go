package signal

import (
	"errors"

	"github.com/chroom/chroom/medianode/sfu"
)

// Error codes of "error" messages (ServerMessage.Code), stable for
// clients to switch on; Message stays human-readable and may change.
const (
	// CodeInvalidMessage: the message is not JSON, too large, of an
	// unknown type or missing a field.
	CodeInvalidMessage = "invalid_message"
	// CodeGlare: the client's offer crossed the node's pending offer;
	// answer the node's offer, then offer again (not a failure).
	CodeGlare = "glare"
	// CodeInvalidOffer, CodeInvalidAnswer, CodeInvalidCandidate: Pion
	// refused the description or candidate.
	CodeInvalidOffer     = "invalid_offer"
	CodeInvalidAnswer    = "invalid_answer"
	CodeInvalidCandidate = "invalid_candidate"
	// CodeTrackRefused: a published track will not be forwarded (track_id
	// names it; message says why: permissions, host mute, track limit).
	CodeTrackRefused = "track_refused"
	// CodeDataRefused: a data-channel message was not relayed.
	CodeDataRefused = "data_refused"
	// CodeRefused: any other request the node refused.
	CodeRefused = "refused"
	// Join refusals (the connection then closes).
	CodeRoomFull      = "room_full"
	CodeNodeFull      = "node_full"
	CodeGrantInUse    = "grant_in_use"
	CodeGrantRevoked  = "grant_revoked"
	CodeIdentityInUse = "identity_in_use"
	CodeShuttingDown  = "shutting_down"
	CodeRoomNotFound  = "room_not_found"
	CodeJoinFailed    = "join_failed"
)

// joinCode is the code of a Join error.
func joinCode(err error) string {
	switch {
	case errors.Is(err, sfu.ErrRoomFull):
		return CodeRoomFull
	case errors.Is(err, sfu.ErrTooManyRooms):
		return CodeNodeFull
	case errors.Is(err, sfu.ErrGrantInUse):
		return CodeGrantInUse
	case errors.Is(err, sfu.ErrGrantRevoked):
		return CodeGrantRevoked
	case errors.Is(err, sfu.ErrIdentityInUse):
		return CodeIdentityInUse
	case errors.Is(err, sfu.ErrClosed):
		return CodeShuttingDown
	case errors.Is(err, sfu.ErrRoomNotFound):
		return CodeRoomNotFound
	}
	return CodeJoinFailed
}

// requestCode is the code of a refused client message of type request.
func requestCode(request string, err error) string {
	if errors.Is(err, sfu.ErrGlare) {
		return CodeGlare
	}
	switch request {
	case "offer":
		return CodeInvalidOffer
	case "answer":
		return CodeInvalidAnswer
	case "candidate":
		return CodeInvalidCandidate
	}
	return CodeRefused
}

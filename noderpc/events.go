package noderpc

// Session event types (rpcpb.SessionEvent.type): what a media node
// reports to the orchestrator that issued a session's grant.
const (
	SessionJoined = "joined"
	SessionLeft   = "left"
	// SessionConnectionAborted: the session ended because its connection
	// failed or the client vanished (not a leave).
	SessionConnectionAborted = "connection_aborted"
	SessionTrackPublished    = "track_published"
	SessionTrackUnpublished  = "track_unpublished"
)

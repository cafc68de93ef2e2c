package api

import (
	"errors"
	"fmt"

	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/orchestrator/session"
)

// ProbeGrants are the two join grants of one QoS probe of a media node
// (x/verification README, "QoS probes"): a publisher and a viewer in a
// fresh room on that node, with the node's WHIP and WHEP endpoints.
type ProbeGrants struct {
	Room                    string
	WHIP, WHEP              string
	PublishToken, ViewToken string
}

// ProbeGrants issues the grants of a probe of media node nodeID: a new
// room named like any other (16 random hex characters) placed on the node,
// a participant that publishes and a viewer, with anonymous-looking
// identities — to the node, two people in a call, as the probe must be
// (a node cannot tell a probe from a user). The node's receipts for them
// are acknowledged like any others but never submitted (session
// ErrProbeSession): a probe is neither paid work nor client evidence.
// Errors: the node is not an ACTIVE media node here, or a grant could not
// be made.
func (s *Server) ProbeGrants(nodeID string) (ProbeGrants, error) {
	node, ok := s.dir.Node(nodeID)
	if !ok || node.Type != "media" || node.Status != "active" {
		return ProbeGrants{}, fmt.Errorf("media node %s is not ACTIVE in this orchestrator's registry view", nodeID)
	}
	id, err := randomID()
	if err != nil {
		return ProbeGrants{}, err
	}
	room := id[:16]
	s.book.Adopt(room, []string{nodeID})
	ref := mediaRef(node)
	out := ProbeGrants{Room: room, WHIP: ref.WHIPURL, WHEP: ref.WHEPURL}
	for _, role := range []grant.Role{grant.RoleParticipant, grant.RoleViewer} {
		who, err := randomID()
		if err != nil {
			return ProbeGrants{}, err
		}
		sess, err := s.book.Admit(session.Admission{Room: room, NodeID: nodeID, Identity: AnonymousPrefix + who[:12], Role: role, Probe: true})
		if err != nil {
			return ProbeGrants{}, fmt.Errorf("probe grant: %w", err)
		}
		token, err := grant.Issue(s.cfg.Key, s.claimsFor(sess, "Guest"))
		if err != nil {
			return ProbeGrants{}, fmt.Errorf("probe grant: %w", err)
		}
		if role == grant.RoleParticipant {
			out.PublishToken = token
		} else {
			out.ViewToken = token
		}
	}
	if out.WHIP == "" || out.WHEP == "" {
		return ProbeGrants{}, errors.New("the media node registered no HTTP endpoint")
	}
	return out, nil
}

package nodes

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/netguard"
	"github.com/chroom/chroom/noderpc"
	"github.com/chroom/chroom/noderpc/rpcpb"
	"github.com/chroom/chroom/orchestrator/api"
)

// Endpoints resolves a node's registered endpoints.
type Endpoints interface {
	Endpoints(nodeID string) ([]string, bool)
}

// Admin calls media nodes' MediaNode service with calls signed by the
// orchestrator's node key. It implements api.Admin.
type Admin struct {
	Key     *format.NodeKey
	ChainID string
	Nodes   Endpoints
	// Guard decides which addresses may be dialled (registry endpoints).
	Guard netguard.Policy

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

var _ api.Admin = (*Admin)(nil)

func (a *Admin) client(nodeID string) (rpcpb.MediaNodeClient, error) {
	eps, ok := a.Nodes.Endpoints(nodeID)
	if !ok {
		return nil, fmt.Errorf("media node %s is not in the registry", nodeID)
	}
	target, useTLS, err := noderpc.RPCEndpoint(eps)
	if err != nil {
		return nil, fmt.Errorf("media node %s: %w", nodeID, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conns == nil {
		a.conns = map[string]*grpc.ClientConn{}
	}
	if c, ok := a.conns[target]; ok {
		return rpcpb.NewMediaNodeClient(c), nil
	}
	creds := insecure.NewCredentials()
	if useTLS {
		creds = credentials.NewClientTLSFromCert(nil, "")
	}
	c, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds), noderpc.DialCodec(), grpc.WithContextDialer(a.Guard.DialContext),
		grpc.WithUnaryInterceptor(noderpc.SignCalls(a.Key, a.ChainID)))
	if err != nil {
		return nil, err
	}
	a.conns[target] = c
	return rpcpb.NewMediaNodeClient(c), nil
}

// Close closes the connections.
func (a *Admin) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.conns {
		_ = c.Close()
	}
	a.conns = nil
}

// ListParticipants implements api.Admin.
func (a *Admin) ListParticipants(ctx context.Context, nodeID, room string) ([]api.Participant, error) {
	c, err := a.client(nodeID)
	if err != nil {
		return nil, err
	}
	res, err := c.ListParticipants(ctx, &rpcpb.ListParticipantsRequest{Room: room})
	if err != nil {
		return nil, err
	}
	out := make([]api.Participant, 0, len(res.Participants))
	for _, p := range res.Participants {
		out = append(out, participant(p))
	}
	return out, nil
}

// FindRoom implements api.RoomFinder.
func (a *Admin) FindRoom(ctx context.Context, nodeID, room string) (int, error) {
	c, err := a.client(nodeID)
	if err != nil {
		return 0, err
	}
	res, err := c.FindRoom(ctx, &rpcpb.FindRoomRequest{Room: room})
	if err != nil {
		return 0, err
	}
	return int(res.Participants), nil
}

// MuteTrack implements api.Admin.
func (a *Admin) MuteTrack(ctx context.Context, nodeID, room, identity, trackID string, muted bool) error {
	c, err := a.client(nodeID)
	if err != nil {
		return err
	}
	_, err = c.MuteTrack(ctx, &rpcpb.MuteTrackRequest{Room: room, Identity: identity, TrackId: trackID, Muted: muted})
	return err
}

// RemoveParticipant implements api.Admin.
func (a *Admin) RemoveParticipant(ctx context.Context, nodeID, room, identity string) error {
	c, err := a.client(nodeID)
	if err != nil {
		return err
	}
	_, err = c.RemoveParticipant(ctx, &rpcpb.RemoveParticipantRequest{Room: room, Identity: identity})
	return err
}

// SetRole implements api.Admin.
func (a *Admin) SetRole(ctx context.Context, nodeID, room, identity string, role grant.Role, p grant.Permissions) error {
	c, err := a.client(nodeID)
	if err != nil {
		return err
	}
	_, err = c.UpdatePermissions(ctx, &rpcpb.UpdatePermissionsRequest{Room: room, Identity: identity, Role: string(role),
		Permissions: &rpcpb.Permissions{CanPublish: p.CanPublish, CanPublishScreen: p.CanPublishScreen, CanSubscribe: p.CanSubscribe,
			CanPublishData: p.CanPublishData, CanAdmin: p.CanAdmin, CanPublishSources: p.CanPublishSources, Hidden: p.Hidden}})
	return err
}

// UpdateParticipant implements api.ParticipantAdmin.
func (a *Admin) UpdateParticipant(ctx context.Context, nodeID, room, identity string, u api.ParticipantUpdate) (api.Participant, error) {
	c, err := a.client(nodeID)
	if err != nil {
		return api.Participant{}, err
	}
	req := &rpcpb.UpdateParticipantRequest{Room: room, Identity: identity, Attributes: u.Attributes}
	if u.Name != nil {
		req.SetName, req.Name = true, *u.Name
	}
	if u.Metadata != nil {
		req.SetMetadata, req.Metadata = true, *u.Metadata
	}
	res, err := c.UpdateParticipant(ctx, req)
	if err != nil {
		return api.Participant{}, err
	}
	return participant(res.Participant), nil
}

// SendData implements api.ParticipantAdmin.
func (a *Admin) SendData(ctx context.Context, nodeID, room string, payload []byte, to []string) (int, error) {
	c, err := a.client(nodeID)
	if err != nil {
		return 0, err
	}
	res, err := c.SendData(ctx, &rpcpb.SendDataRequest{Room: room, Payload: payload, DestinationIdentities: to})
	if err != nil {
		return 0, err
	}
	return int(res.Delivered), nil
}

// UpdateSubscriptions implements api.ParticipantAdmin.
func (a *Admin) UpdateSubscriptions(ctx context.Context, nodeID, room, identity string, trackIDs []string, subscribe bool) error {
	c, err := a.client(nodeID)
	if err != nil {
		return err
	}
	_, err = c.UpdateSubscriptions(ctx, &rpcpb.UpdateSubscriptionsRequest{Room: room, Identity: identity, TrackIds: trackIDs, Subscribe: subscribe})
	return err
}

func participant(p *rpcpb.ParticipantInfo) api.Participant {
	if p == nil {
		return api.Participant{Tracks: []api.Track{}}
	}
	ap := api.Participant{Identity: p.Identity, Name: p.Name, Role: p.Role, JoinedAtUnixMs: p.JoinedAtUnixMs, Tracks: []api.Track{},
		Metadata: p.Metadata, Attributes: p.Attributes}
	for _, t := range p.Tracks {
		ap.Tracks = append(ap.Tracks, api.Track{ID: t.Id, Kind: t.Kind, Source: t.Source, Muted: t.Muted})
	}
	return ap
}

// EndRoom implements api.Admin.
func (a *Admin) EndRoom(ctx context.Context, nodeID, room string) error {
	c, err := a.client(nodeID)
	if err != nil {
		return err
	}
	_, err = c.EndRoom(ctx, &rpcpb.EndRoomRequest{Room: room})
	return err
}

// LinkRoom implements api.Linker.
func (a *Admin) LinkRoom(ctx context.Context, nodeID, room, peerID, peerSignalURL, relayGrant string) error {
	c, err := a.client(nodeID)
	if err != nil {
		return err
	}
	_, err = c.LinkRoom(ctx, &rpcpb.LinkRoomRequest{Room: room, PeerNodeId: peerID, PeerSignalUrl: peerSignalURL, RelayGrant: relayGrant})
	return err
}

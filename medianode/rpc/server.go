package rpc

import (
	"context"
	"encoding/json"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chroom/chroom/medianode/sfu"
	"github.com/chroom/chroom/noderpc"
	"github.com/chroom/chroom/noderpc/rpcpb"
)

// MediaNodeServer carries out orchestrators' room administration on the
// SFU (DESIGN.md §3 room admin). Callers are authenticated by VerifyCalls.
type MediaNodeServer struct {
	SFU *sfu.SFU
	// Links carries out LinkRoom (cascade.Manager); nil refuses it.
	Links Linker
}

// Linker starts relay legs (cascade.Manager).
type Linker interface {
	Link(room, peerID, signalURL, relayGrant string) (already bool, err error)
}

var _ rpcpb.MediaNodeServer = (*MediaNodeServer)(nil)

// room returns an open room that the calling orchestrator may
// administer: one whose sessions include a grant it issued. Errors:
// NotFound, PermissionDenied.
func (s *MediaNodeServer) room(ctx context.Context, name string) (*sfu.Room, error) {
	r, ok := s.SFU.Room(name)
	if !ok {
		return nil, status.Errorf(codes.NotFound, "room %q is not open on this node", name)
	}
	if caller := noderpc.Caller(ctx); !r.IssuedBy(caller) {
		return nil, status.Errorf(codes.PermissionDenied, "orchestrator %s issued no grant for room %q on this node", caller, name)
	}
	return r, nil
}

func (s *MediaNodeServer) participant(ctx context.Context, room, identity string) (*sfu.Participant, error) {
	r, err := s.room(ctx, room)
	if err != nil {
		return nil, err
	}
	p, ok := r.Participant(identity)
	if !ok {
		return nil, status.Errorf(codes.NotFound, "%q is not in room %q", identity, room)
	}
	return p, nil
}

// ListParticipants implements rpcpb.MediaNodeServer.
func (s *MediaNodeServer) ListParticipants(ctx context.Context, req *rpcpb.ListParticipantsRequest) (*rpcpb.ListParticipantsResponse, error) {
	r, err := s.room(ctx, req.Room)
	if status.Code(err) == codes.NotFound {
		return &rpcpb.ListParticipantsResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := &rpcpb.ListParticipantsResponse{}
	for _, p := range r.Participants() {
		if p.Relay() || p.Remote() {
			continue // this node's own participants: each node lists its own
		}
		out.Participants = append(out.Participants, participantInfo(p.Info()))
	}
	return out, nil
}

// FindRoom implements rpcpb.MediaNodeServer: how many of room's
// participants this node serves itself (relay legs and participants
// relayed from other nodes are not counted), for any ACTIVE orchestrator
// — the one that takes over a room whose orchestrator died has issued no
// grant in it yet. 0 when the room is not open here. Errors:
// InvalidArgument for an empty room name.
func (s *MediaNodeServer) FindRoom(ctx context.Context, req *rpcpb.FindRoomRequest) (*rpcpb.FindRoomResponse, error) {
	if req.Room == "" {
		return nil, status.Error(codes.InvalidArgument, "room is required")
	}
	r, ok := s.SFU.Room(req.Room)
	if !ok {
		return &rpcpb.FindRoomResponse{}, nil
	}
	var n uint32
	for _, p := range r.Participants() {
		if !p.Relay() && !p.Remote() {
			n++
		}
	}
	return &rpcpb.FindRoomResponse{Participants: n}, nil
}

// MuteTrack implements rpcpb.MediaNodeServer.
func (s *MediaNodeServer) MuteTrack(ctx context.Context, req *rpcpb.MuteTrackRequest) (*rpcpb.MuteTrackResponse, error) {
	p, err := s.participant(ctx, req.Room, req.Identity)
	if err != nil {
		return nil, err
	}
	if err := p.HostMuteTrack(req.TrackId, req.Muted); err != nil {
		if errors.Is(err, sfu.ErrTrackNotFound) {
			return nil, status.Errorf(codes.NotFound, "%q has no track %q", req.Identity, req.TrackId)
		}
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &rpcpb.MuteTrackResponse{}, nil
}

// RemoveParticipant implements rpcpb.MediaNodeServer.
func (s *MediaNodeServer) RemoveParticipant(ctx context.Context, req *rpcpb.RemoveParticipantRequest) (*rpcpb.RemoveParticipantResponse, error) {
	p, err := s.participant(ctx, req.Room, req.Identity)
	if err != nil {
		return nil, err
	}
	// A removal revokes the session's grant on this node until it expires:
	// the same grant cannot reconnect (the orchestrator refuses new grants
	// for the identity; DESIGN §3 room admin).
	p.Revoke("removed by the host")
	return &rpcpb.RemoveParticipantResponse{}, nil
}

// UpdatePermissions implements rpcpb.MediaNodeServer.
func (s *MediaNodeServer) UpdatePermissions(ctx context.Context, req *rpcpb.UpdatePermissionsRequest) (*rpcpb.UpdatePermissionsResponse, error) {
	p, err := s.participant(ctx, req.Room, req.Identity)
	if err != nil {
		return nil, err
	}
	if req.Permissions == nil {
		return nil, status.Error(codes.InvalidArgument, "permissions are required")
	}
	switch req.Role {
	case "host", "presenter", "participant", "viewer":
	default:
		return nil, status.Errorf(codes.InvalidArgument, "role %q is not host, presenter, participant or viewer", req.Role)
	}
	pp := req.Permissions
	perms := sfu.Permissions{
		CanPublish: pp.CanPublish, CanPublishScreen: pp.CanPublishScreen, CanSubscribe: pp.CanSubscribe,
		CanPublishData: pp.CanPublishData, CanAdmin: pp.CanAdmin, Hidden: pp.Hidden,
	}
	for _, src := range pp.CanPublishSources {
		switch sfu.TrackSource(src) {
		case sfu.SourceCamera, sfu.SourceMicrophone, sfu.SourceScreen, sfu.SourceScreenAudio:
			perms.CanPublishSources = append(perms.CanPublishSources, sfu.TrackSource(src))
		default:
			return nil, status.Errorf(codes.InvalidArgument, "source %q is not camera, microphone, screen or screen_audio", src)
		}
	}
	p.SetPermissions(req.Role, perms)
	return &rpcpb.UpdatePermissionsResponse{}, nil
}

// UpdateParticipant implements rpcpb.MediaNodeServer.
func (s *MediaNodeServer) UpdateParticipant(ctx context.Context, req *rpcpb.UpdateParticipantRequest) (*rpcpb.UpdateParticipantResponse, error) {
	p, err := s.participant(ctx, req.Room, req.Identity)
	if err != nil {
		return nil, err
	}
	if p.Relay() || p.Remote() {
		return nil, status.Errorf(codes.FailedPrecondition, "%q is a relay leg or another node's participant: change it on its own node", req.Identity)
	}
	var name, metadata *string
	if req.SetName {
		name = &req.Name
	}
	if req.SetMetadata {
		metadata = &req.Metadata
	}
	info, err := p.UpdateInfo(name, metadata, req.Attributes)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &rpcpb.UpdateParticipantResponse{Participant: participantInfo(info)}, nil
}

// SendData implements rpcpb.MediaNodeServer: the app's message goes to
// the room's participants on this node (all, or the destinations).
func (s *MediaNodeServer) SendData(ctx context.Context, req *rpcpb.SendDataRequest) (*rpcpb.SendDataResponse, error) {
	if len(req.Payload) > MaxDataBytes || !json.Valid(req.Payload) {
		return nil, status.Errorf(codes.InvalidArgument, "payload must be one JSON value of at most %d bytes", MaxDataBytes)
	}
	r, err := s.room(ctx, req.Room)
	if err != nil {
		return nil, err
	}
	n := r.SendServerData(req.Payload, req.DestinationIdentities)
	return &rpcpb.SendDataResponse{Delivered: uint32(n)}, nil
}

// MaxDataBytes bounds SendData's payload (a data channel message of the
// web client is at most 60 KiB too).
const MaxDataBytes = 60 * 1024

// UpdateSubscriptions implements rpcpb.MediaNodeServer.
func (s *MediaNodeServer) UpdateSubscriptions(ctx context.Context, req *rpcpb.UpdateSubscriptionsRequest) (*rpcpb.UpdateSubscriptionsResponse, error) {
	if len(req.TrackIds) == 0 || len(req.TrackIds) > 100 {
		return nil, status.Error(codes.InvalidArgument, "track_ids: 1 to 100 track IDs")
	}
	p, err := s.participant(ctx, req.Room, req.Identity)
	if err != nil {
		return nil, err
	}
	if p.Relay() || p.Remote() {
		return nil, status.Errorf(codes.FailedPrecondition, "%q is a relay leg or another node's participant: its node decides its subscriptions", req.Identity)
	}
	p.SetSubscribed(req.TrackIds, req.Subscribe)
	return &rpcpb.UpdateSubscriptionsResponse{}, nil
}

func participantInfo(info sfu.ParticipantInfo) *rpcpb.ParticipantInfo {
	pi := &rpcpb.ParticipantInfo{Identity: info.Identity, Name: info.Name, Role: info.Role, JoinedAtUnixMs: info.JoinedAtUnixMs,
		Metadata: info.Metadata, Attributes: info.Attributes}
	for _, t := range info.Tracks {
		pi.Tracks = append(pi.Tracks, &rpcpb.TrackInfo{Id: t.ID, Kind: t.Kind, Source: string(t.Source), Muted: t.Muted})
	}
	return pi
}

// EndRoom implements rpcpb.MediaNodeServer.
func (s *MediaNodeServer) EndRoom(ctx context.Context, req *rpcpb.EndRoomRequest) (*rpcpb.EndRoomResponse, error) {
	r, err := s.room(ctx, req.Room)
	if status.Code(err) == codes.NotFound {
		return &rpcpb.EndRoomResponse{}, nil
	}
	if err != nil {
		return nil, err
	}
	r.End("ended by the host")
	return &rpcpb.EndRoomResponse{}, nil
}

// LinkRoom implements rpcpb.MediaNodeServer: the calling orchestrator,
// which must have issued a grant in the room on this node, asks this node
// to pull the room from a peer media node (cascading).
func (s *MediaNodeServer) LinkRoom(ctx context.Context, req *rpcpb.LinkRoomRequest) (*rpcpb.LinkRoomResponse, error) {
	if s.Links == nil {
		return nil, status.Error(codes.Unimplemented, "this node does not cascade rooms")
	}
	if req.PeerNodeId == "" || req.PeerSignalUrl == "" || req.RelayGrant == "" {
		return nil, status.Error(codes.InvalidArgument, "room, peer_node_id, peer_signal_url and relay_grant are required")
	}
	if _, err := s.room(ctx, req.Room); err != nil {
		return nil, err
	}
	already, err := s.Links.Link(req.Room, req.PeerNodeId, req.PeerSignalUrl, req.RelayGrant)
	if err != nil {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	return &rpcpb.LinkRoomResponse{Already: already}, nil
}

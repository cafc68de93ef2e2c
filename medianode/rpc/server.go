package rpc

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chroom/chroom/medianode/rpcpb"
	"github.com/chroom/chroom/medianode/sfu"
)

// MediaNodeServer carries out orchestrators' room administration on the
// SFU (DESIGN.md §3 room admin). Callers are authenticated by VerifyCalls.
type MediaNodeServer struct {
	SFU *sfu.SFU
}

var _ rpcpb.MediaNodeServer = (*MediaNodeServer)(nil)

func (s *MediaNodeServer) participant(room, identity string) (*sfu.Participant, error) {
	r, ok := s.SFU.Room(room)
	if !ok {
		return nil, status.Errorf(codes.NotFound, "room %q is not open on this node", room)
	}
	p, ok := r.Participant(identity)
	if !ok {
		return nil, status.Errorf(codes.NotFound, "%q is not in room %q", identity, room)
	}
	return p, nil
}

// ListParticipants implements rpcpb.MediaNodeServer.
func (s *MediaNodeServer) ListParticipants(_ context.Context, req *rpcpb.ListParticipantsRequest) (*rpcpb.ListParticipantsResponse, error) {
	r, ok := s.SFU.Room(req.Room)
	if !ok {
		return &rpcpb.ListParticipantsResponse{}, nil
	}
	out := &rpcpb.ListParticipantsResponse{}
	for _, p := range r.Participants() {
		info := p.Info()
		pi := &rpcpb.ParticipantInfo{Identity: info.Identity, Name: info.Name, Role: info.Role, JoinedAtUnixMs: info.JoinedAtUnixMs}
		for _, t := range info.Tracks {
			pi.Tracks = append(pi.Tracks, &rpcpb.TrackInfo{Id: t.ID, Kind: t.Kind, Source: string(t.Source), Muted: t.Muted})
		}
		out.Participants = append(out.Participants, pi)
	}
	return out, nil
}

// MuteTrack implements rpcpb.MediaNodeServer.
func (s *MediaNodeServer) MuteTrack(_ context.Context, req *rpcpb.MuteTrackRequest) (*rpcpb.MuteTrackResponse, error) {
	p, err := s.participant(req.Room, req.Identity)
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
func (s *MediaNodeServer) RemoveParticipant(_ context.Context, req *rpcpb.RemoveParticipantRequest) (*rpcpb.RemoveParticipantResponse, error) {
	p, err := s.participant(req.Room, req.Identity)
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
func (s *MediaNodeServer) UpdatePermissions(_ context.Context, req *rpcpb.UpdatePermissionsRequest) (*rpcpb.UpdatePermissionsResponse, error) {
	p, err := s.participant(req.Room, req.Identity)
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
	p.SetPermissions(req.Role, sfu.Permissions{
		CanPublish: pp.CanPublish, CanPublishScreen: pp.CanPublishScreen, CanSubscribe: pp.CanSubscribe,
		CanPublishData: pp.CanPublishData, CanAdmin: pp.CanAdmin,
	})
	return &rpcpb.UpdatePermissionsResponse{}, nil
}

// EndRoom implements rpcpb.MediaNodeServer.
func (s *MediaNodeServer) EndRoom(_ context.Context, req *rpcpb.EndRoomRequest) (*rpcpb.EndRoomResponse, error) {
	if r, ok := s.SFU.Room(req.Room); ok {
		r.End("ended by the host")
	}
	return &rpcpb.EndRoomResponse{}, nil
}

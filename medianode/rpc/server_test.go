package rpc

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chroom/chroom/medianode/sfu"
	"github.com/chroom/chroom/noderpc"
	"github.com/chroom/chroom/noderpc/rpcpb"
)

type nopSignal struct{}

func (nopSignal) SendOffer(webrtc.SessionDescription) error   { return nil }
func (nopSignal) SendAnswer(webrtc.SessionDescription) error  { return nil }
func (nopSignal) SendCandidate(webrtc.ICECandidateInit) error { return nil }
func (nopSignal) SendEvent(sfu.Event) error                   { return nil }
func (nopSignal) Close(string)                                {}

func as(caller string) context.Context {
	return noderpc.WithCaller(context.Background(), caller)
}

// TestAdminOnlyFromTheRoomsIssuer: an ACTIVE orchestrator that issued no
// grant for a room cannot list, mute, remove, re-role or end it.
func TestAdminOnlyFromTheRoomsIssuer(t *testing.T) {
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer udp.Close()
	api, err := sfu.NewAPI(sfu.TransportConfig{UDP: udp, IncludeLoopback: true}, nil)
	require.NoError(t, err)
	s, err := sfu.New(sfu.Config{API: api})
	require.NoError(t, err)
	defer s.Close(time.Second)
	_, err = s.Join(sfu.JoinParams{Room: "r", Identity: "alice", Kind: sfu.KindFull, Signal: nopSignal{}, Issuer: "orch-a", GrantID: "g1",
		Permissions: sfu.Permissions{CanPublish: true, CanSubscribe: true}})
	require.NoError(t, err)
	srv := &MediaNodeServer{SFU: s}

	foreign := as("orch-b")
	denied := func(err error) {
		t.Helper()
		require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	}
	_, err = srv.ListParticipants(foreign, &rpcpb.ListParticipantsRequest{Room: "r"})
	denied(err)
	_, err = srv.MuteTrack(foreign, &rpcpb.MuteTrackRequest{Room: "r", Identity: "alice", TrackId: "t"})
	denied(err)
	_, err = srv.UpdatePermissions(foreign, &rpcpb.UpdatePermissionsRequest{Room: "r", Identity: "alice", Role: "viewer", Permissions: &rpcpb.Permissions{}})
	denied(err)
	_, err = srv.RemoveParticipant(foreign, &rpcpb.RemoveParticipantRequest{Room: "r", Identity: "alice"})
	denied(err)
	_, err = srv.EndRoom(foreign, &rpcpb.EndRoomRequest{Room: "r"})
	denied(err)
	r, ok := s.Room("r")
	require.True(t, ok, "the room is still open")
	_, ok = r.Participant("alice")
	require.True(t, ok, "alice is still in it")

	// The issuer may.
	list, err := srv.ListParticipants(as("orch-a"), &rpcpb.ListParticipantsRequest{Room: "r"})
	require.NoError(t, err)
	require.Len(t, list.Participants, 1)
	_, err = srv.RemoveParticipant(as("orch-a"), &rpcpb.RemoveParticipantRequest{Room: "r", Identity: "alice"})
	require.NoError(t, err)
}

// TestFindRoomForAnyOrchestrator: an orchestrator that issued no grant in
// a room (it is taking the room over) learns how many participants the
// node serves in it, and nothing for a room that is not open.
func TestFindRoomForAnyOrchestrator(t *testing.T) {
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer udp.Close()
	api, err := sfu.NewAPI(sfu.TransportConfig{UDP: udp, IncludeLoopback: true}, nil)
	require.NoError(t, err)
	s, err := sfu.New(sfu.Config{API: api})
	require.NoError(t, err)
	defer s.Close(time.Second)
	for i, id := range []string{"alice", "bob"} {
		_, err = s.Join(sfu.JoinParams{Room: "r", Identity: id, Kind: sfu.KindFull, Signal: nopSignal{}, Issuer: "orch-a", GrantID: "g" + string(rune('1'+i)),
			Permissions: sfu.Permissions{CanPublish: true, CanSubscribe: true}})
		require.NoError(t, err)
	}
	srv := &MediaNodeServer{SFU: s}

	got, err := srv.FindRoom(as("orch-b"), &rpcpb.FindRoomRequest{Room: "r"})
	require.NoError(t, err)
	require.EqualValues(t, 2, got.Participants)
	got, err = srv.FindRoom(as("orch-b"), &rpcpb.FindRoomRequest{Room: "elsewhere"})
	require.NoError(t, err)
	require.EqualValues(t, 0, got.Participants)
	_, err = srv.FindRoom(as("orch-b"), &rpcpb.FindRoomRequest{})
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
}

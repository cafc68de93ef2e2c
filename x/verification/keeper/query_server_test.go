package keeper_test

import (
	sdkmath "cosmossdk.io/math"
	"testing"

	errorsmod "cosmossdk.io/errors"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chroom/chroom/testutil/sample"
	"github.com/chroom/chroom/x/verification/types"
)

func TestQueryNodeEpoch(t *testing.T) {
	f := newFixture(t)
	res := f.submit(t, f.signed(1, 1))
	require.Equal(t, []uint32{0}, res.Accepted, "rejected: %v", res.Rejected)
	idle := sample.NodeKey(3)
	f.register(t, sample.RegisterMediaNode(f.mediaOp, 3, "DE"))

	tests := []struct {
		name     string
		req      *types.QueryNodeEpochRequest
		want     *types.NodeEpochTally
		wantCode codes.Code
	}{
		{
			name: "node with work",
			req:  &types.QueryNodeEpochRequest{NodeId: f.media.ID, Epoch: 1},
			want: &types.NodeEpochTally{NodeId: f.media.ID, Epoch: 1, Operator: f.mediaOp.String(), Sessions: 1, VerifiedSeconds: 60, Bytes: 7_000_000, Weight: dec("54")},
		},
		{
			name: "registered node without work",
			req:  &types.QueryNodeEpochRequest{NodeId: idle.ID, Epoch: 1},
			want: &types.NodeEpochTally{NodeId: idle.ID, Epoch: 1, Weight: dec("0")},
		},
		{
			name: "node with work, other epoch",
			req:  &types.QueryNodeEpochRequest{NodeId: f.media.ID, Epoch: 2},
			want: &types.NodeEpochTally{NodeId: f.media.ID, Epoch: 2, Weight: dec("0")},
		},
		{
			name: "unregistered but well-formed node",
			req:  &types.QueryNodeEpochRequest{NodeId: sample.NodeKey(unregisteredSeed).ID, Epoch: 1},
			want: &types.NodeEpochTally{NodeId: sample.NodeKey(unregisteredSeed).ID, Epoch: 1, Weight: dec("0")},
		},
		{name: "nil request", req: nil, wantCode: codes.InvalidArgument},
		{name: "empty node ID", req: &types.QueryNodeEpochRequest{Epoch: 1}, wantCode: codes.InvalidArgument},
		{name: "node ID too short", req: &types.QueryNodeEpochRequest{NodeId: f.media.ID[:39], Epoch: 1}, wantCode: codes.InvalidArgument},
		{name: "node ID in upper case", req: &types.QueryNodeEpochRequest{NodeId: "ABCDEF0123456789ABCDEF0123456789ABCDEF01", Epoch: 1}, wantCode: codes.InvalidArgument},
		{name: "node ID not hex", req: &types.QueryNodeEpochRequest{NodeId: "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", Epoch: 1}, wantCode: codes.InvalidArgument},
		{name: "epoch 0", req: &types.QueryNodeEpochRequest{NodeId: f.media.ID, Epoch: 0}, wantCode: codes.InvalidArgument},
		{name: "negative epoch", req: &types.QueryNodeEpochRequest{NodeId: f.media.ID, Epoch: -1}, wantCode: codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.queries.NodeEpoch(f.Ctx, tc.req)
			if tc.wantCode != codes.OK {
				require.Error(t, err)
				require.Equal(t, tc.wantCode, status.Code(err), "gRPC code of %v", err)
				return
			}
			require.NoError(t, err)
			tl := got.Tally
			require.Equal(t, tc.want.NodeId, tl.NodeId)
			require.Equal(t, tc.want.Epoch, tl.Epoch)
			require.Equal(t, tc.want.Operator, tl.Operator, "operator")
			require.Equal(t, tc.want.Sessions, tl.Sessions, "sessions")
			require.Equal(t, tc.want.VerifiedSeconds, tl.VerifiedSeconds, "verified seconds")
			require.Equal(t, tc.want.Bytes, tl.Bytes, "bytes")
			require.False(t, tl.Weight.IsNil(), "weight must be set, also when zero")
			require.True(t, tc.want.Weight.Equal(tl.Weight), "weight is %s, want %s", tl.Weight, tc.want.Weight)
		})
	}
}

func TestQueryEpochTotals(t *testing.T) {
	f := newFixture(t)
	f.Epochs.Current = 2
	res := f.submit(t, f.signed(1, 1), f.signed(1, 2), f.signed(2, 3))
	require.Len(t, res.Accepted, 3, "rejected: %v", res.Rejected)

	tests := []struct {
		name     string
		req      *types.QueryEpochTotalsRequest
		want     types.EpochTotals
		wantCode codes.Code
	}{
		{name: "epoch with two receipts", req: &types.QueryEpochTotalsRequest{Epoch: 1},
			want: types.EpochTotals{Epoch: 1, MediaWeight: dec("108"), OrchestratorReceipts: 2, Receipts: 2}},
		{name: "epoch with one receipt", req: &types.QueryEpochTotalsRequest{Epoch: 2},
			want: types.EpochTotals{Epoch: 2, MediaWeight: dec("54"), OrchestratorReceipts: 1, Receipts: 1}},
		{name: "epoch without receipts", req: &types.QueryEpochTotalsRequest{Epoch: 3},
			want: types.EpochTotals{Epoch: 3, MediaWeight: dec("0")}},
		{name: "nil request", req: nil, wantCode: codes.InvalidArgument},
		{name: "epoch 0", req: &types.QueryEpochTotalsRequest{Epoch: 0}, wantCode: codes.InvalidArgument},
		{name: "negative epoch", req: &types.QueryEpochTotalsRequest{Epoch: -3}, wantCode: codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.queries.EpochTotals(f.Ctx, tc.req)
			if tc.wantCode != codes.OK {
				require.Error(t, err)
				require.Equal(t, tc.wantCode, status.Code(err), "gRPC code of %v", err)
				return
			}
			require.NoError(t, err)
			tt := got.Totals
			require.Equal(t, tc.want.Epoch, tt.Epoch)
			require.Equal(t, tc.want.Receipts, tt.Receipts, "receipts")
			require.Equal(t, tc.want.OrchestratorReceipts, tt.OrchestratorReceipts, "orchestrator receipts")
			require.False(t, tt.MediaWeight.IsNil(), "media weight must be set, also when zero")
			require.True(t, tc.want.MediaWeight.Equal(tt.MediaWeight), "media weight is %s, want %s", tt.MediaWeight, tc.want.MediaWeight)
		})
	}
}

func TestQueryParams(t *testing.T) {
	f := newFixture(t)
	got, err := f.queries.Params(f.Ctx, &types.QueryParamsRequest{})
	require.NoError(t, err)
	want := types.DefaultParams()
	want.PricePerParticipantMinute.Amount = sdkmath.ZeroInt() // the fixture's free receipts (testkeeper)
	require.Equal(t, want.String(), got.Params.String())
}

func TestMsgUpdateParams(t *testing.T) {
	tests := []struct {
		name      string
		authority func(f *fixture) string
		mutate    func(p *types.Params)
		expErr    *errorsmod.Error
		expMsg    string
	}{
		{name: "gov changes params", mutate: func(p *types.Params) { p.MaxReceiptsPerMsg = 10; p.MaxPrunePerBlock = 3 }},
		{name: "not the authority", authority: func(f *fixture) string { return f.orchOp.String() },
			mutate: func(p *types.Params) { p.MaxReceiptsPerMsg = 10 }, expErr: sdkerrors.ErrUnauthorized, expMsg: "invalid authority"},
		{name: "invalid params", mutate: func(p *types.Params) { p.MaxReceiptsPerMsg = 0 },
			expErr: types.ErrInvalidParams, expMsg: "max_receipts_per_msg"},
		{name: "rtt bounds reversed", mutate: func(p *types.Params) { p.RttZeroQualityMs = p.RttFullQualityMs },
			expErr: types.ErrInvalidParams, expMsg: "rtt_zero_quality_ms"},
		{name: "slash fraction above one", mutate: func(p *types.Params) { p.SlashFractionEquivocation = dec("1.5") },
			expErr: types.ErrInvalidParams, expMsg: "slash_fraction_equivocation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			authority := f.Authority
			if tc.authority != nil {
				authority = tc.authority(f)
			}
			p := types.DefaultParams()
			tc.mutate(&p)
			before := f.state(t)
			f.freshEvents()
			_, err := f.msgs.UpdateParams(f.Ctx, &types.MsgUpdateParams{Authority: authority, Params: p})
			if tc.expErr != nil {
				require.ErrorIs(t, err, tc.expErr)
				require.ErrorContains(t, err, tc.expMsg)
				f.requireState(t, before, "a refused params update changed state")
				return
			}
			require.NoError(t, err)
			got, err := f.Verification.Params(f.Ctx)
			require.NoError(t, err)
			require.Equal(t, p.String(), got.String())
			require.Equal(t, 1, f.countEvents("chroom.verification.v1.EventParamsUpdated"))
		})
	}
}

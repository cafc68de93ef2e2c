package types

import (
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/codec/legacy"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/msgservice"
)

// RegisterLegacyAminoCodec registers the amino names of the messages.
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	legacy.RegisterAminoMsg(cdc, &MsgFundPool{}, "chroom/x/incentives/MsgFundPool")
	legacy.RegisterAminoMsg(cdc, &MsgClaimRewards{}, "chroom/x/incentives/MsgClaimRewards")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateParams{}, "chroom/x/incentives/MsgUpdateParams")
	legacy.RegisterAminoMsg(cdc, &MsgCreateApp{}, "chroom/x/incentives/MsgCreateApp")
	legacy.RegisterAminoMsg(cdc, &MsgFundApp{}, "chroom/x/incentives/MsgFundApp")
	legacy.RegisterAminoMsg(cdc, &MsgWithdrawApp{}, "chroom/x/incentives/MsgWithdrawApp")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateApp{}, "chroom/x/incentives/MsgUpdateApp")
	cdc.RegisterConcrete(&Params{}, "chroom/x/incentives/Params", nil)
}

// RegisterInterfaces registers the messages.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil), &MsgFundPool{}, &MsgClaimRewards{}, &MsgUpdateParams{},
		&MsgCreateApp{}, &MsgFundApp{}, &MsgWithdrawApp{}, &MsgUpdateApp{})
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}

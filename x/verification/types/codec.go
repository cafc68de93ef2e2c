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
	legacy.RegisterAminoMsg(cdc, &MsgSubmitReceipts{}, "chroom/x/verification/MsgSubmitReceipts")
	legacy.RegisterAminoMsg(cdc, &MsgSubmitEvidence{}, "chroom/x/verification/MsgSubmitEvidence")
	legacy.RegisterAminoMsg(cdc, &MsgSubmitProbe{}, "chroom/x/verification/MsgSubmitProbe")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateParams{}, "chroom/x/verification/MsgUpdateParams")
	cdc.RegisterConcrete(&Params{}, "chroom/x/verification/Params", nil)
}

// RegisterInterfaces registers the messages.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil), &MsgSubmitReceipts{}, &MsgSubmitEvidence{}, &MsgSubmitProbe{}, &MsgUpdateParams{})
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}

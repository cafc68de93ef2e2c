package types

import (
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/codec/legacy"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/msgservice"
)

// RegisterLegacyAminoCodec registers the messages for amino JSON signing
// (ledger devices).
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	legacy.RegisterAminoMsg(cdc, &MsgRegisterNode{}, "chroom/x/registry/MsgRegisterNode")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateNode{}, "chroom/x/registry/MsgUpdateNode")
	legacy.RegisterAminoMsg(cdc, &MsgAddStake{}, "chroom/x/registry/MsgAddStake")
	legacy.RegisterAminoMsg(cdc, &MsgDeregisterNode{}, "chroom/x/registry/MsgDeregisterNode")
	legacy.RegisterAminoMsg(cdc, &MsgUnjail{}, "chroom/x/registry/MsgUnjail")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateParams{}, "chroom/x/registry/MsgUpdateParams")
	cdc.RegisterConcrete(&Params{}, "chroom/x/registry/Params", nil)
}

// RegisterInterfaces registers the messages with the interface registry.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil),
		&MsgRegisterNode{},
		&MsgUpdateNode{},
		&MsgAddStake{},
		&MsgDeregisterNode{},
		&MsgUnjail{},
		&MsgUpdateParams{},
	)
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}

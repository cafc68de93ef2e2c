package app

import (
	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/codec/types"
)

// EncodingConfig holds the codecs the app and its clients use.
type EncodingConfig struct {
	InterfaceRegistry types.InterfaceRegistry
	Codec             codec.Codec
	TxConfig          client.TxConfig
	Amino             *codec.LegacyAmino
}

// EncodingConfig returns the app's codecs.
func (app *ChroomApp) EncodingConfig() EncodingConfig {
	return EncodingConfig{
		InterfaceRegistry: app.interfaceRegistry,
		Codec:             app.appCodec,
		TxConfig:          app.txConfig,
		Amino:             app.legacyAmino,
	}
}

package app

import (
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

const (
	// AppName is the name of the application, as CometBFT and `chroomd version` show it.
	AppName = "chroom"
	// BondDenom is the base denomination: 1 CHR = 10^6 uchr.
	BondDenom = "uchr"
	// DisplayDenom is the denomination people read.
	DisplayDenom = "chr"
	// Bech32Prefix is the account address prefix: chroom1...
	Bech32Prefix = "chroom"
	// ChroomEpochIdentifier is the x/epochs epoch receipts and rewards count in.
	ChroomEpochIdentifier = "chroom"
	// DefaultChroomEpochDuration is one hour; devnets shorten it with
	// `chroomd genesis set-epoch-duration`.
	DefaultChroomEpochDuration = time.Hour
)

var (
	// Bech32PrefixAccPub is the prefix of account public keys.
	Bech32PrefixAccPub = Bech32Prefix + "pub"
	// Bech32PrefixValAddr is the prefix of validator operator addresses.
	Bech32PrefixValAddr = Bech32Prefix + "valoper"
	// Bech32PrefixValPub is the prefix of validator operator public keys.
	Bech32PrefixValPub = Bech32Prefix + "valoperpub"
	// Bech32PrefixConsAddr is the prefix of consensus node addresses.
	Bech32PrefixConsAddr = Bech32Prefix + "valcons"
	// Bech32PrefixConsPub is the prefix of consensus node public keys.
	Bech32PrefixConsPub = Bech32Prefix + "valconspub"
)

func init() {
	setAddressPrefixes()
	sdk.DefaultBondDenom = BondDenom
}

// setAddressPrefixes sets the SDK's global bech32 configuration to the
// Chroom prefixes. The root command seals it.
func setAddressPrefixes() {
	cfg := sdk.GetConfig()
	cfg.SetBech32PrefixForAccount(Bech32Prefix, Bech32PrefixAccPub)
	cfg.SetBech32PrefixForValidator(Bech32PrefixValAddr, Bech32PrefixValPub)
	cfg.SetBech32PrefixForConsensusNode(Bech32PrefixConsAddr, Bech32PrefixConsPub)
}

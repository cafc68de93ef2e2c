package types

import (
	"context"

	sdk "github.com/cosmos/cosmos-sdk/types"
	epochstypes "github.com/cosmos/cosmos-sdk/x/epochs/types"

	registrytypes "github.com/chroom/chroom/x/registry/types"
	verificationtypes "github.com/chroom/chroom/x/verification/types"
)

// BankKeeper is what x/incentives needs from x/bank.
type BankKeeper interface {
	MintCoins(ctx context.Context, moduleName string, amt sdk.Coins) error
	BurnCoins(ctx context.Context, moduleName string, amt sdk.Coins) error
	SendCoinsFromAccountToModule(ctx context.Context, senderAddr sdk.AccAddress, recipientModule string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, senderModule string, recipientAddr sdk.AccAddress, amt sdk.Coins) error
	GetBalance(ctx context.Context, addr sdk.AccAddress, denom string) sdk.Coin
	// SpendableCoin is the part of the balance not locked (vesting).
	SpendableCoin(ctx context.Context, addr sdk.AccAddress, denom string) sdk.Coin
}

// VerificationKeeper gives the verified work of an epoch.
type VerificationKeeper interface {
	EpochTotals(ctx context.Context, epoch int64) (verificationtypes.EpochTotals, error)
	WalkNodeTallies(ctx context.Context, epoch int64, after string, fn func(verificationtypes.NodeEpochTally) (bool, error)) error
	WalkOrchestratorTallies(ctx context.Context, epoch int64, after string, fn func(verificationtypes.OrchestratorEpochTally) (bool, error)) error
	// ScoreEpoch folds a media node's epoch into its quality score, once
	// (QoS probes and client-attested figures; it publishes the score to
	// x/registry).
	ScoreEpoch(ctx context.Context, nodeID string, epoch int64) error
}

// RegistryKeeper reads node status.
type RegistryKeeper interface {
	GetNode(ctx context.Context, id string) (registrytypes.Node, error)
}

// EpochsKeeper is what x/incentives needs from x/epochs.
type EpochsKeeper interface {
	GetEpochInfo(ctx sdk.Context, identifier string) (epochstypes.EpochInfo, error)
}

package types

import (
	"context"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	epochstypes "github.com/cosmos/cosmos-sdk/x/epochs/types"

	registrytypes "github.com/chroom/chroom/x/registry/types"
)

// RegistryKeeper is what x/verification needs from x/registry.
type RegistryKeeper interface {
	GetNode(ctx context.Context, id string) (registrytypes.Node, error)
	// Params are x/registry's params (BackedCapacity).
	Params(ctx context.Context) (registrytypes.Params, error)
	RecordVerifiedWork(ctx context.Context, nodeID string, epoch int64, sessions, seconds, bytes uint64) error
	// IterateNodes calls fn for every node in node ID order until fn stops.
	IterateNodes(ctx context.Context, fn func(registrytypes.Node) (stop bool, err error)) error
	// SetQualityScore publishes a node's quality score in [0, 1].
	SetQualityScore(ctx context.Context, nodeID string, score sdkmath.LegacyDec) error
	// Jail jails a node (QoS probes failed) for the registry's jail duration.
	Jail(ctx context.Context, nodeID, reason string) error
	SlashWithBounty(ctx context.Context, nodeID string, fraction sdkmath.LegacyDec, reason string,
		reporter sdk.AccAddress, bountyFraction sdkmath.LegacyDec) (burned, bounty sdk.Coin, err error)
}

// EpochsKeeper is what x/verification needs from x/epochs.
type EpochsKeeper interface {
	GetEpochInfo(ctx sdk.Context, identifier string) (epochstypes.EpochInfo, error)
}

// FeeCollector takes the usage fees of accepted receipts (x/incentives
// implements it; set with Keeper.SetFeeCollector, as hooks are, since
// x/incentives depends on x/verification).
type FeeCollector interface {
	// CanPay reports whether payer holds amount.
	CanPay(ctx context.Context, payer sdk.AccAddress, amount sdk.Coin) bool
	// CollectUsageFee moves amount from payer into the reward pool as
	// fees of epoch.
	CollectUsageFee(ctx context.Context, payer sdk.AccAddress, epoch int64, amount sdk.Coin) error
	// AppBilling looks up an app account: its escrow balance, whether it
	// exists, and whether it lets orchestratorID bill it.
	AppBilling(ctx context.Context, appID, orchestratorID string) (balance sdk.Coin, found, authorized bool, err error)
	// CollectAppFee moves amount from the app's escrow into the reward
	// pool as fees of epoch.
	CollectAppFee(ctx context.Context, appID string, epoch int64, amount sdk.Coin) error
}

package keeper

import (
	"context"
	"math"

	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/chroom/chroom/x/registry/types"
)

// Slash burns fraction (in [0, 1]) of a node's stake, records it in the
// node's slash history and jails the node for the jail duration. An
// UNBONDING node is slashed but stays UNBONDING, so a node cannot escape a
// slash by deregistering. The burned amount is truncated towards zero.
// Errors: ErrInvalidSlash for a fraction outside [0, 1] or a reason that
// is empty or longer than 64 bytes, ErrNodeNotFound.
func (k Keeper) Slash(ctx context.Context, nodeID string, fraction sdkmath.LegacyDec, reason string) (sdk.Coin, error) {
	burned, _, err := k.SlashWithBounty(ctx, nodeID, fraction, reason, nil, sdkmath.LegacyZeroDec())
	return burned, err
}

// SlashWithBounty is Slash, except that bountyFraction (in [0, 1]) of the
// slashed amount, truncated, is paid to reporter instead of being burned.
// It is the hook x/verification calls on proven equivocation. It returns
// the burned amount and the bounty. Errors: those of Slash, and
// ErrInvalidSlash for a bounty fraction outside [0, 1] or a bounty without
// a reporter.
func (k Keeper) SlashWithBounty(
	ctx context.Context, nodeID string, fraction sdkmath.LegacyDec, reason string,
	reporter sdk.AccAddress, bountyFraction sdkmath.LegacyDec,
) (burned, bounty sdk.Coin, err error) {
	if fraction.IsNil() || fraction.IsNegative() || fraction.GT(sdkmath.LegacyOneDec()) {
		return sdk.Coin{}, sdk.Coin{}, errorsmod.Wrapf(types.ErrInvalidSlash, "fraction must be in [0, 1], got %s", fraction)
	}
	if bountyFraction.IsNil() || bountyFraction.IsNegative() || bountyFraction.GT(sdkmath.LegacyOneDec()) {
		return sdk.Coin{}, sdk.Coin{}, errorsmod.Wrapf(types.ErrInvalidSlash, "bounty fraction must be in [0, 1], got %s", bountyFraction)
	}
	if bountyFraction.IsPositive() && len(reporter) == 0 {
		return sdk.Coin{}, sdk.Coin{}, errorsmod.Wrap(types.ErrInvalidSlash, "a bounty needs a reporter")
	}
	if err := validateReason(reason); err != nil {
		return sdk.Coin{}, sdk.Coin{}, err
	}
	node, err := k.GetNode(ctx, nodeID)
	if err != nil {
		return sdk.Coin{}, sdk.Coin{}, err
	}
	slashed := fraction.MulInt(node.Stake.Amount).TruncateInt()
	bounty = sdk.NewCoin(node.Stake.Denom, bountyFraction.MulInt(slashed).TruncateInt())
	burned = sdk.NewCoin(node.Stake.Denom, slashed.Sub(bounty.Amount))
	if bounty.IsPositive() {
		if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, reporter, sdk.NewCoins(bounty)); err != nil {
			return sdk.Coin{}, sdk.Coin{}, errorsmod.Wrap(err, "pay slash bounty")
		}
	}
	if burned.IsPositive() {
		if err := k.bank.BurnCoins(ctx, types.ModuleName, sdk.NewCoins(burned)); err != nil {
			return sdk.Coin{}, sdk.Coin{}, errorsmod.Wrap(err, "burn slashed stake")
		}
	}
	node.Stake.Amount = node.Stake.Amount.Sub(slashed)
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	node.SlashHistory = append(node.SlashHistory, types.SlashRecord{
		Height: sdkCtx.BlockHeight(), Fraction: fraction, Burned: sdk.NewCoin(node.Stake.Denom, slashed), Reason: reason,
	})
	if over := len(node.SlashHistory) - types.MaxSlashHistory; over > 0 {
		node.SlashHistory = node.SlashHistory[over:]
	}
	if err := emitNodeSlashed(ctx, node, fraction, burned, reason); err != nil {
		return sdk.Coin{}, sdk.Coin{}, err
	}
	if node.Status != types.NodeStatus_NODE_STATUS_UNBONDING {
		if err := k.jailLocked(ctx, &node, reason); err != nil {
			return sdk.Coin{}, sdk.Coin{}, err
		}
	}
	return burned, bounty, k.setNode(ctx, node)
}

// Jail jails an ACTIVE or JAILED node for the jail duration without
// burning stake (a JAILED node's term restarts). It does nothing to an
// UNBONDING node. Errors: ErrInvalidSlash for a bad reason, ErrNodeNotFound.
func (k Keeper) Jail(ctx context.Context, nodeID, reason string) error {
	if err := validateReason(reason); err != nil {
		return err
	}
	node, err := k.GetNode(ctx, nodeID)
	if err != nil {
		return err
	}
	if node.Status == types.NodeStatus_NODE_STATUS_UNBONDING {
		return nil
	}
	if err := k.jailLocked(ctx, &node, reason); err != nil {
		return err
	}
	return k.setNode(ctx, node)
}

// jailLocked sets node to JAILED until block time + jail duration; the
// caller stores it.
func (k Keeper) jailLocked(ctx context.Context, node *types.Node, reason string) error {
	params, err := k.params.Get(ctx)
	if err != nil {
		return err
	}
	node.Status = types.NodeStatus_NODE_STATUS_JAILED
	node.JailedUntil = sdk.UnwrapSDKContext(ctx).BlockTime().Add(params.JailDuration)
	return emitNodeJailed(ctx, *node, reason)
}

func validateReason(reason string) error {
	if reason == "" || len(reason) > types.MaxReasonLength {
		return errorsmod.Wrapf(types.ErrInvalidSlash, "reason must be 1 to %d bytes", types.MaxReasonLength)
	}
	return nil
}

// RecordVerifiedWork adds accepted work to a node's on-chain statistics:
// sessions (receipts), seconds of verified service and bytes served, and
// sets its last verified epoch. Counters saturate instead of wrapping. x/verification calls it for each accepted
// receipt batch. Errors: ErrNodeNotFound.
func (k Keeper) RecordVerifiedWork(ctx context.Context, nodeID string, epoch int64, sessions, seconds, bytes uint64) error {
	node, err := k.GetNode(ctx, nodeID)
	if err != nil {
		return err
	}
	node.Stats.SessionsServed = satAdd(node.Stats.SessionsServed, sessions)
	node.Stats.VerifiedSeconds = satAdd(node.Stats.VerifiedSeconds, seconds)
	node.Stats.BytesServed = satAdd(node.Stats.BytesServed, bytes)
	if epoch > node.Stats.LastVerifiedEpoch {
		node.Stats.LastVerifiedEpoch = epoch
	}
	return k.setNode(ctx, node)
}

// SetQualityScore sets a node's quality score, which must be in [0, 1].
// x/incentives calls it at the end of each epoch. Errors: ErrInvalidParams
// for a score outside [0, 1], ErrNodeNotFound.
func (k Keeper) SetQualityScore(ctx context.Context, nodeID string, score sdkmath.LegacyDec) error {
	if score.IsNil() || score.IsNegative() || score.GT(sdkmath.LegacyOneDec()) {
		return errorsmod.Wrapf(types.ErrInvalidParams, "quality score must be in [0, 1], got %s", score)
	}
	node, err := k.GetNode(ctx, nodeID)
	if err != nil {
		return err
	}
	node.Stats.QualityScore = score
	return k.setNode(ctx, node)
}

// satAdd adds two counters, saturating at the largest uint64.
func satAdd(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

package keeper

import (
	"bytes"
	"context"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/chroom/chroom/format"
	registrytypes "github.com/chroom/chroom/x/registry/types"
	"github.com/chroom/chroom/x/verification/types"
)

// SubmitEvidence punishes equivocation: a and b are receipts for the same
// (epoch, media node, session) with different contents, both validly
// signed by the media node's registered key for this chain. The media node
// is slashed slash_fraction_equivocation and jailed; if both receipts also
// carry valid countersignatures by one orchestrator, that orchestrator is
// slashed and jailed too. evidence_bounty_fraction of each slashed amount
// goes to the reporter; the rest is burned. Each equivocation is punished
// once. Evidence is accepted while the node is registered, including
// while it unbonds (its stake stays slashable until unbonding completes).
//
// It returns the slashed node IDs and the total bounty. Errors:
// ErrInvalidAddress, ErrInvalidEvidence (with the reason),
// ErrEvidenceAlreadyHandled, registry errors.
func (k Keeper) SubmitEvidence(ctx context.Context, reporter string, a, b format.SignedReceipt) ([]string, sdk.Coin, error) {
	reporterAddr, err := k.addressCodec.StringToBytes(reporter)
	if err != nil {
		return nil, sdk.Coin{}, errorsmod.Wrapf(types.ErrInvalidAddress, "reporter %q: %s", reporter, err)
	}
	if err := a.Receipt.ValidateBasic(); err != nil {
		return nil, sdk.Coin{}, errorsmod.Wrapf(types.ErrInvalidEvidence, "receipt_a: %s", err)
	}
	if err := b.Receipt.ValidateBasic(); err != nil {
		return nil, sdk.Coin{}, errorsmod.Wrapf(types.ErrInvalidEvidence, "receipt_b: %s", err)
	}
	ra, rb := a.Receipt, b.Receipt
	if ra.MediaNodeId != rb.MediaNodeId || ra.Epoch != rb.Epoch || !bytes.Equal(ra.SessionId, rb.SessionId) {
		return nil, sdk.Coin{}, errorsmod.Wrap(types.ErrInvalidEvidence, "the receipts are for different (epoch, media node, session)")
	}
	if format.SameContents(ra, rb) {
		return nil, sdk.Coin{}, errorsmod.Wrap(types.ErrInvalidEvidence, "the receipts are identical: that is a replay, not equivocation")
	}
	key := collections.Join3(ra.Epoch, ra.MediaNodeId, ra.SessionId)
	handled, err := k.equivocations.Has(ctx, key)
	if err != nil {
		return nil, sdk.Coin{}, err
	}
	if handled {
		return nil, sdk.Coin{}, errorsmod.Wrapf(types.ErrEvidenceAlreadyHandled, "media node %s, session %s, epoch %d", ra.MediaNodeId, ra.SessionIDHex(), ra.Epoch)
	}
	media, err := k.registry.GetNode(ctx, ra.MediaNodeId)
	if err != nil {
		return nil, sdk.Coin{}, errorsmod.Wrapf(types.ErrInvalidEvidence, "media node: %s", err)
	}
	if media.NodeType != registrytypes.NodeType_NODE_TYPE_MEDIA {
		return nil, sdk.Coin{}, errorsmod.Wrapf(types.ErrInvalidEvidence, "node %s is not a media node", media.Id)
	}
	chainID := sdk.UnwrapSDKContext(ctx).ChainID()
	if !a.VerifyMediaNodeSignature(media.Pubkey, chainID) {
		return nil, sdk.Coin{}, errorsmod.Wrap(types.ErrInvalidEvidence, "receipt_a: media node signature does not verify")
	}
	if !b.VerifyMediaNodeSignature(media.Pubkey, chainID) {
		return nil, sdk.Coin{}, errorsmod.Wrap(types.ErrInvalidEvidence, "receipt_b: media node signature does not verify")
	}
	params, err := k.params.Get(ctx)
	if err != nil {
		return nil, sdk.Coin{}, err
	}
	if err := k.equivocations.Set(ctx, key); err != nil {
		return nil, sdk.Coin{}, err
	}

	slashed := []string{media.Id}
	burned, bounty, err := k.registry.SlashWithBounty(ctx, media.Id, params.SlashFractionEquivocation,
		types.EquivocationReason, reporterAddr, params.EvidenceBountyFraction)
	if err != nil {
		return nil, sdk.Coin{}, err
	}
	if err := k.emitEquivocation(ctx, media.Id, ra, burned, bounty, reporter); err != nil {
		return nil, sdk.Coin{}, err
	}

	// The orchestrator is slashed only if it countersigned both receipts.
	if ra.OrchestratorId == rb.OrchestratorId {
		orch, err := k.registry.GetNode(ctx, ra.OrchestratorId)
		if err == nil && orch.NodeType == registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR &&
			a.VerifyCountersignature(orch.Pubkey, chainID) && b.VerifyCountersignature(orch.Pubkey, chainID) {
			oBurned, oBounty, err := k.registry.SlashWithBounty(ctx, orch.Id, params.SlashFractionEquivocation,
				types.EquivocationReason, reporterAddr, params.EvidenceBountyFraction)
			if err != nil {
				return nil, sdk.Coin{}, err
			}
			if err := k.emitEquivocation(ctx, orch.Id, ra, oBurned, oBounty, reporter); err != nil {
				return nil, sdk.Coin{}, err
			}
			slashed = append(slashed, orch.Id)
			bounty = bounty.Add(oBounty)
		}
	}
	return slashed, bounty, nil
}

func (k Keeper) emitEquivocation(ctx context.Context, nodeID string, r *format.UsageReceipt, burned, bounty sdk.Coin, reporter string) error {
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventEquivocation{
		NodeId: nodeID, MediaNodeId: r.MediaNodeId, SessionId: r.SessionIDHex(), Epoch: r.Epoch,
		Burned: burned, Bounty: bounty, Reporter: reporter,
	})
}

package types

import (
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
)

// DefaultGenesis returns the default genesis: default params, no nodes.
func DefaultGenesis() *GenesisState {
	return &GenesisState{Params: DefaultParams(), Nodes: []Node{}}
}

// Validate checks the params and every node; node IDs must be unique.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	seen := make(map[string]bool, len(gs.Nodes))
	for i, n := range gs.Nodes {
		if seen[n.Id] {
			return errorsmod.Wrapf(ErrInvalidGenesis, "nodes[%d]: node %s appears twice", i, n.Id)
		}
		seen[n.Id] = true
		if err := n.Validate(gs.Params.StakeDenom()); err != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "nodes[%d] %s: %s", i, n.Id, err)
		}
	}
	return nil
}

// Validate checks a stored node: its ID matches its pubkey, every field is
// well formed, the stake is in stakeDenom, and the status-specific times
// are set.
func (n Node) Validate(stakeDenom string) error {
	if err := ValidateNodeType(n.NodeType); err != nil {
		return err
	}
	id, err := NodeIDFromPubkey(n.Pubkey)
	if err != nil {
		return err
	}
	if id != n.Id {
		return errorsmod.Wrapf(ErrInvalidNodeID, "id %s does not match pubkey (%s)", n.Id, id)
	}
	if _, err := sdk.AccAddressFromBech32(n.Operator); err != nil {
		return errorsmod.Wrapf(ErrInvalidAddress, "operator: %s", err)
	}
	if err := ValidateMoniker(n.Moniker); err != nil {
		return err
	}
	if err := ValidateEndpoints(n.Endpoints); err != nil {
		return err
	}
	if err := ValidateRegion(n.Region); err != nil {
		return err
	}
	if err := ValidateCapacity(n.Capacity); err != nil {
		return err
	}
	if err := n.Stake.Validate(); err != nil || n.Stake.Denom != stakeDenom {
		return errorsmod.Wrapf(ErrInvalidStake, "stake %s must be a valid amount of %s", n.Stake, stakeDenom)
	}
	switch n.Status {
	case NodeStatus_NODE_STATUS_ACTIVE:
	case NodeStatus_NODE_STATUS_JAILED:
		if n.JailedUntil.IsZero() {
			return errorsmod.Wrap(ErrInvalidGenesis, "jailed node has no jailed_until")
		}
	case NodeStatus_NODE_STATUS_UNBONDING:
		if n.UnbondingCompletionTime.IsZero() {
			return errorsmod.Wrap(ErrInvalidGenesis, "unbonding node has no unbonding_completion_time")
		}
	default:
		return errorsmod.Wrapf(ErrInvalidGenesis, "status %s is not a node status", n.Status)
	}
	q := n.Stats.QualityScore
	if q.IsNil() || q.IsNegative() || q.GT(sdkmath.LegacyOneDec()) {
		return errorsmod.Wrap(ErrInvalidGenesis, "stats.quality_score must be in [0, 1]")
	}
	if len(n.SlashHistory) > MaxSlashHistory {
		return errorsmod.Wrapf(ErrInvalidGenesis, "slash_history holds %d records, at most %d allowed", len(n.SlashHistory), MaxSlashHistory)
	}
	return nil
}

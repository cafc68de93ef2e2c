package keeper

import (
	"context"
	"errors"
	"time"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/chroom/chroom/x/registry/types"
)

// GetNode returns the node with the given ID, or ErrNodeNotFound.
func (k Keeper) GetNode(ctx context.Context, id string) (types.Node, error) {
	n, err := k.nodes.Get(ctx, id)
	if errors.Is(err, collections.ErrNotFound) {
		return types.Node{}, errorsmod.Wrapf(types.ErrNodeNotFound, "no node with id %s", id)
	}
	return n, err
}

// HasNode reports whether a node with the given ID is registered.
func (k Keeper) HasNode(ctx context.Context, id string) (bool, error) {
	return k.nodes.Has(ctx, id)
}

// IterateNodes calls fn for every node in node ID order until fn returns
// stop or an error. Unbounded: for genesis export, invariants and tests,
// never for a begin- or end-blocker.
func (k Keeper) IterateNodes(ctx context.Context, fn func(types.Node) (stop bool, err error)) error {
	return k.nodes.Walk(ctx, nil, func(_ string, n types.Node) (bool, error) { return fn(n) })
}

// setNode stores a node, keeping the indexes in step.
func (k Keeper) setNode(ctx context.Context, n types.Node) error {
	return k.nodes.Set(ctx, n.Id, n)
}

// RegisterNode validates msg, bonds its stake from the operator into the
// module account and stores a new ACTIVE node. It returns the node ID.
// Errors: ErrInvalidAddress, ErrInvalidNodeType, ErrInvalidPubkey,
// ErrInvalidMoniker, ErrInvalidEndpoint, ErrInvalidRegion,
// ErrInvalidCapacity, ErrInvalidStake, ErrStakeBelowMinimum,
// ErrPubkeyInUse, or the bank's insufficient-funds error.
func (k Keeper) RegisterNode(ctx context.Context, msg *types.MsgRegisterNode) (string, error) {
	operator, err := k.operatorAddress(msg.Operator)
	if err != nil {
		return "", err
	}
	if err := types.ValidateNodeType(msg.NodeType); err != nil {
		return "", err
	}
	id, err := types.NodeIDFromPubkey(msg.Pubkey)
	if err != nil {
		return "", err
	}
	capacity := types.Capacity{MaxSessions: msg.MaxSessions, MaxEgressKbps: msg.MaxEgressKbps}
	if err := validateMetadata(msg.Moniker, msg.Endpoints, msg.Region, capacity); err != nil {
		return "", err
	}
	params, err := k.params.Get(ctx)
	if err != nil {
		return "", err
	}
	if err := checkStakeCoin("stake", msg.Stake, params.StakeDenom()); err != nil {
		return "", err
	}
	if min := params.MinStake(msg.NodeType); msg.Stake.IsLT(min) {
		return "", errorsmod.Wrapf(types.ErrStakeBelowMinimum, "stake %s is below the %s minimum of %s",
			msg.Stake, nodeTypeName(msg.NodeType), min)
	}
	exists, err := k.nodes.Has(ctx, id)
	if err != nil {
		return "", err
	}
	if exists {
		return "", errorsmod.Wrapf(types.ErrPubkeyInUse, "pubkey is already registered as node %s", id)
	}
	if err := k.bank.SendCoinsFromAccountToModule(ctx, operator, types.ModuleName, sdk.NewCoins(msg.Stake)); err != nil {
		return "", errorsmod.Wrap(err, "bond stake")
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	node := types.Node{
		Id:               id,
		NodeType:         msg.NodeType,
		Operator:         operator.String(), // canonical (lowercase) form
		Pubkey:           msg.Pubkey,
		Moniker:          msg.Moniker,
		Endpoints:        msg.Endpoints,
		Region:           msg.Region,
		Capacity:         capacity,
		Stake:            msg.Stake,
		Status:           types.NodeStatus_NODE_STATUS_ACTIVE,
		RegisteredHeight: sdkCtx.BlockHeight(),
		RegisteredTime:   sdkCtx.BlockTime(),
		Stats:            types.NodeStats{QualityScore: sdkmath.LegacyOneDec()},
	}
	if err := k.setNode(ctx, node); err != nil {
		return "", err
	}
	return id, emitNodeRegistered(ctx, node)
}

// UpdateNode changes the metadata of msg.NodeId. Empty fields are left as
// they are; given endpoints replace the list. Errors: ErrInvalidAddress,
// ErrInvalidNodeID, ErrNodeNotFound, ErrNotOperator, ErrNodeUnbonding,
// ErrNothingToUpdate, and the field validation errors of RegisterNode.
func (k Keeper) UpdateNode(ctx context.Context, msg *types.MsgUpdateNode) error {
	node, err := k.operatedNode(ctx, msg.Operator, msg.NodeId)
	if err != nil {
		return err
	}
	if node.Status == types.NodeStatus_NODE_STATUS_UNBONDING {
		return errorsmod.Wrapf(types.ErrNodeUnbonding, "node %s is unbonding and can no longer be updated", node.Id)
	}
	if msg.Moniker == "" && len(msg.Endpoints) == 0 && msg.Region == "" && msg.MaxSessions == 0 && msg.MaxEgressKbps == 0 {
		return errorsmod.Wrap(types.ErrNothingToUpdate, "give at least one of moniker, endpoints, region, max_sessions, max_egress_kbps")
	}
	if msg.Moniker != "" {
		node.Moniker = msg.Moniker
	}
	if len(msg.Endpoints) > 0 {
		node.Endpoints = msg.Endpoints
	}
	if msg.Region != "" {
		node.Region = msg.Region
	}
	if msg.MaxSessions != 0 {
		node.Capacity.MaxSessions = msg.MaxSessions
	}
	if msg.MaxEgressKbps != 0 {
		node.Capacity.MaxEgressKbps = msg.MaxEgressKbps
	}
	if err := validateMetadata(node.Moniker, node.Endpoints, node.Region, node.Capacity); err != nil {
		return err
	}
	if err := k.setNode(ctx, node); err != nil {
		return err
	}
	return emitNodeUpdated(ctx, node)
}

// AddStake bonds amount more to a node that is not unbonding and returns
// the new total. Errors: those of operatedNode, ErrNodeUnbonding,
// ErrInvalidStake, or the bank's insufficient-funds error.
func (k Keeper) AddStake(ctx context.Context, operatorAddr, nodeID string, amount sdk.Coin) (sdk.Coin, error) {
	node, err := k.operatedNode(ctx, operatorAddr, nodeID)
	if err != nil {
		return sdk.Coin{}, err
	}
	if node.Status == types.NodeStatus_NODE_STATUS_UNBONDING {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrNodeUnbonding, "node %s is unbonding; register a new node instead", node.Id)
	}
	params, err := k.params.Get(ctx)
	if err != nil {
		return sdk.Coin{}, err
	}
	if err := checkStakeCoin("amount", amount, params.StakeDenom()); err != nil {
		return sdk.Coin{}, err
	}
	operator := sdk.MustAccAddressFromBech32(node.Operator)
	if err := k.bank.SendCoinsFromAccountToModule(ctx, operator, types.ModuleName, sdk.NewCoins(amount)); err != nil {
		return sdk.Coin{}, errorsmod.Wrap(err, "bond stake")
	}
	node.Stake = node.Stake.Add(amount)
	if err := k.setNode(ctx, node); err != nil {
		return sdk.Coin{}, err
	}
	return node.Stake, emitStakeAdded(ctx, node, amount)
}

// DeregisterNode moves an ACTIVE or JAILED node to UNBONDING and queues the
// return of its stake after the unbonding period; the stake stays
// slashable until then. It returns the completion time. Errors: those of
// operatedNode, ErrNodeUnbonding when it is already unbonding.
func (k Keeper) DeregisterNode(ctx context.Context, operatorAddr, nodeID string) (completion time.Time, err error) {
	node, err := k.operatedNode(ctx, operatorAddr, nodeID)
	if err != nil {
		return time.Time{}, err
	}
	if node.Status == types.NodeStatus_NODE_STATUS_UNBONDING {
		return time.Time{}, errorsmod.Wrapf(types.ErrNodeUnbonding, "node %s is already unbonding; its stake returns at %s",
			node.Id, node.UnbondingCompletionTime.UTC().Format(timeFormat))
	}
	params, err := k.params.Get(ctx)
	if err != nil {
		return time.Time{}, err
	}
	completion = sdk.UnwrapSDKContext(ctx).BlockTime().Add(params.UnbondingPeriod)
	node.Status = types.NodeStatus_NODE_STATUS_UNBONDING
	node.UnbondingCompletionTime = completion
	if err := k.setNode(ctx, node); err != nil {
		return time.Time{}, err
	}
	if err := k.unbondingQueue.Set(ctx, collections.Join(completion, node.Id)); err != nil {
		return time.Time{}, err
	}
	return completion, emitNodeDeregistered(ctx, node)
}

// Unjail returns a JAILED node to ACTIVE once its jail time has passed and
// its stake is at least the minimum. Errors: those of operatedNode,
// ErrNodeNotJailed, ErrJailPeriodNotOver, ErrStakeBelowMinimum.
func (k Keeper) Unjail(ctx context.Context, operatorAddr, nodeID string) error {
	node, err := k.operatedNode(ctx, operatorAddr, nodeID)
	if err != nil {
		return err
	}
	if node.Status != types.NodeStatus_NODE_STATUS_JAILED {
		return errorsmod.Wrapf(types.ErrNodeNotJailed, "node %s is %s", node.Id, statusName(node.Status))
	}
	now := sdk.UnwrapSDKContext(ctx).BlockTime()
	if now.Before(node.JailedUntil) {
		return errorsmod.Wrapf(types.ErrJailPeriodNotOver, "node %s is jailed until %s (%s from now)",
			node.Id, node.JailedUntil.UTC().Format(timeFormat), node.JailedUntil.Sub(now).Round(1e9))
	}
	params, err := k.params.Get(ctx)
	if err != nil {
		return err
	}
	if min := params.MinStake(node.NodeType); node.Stake.IsLT(min) {
		return errorsmod.Wrapf(types.ErrStakeBelowMinimum, "stake %s is below the %s minimum of %s; add stake first",
			node.Stake, nodeTypeName(node.NodeType), min)
	}
	node.Status = types.NodeStatus_NODE_STATUS_ACTIVE
	if err := k.setNode(ctx, node); err != nil {
		return err
	}
	return emitNodeUnjailed(ctx, node)
}

// operatedNode loads nodeID and checks that operatorAddr operates it.
// Errors: ErrInvalidAddress, ErrInvalidNodeID, ErrNodeNotFound,
// ErrNotOperator.
func (k Keeper) operatedNode(ctx context.Context, operatorAddr, nodeID string) (types.Node, error) {
	operator, err := k.operatorAddress(operatorAddr)
	if err != nil {
		return types.Node{}, err
	}
	if err := types.ValidateNodeID(nodeID); err != nil {
		return types.Node{}, err
	}
	node, err := k.GetNode(ctx, nodeID)
	if err != nil {
		return types.Node{}, err
	}
	if node.Operator != operator.String() {
		return types.Node{}, errorsmod.Wrapf(types.ErrNotOperator, "node %s is operated by %s, not %s", nodeID, node.Operator, operatorAddr)
	}
	return node, nil
}

func (k Keeper) operatorAddress(addr string) (sdk.AccAddress, error) {
	bz, err := k.addressCodec.StringToBytes(addr)
	if err != nil {
		return nil, errorsmod.Wrapf(types.ErrInvalidAddress, "operator %q: %s", addr, err)
	}
	return bz, nil
}

// timeFormat is how times appear in error messages.
const timeFormat = time.RFC3339

func validateMetadata(moniker string, endpoints []string, region string, capacity types.Capacity) error {
	if err := types.ValidateMoniker(moniker); err != nil {
		return err
	}
	if err := types.ValidateEndpoints(endpoints); err != nil {
		return err
	}
	if err := types.ValidateRegion(region); err != nil {
		return err
	}
	return types.ValidateCapacity(capacity)
}

func checkStakeCoin(field string, c sdk.Coin, denom string) error {
	if err := c.Validate(); err != nil {
		return errorsmod.Wrapf(types.ErrInvalidStake, "%s: %s", field, err)
	}
	if c.Denom != denom {
		return errorsmod.Wrapf(types.ErrInvalidStake, "%s must be in %s, got %s", field, denom, c)
	}
	if !c.IsPositive() {
		return errorsmod.Wrapf(types.ErrInvalidStake, "%s must be positive, got %s", field, c)
	}
	return nil
}

func nodeTypeName(t types.NodeType) string {
	if t == types.NodeType_NODE_TYPE_ORCHESTRATOR {
		return "orchestrator"
	}
	return "media node"
}

func statusName(s types.NodeStatus) string {
	switch s {
	case types.NodeStatus_NODE_STATUS_ACTIVE:
		return "active"
	case types.NodeStatus_NODE_STATUS_JAILED:
		return "jailed"
	case types.NodeStatus_NODE_STATUS_UNBONDING:
		return "unbonding"
	default:
		return s.String()
	}
}

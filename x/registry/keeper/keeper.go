// Package keeper implements x/registry: the on-chain registry of media
// nodes and orchestrators, their stake, status and observability.
package keeper

import (
	"context"
	"fmt"
	"time"

	"cosmossdk.io/collections"
	"cosmossdk.io/collections/indexes"
	"cosmossdk.io/core/address"
	"cosmossdk.io/core/store"
	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/chroom/chroom/x/registry/types"
)

// NodeIndexes are the secondary indexes over nodes. Each maps a reference
// key to node IDs.
type NodeIndexes struct {
	// Operator indexes nodes by operator account.
	Operator *indexes.Multi[sdk.AccAddress, string, types.Node]
	// Country indexes nodes by the ISO 3166-1 part of their region.
	Country *indexes.Multi[string, string, types.Node]
	// Status indexes nodes by status.
	Status *indexes.Multi[int32, string, types.Node]
	// Type indexes nodes by node type.
	Type *indexes.Multi[int32, string, types.Node]
}

// IndexesList implements collections.Indexes.
func (i NodeIndexes) IndexesList() []collections.Index[string, types.Node] {
	return []collections.Index[string, types.Node]{i.Operator, i.Country, i.Status, i.Type}
}

func newNodeIndexes(sb *collections.SchemaBuilder) NodeIndexes {
	return NodeIndexes{
		Operator: indexes.NewMulti(sb, types.NodesByOperatorKey, "nodes_by_operator",
			sdk.AccAddressKey, collections.StringKey,
			func(_ string, n types.Node) (sdk.AccAddress, error) { return sdk.AccAddressFromBech32(n.Operator) }),
		Country: indexes.NewMulti(sb, types.NodesByCountryKey, "nodes_by_country",
			collections.StringKey, collections.StringKey,
			func(_ string, n types.Node) (string, error) { return types.Country(n.Region), nil }),
		Status: indexes.NewMulti(sb, types.NodesByStatusKey, "nodes_by_status",
			collections.Int32Key, collections.StringKey,
			func(_ string, n types.Node) (int32, error) { return int32(n.Status), nil }),
		Type: indexes.NewMulti(sb, types.NodesByTypeKey, "nodes_by_type",
			collections.Int32Key, collections.StringKey,
			func(_ string, n types.Node) (int32, error) { return int32(n.NodeType), nil }),
	}
}

// Keeper holds x/registry state. Copies share the same store.
type Keeper struct {
	cdc          codec.BinaryCodec
	storeService store.KVStoreService
	addressCodec address.Codec
	bank         types.BankKeeper
	// authority may change params (the gov module account).
	authority string

	// Schema is the collections schema, for store decoders.
	Schema collections.Schema
	params collections.Item[types.Params]
	// nodes is keyed by node ID.
	nodes *collections.IndexedMap[string, types.Node, NodeIndexes]
	// unbondingQueue holds (completion time, node ID) of UNBONDING nodes,
	// ordered by time.
	unbondingQueue collections.KeySet[collections.Pair[time.Time, string]]
}

// NewKeeper returns the x/registry keeper. authority is the address allowed
// to send MsgUpdateParams (normally the gov module account).
func NewKeeper(
	cdc codec.BinaryCodec,
	storeService store.KVStoreService,
	addressCodec address.Codec,
	bank types.BankKeeper,
	authority string,
) Keeper {
	if _, err := addressCodec.StringToBytes(authority); err != nil {
		panic(fmt.Errorf("x/registry authority %q is not an address: %w", authority, err))
	}
	sb := collections.NewSchemaBuilder(storeService)
	k := Keeper{
		cdc:          cdc,
		storeService: storeService,
		addressCodec: addressCodec,
		bank:         bank,
		authority:    authority,
		params:       collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		nodes: collections.NewIndexedMap(sb, types.NodesKey, "nodes", collections.StringKey,
			codec.CollValue[types.Node](cdc), newNodeIndexes(sb)),
		unbondingQueue: collections.NewKeySet(sb, types.UnbondingQueueKey, "unbonding_queue",
			collections.PairKeyCodec(sdk.TimeKey, collections.StringKey)),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(err)
	}
	k.Schema = schema
	return k
}

// Authority returns the address allowed to change params.
func (k Keeper) Authority() string { return k.authority }

// Params returns the current params.
func (k Keeper) Params(ctx context.Context) (types.Params, error) {
	return k.params.Get(ctx)
}

// SetParams validates and stores params.
func (k Keeper) SetParams(ctx context.Context, p types.Params) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return k.params.Set(ctx, p)
}

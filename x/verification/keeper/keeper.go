// Package keeper implements x/verification: it checks doubly signed usage
// receipts, keeps per-epoch tallies of verified work, and slashes nodes
// proven to have signed conflicting receipts.
package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	"cosmossdk.io/core/store"
	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/chroom/chroom/x/verification/types"
)

// markerKey is (epoch, media node ID, session ID).
type markerKey = collections.Triple[int64, string, []byte]

// Keeper holds x/verification state.
type Keeper struct {
	cdc          codec.BinaryCodec
	addressCodec address.Codec
	registry     types.RegistryKeeper
	epochs       types.EpochsKeeper
	authority    string

	// Schema is the collections schema.
	Schema collections.Schema
	params collections.Item[types.Params]
	// replay maps accepted receipts' (epoch, node, session) to the receipt
	// hash; pruned once the epoch can no longer be submitted.
	replay collections.Map[markerKey, []byte]
	// equivocations holds the (epoch, node, session) keys already punished.
	equivocations collections.KeySet[markerKey]
	nodeTallies   collections.Map[collections.Pair[int64, string], types.NodeEpochTally]
	orchTallies   collections.Map[collections.Pair[int64, string], types.OrchestratorEpochTally]
	totals        collections.Map[int64, types.EpochTotals]
	// QoS probes: assignments and accepted results by (epoch, media node);
	// health by media node; score history by (media node, epoch).
	probeAssignments collections.Map[collections.Pair[int64, string], types.ProbeAssignment]
	probes           collections.Map[collections.Pair[int64, string], types.ProbeRecord]
	nodeHealth       collections.Map[string, types.NodeHealth]
	qualityHistory   collections.Map[collections.Pair[string, int64], types.QualityPoint]
	// fees is shared by the keeper's copies, so SetFeeCollector after
	// construction reaches them all.
	fees *feeRef
}

type feeRef struct{ c types.FeeCollector }

// SetFeeCollector sets who takes usage fees (x/incentives). Without one,
// a non-zero price_per_participant_minute makes every receipt UNPAID.
func (k Keeper) SetFeeCollector(c types.FeeCollector) { k.fees.c = c }

// NewKeeper returns the x/verification keeper. authority may change params.
func NewKeeper(
	cdc codec.BinaryCodec,
	storeService store.KVStoreService,
	addressCodec address.Codec,
	registry types.RegistryKeeper,
	epochs types.EpochsKeeper,
	authority string,
) Keeper {
	if _, err := addressCodec.StringToBytes(authority); err != nil {
		panic(fmt.Errorf("x/verification authority %q is not an address: %w", authority, err))
	}
	sb := collections.NewSchemaBuilder(storeService)
	tripleKey := collections.TripleKeyCodec(collections.Int64Key, collections.StringKey, collections.BytesKey)
	pairKey := collections.PairKeyCodec(collections.Int64Key, collections.StringKey)
	k := Keeper{
		cdc:              cdc,
		fees:             &feeRef{},
		addressCodec:     addressCodec,
		registry:         registry,
		epochs:           epochs,
		authority:        authority,
		params:           collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		replay:           collections.NewMap(sb, types.ReplayMarkersKey, "replay_markers", tripleKey, collections.BytesValue),
		equivocations:    collections.NewKeySet(sb, types.EquivocationsKey, "equivocations", tripleKey),
		nodeTallies:      collections.NewMap(sb, types.NodeTalliesKey, "node_tallies", pairKey, codec.CollValue[types.NodeEpochTally](cdc)),
		orchTallies:      collections.NewMap(sb, types.OrchestratorTalliesKey, "orchestrator_tallies", pairKey, codec.CollValue[types.OrchestratorEpochTally](cdc)),
		totals:           collections.NewMap(sb, types.EpochTotalsKey, "epoch_totals", collections.Int64Key, codec.CollValue[types.EpochTotals](cdc)),
		probeAssignments: collections.NewMap(sb, types.ProbeAssignmentsKey, "probe_assignments", pairKey, codec.CollValue[types.ProbeAssignment](cdc)),
		probes:           collections.NewMap(sb, types.ProbesKey, "probes", pairKey, codec.CollValue[types.ProbeRecord](cdc)),
		nodeHealth:       collections.NewMap(sb, types.NodeHealthKey, "node_health", collections.StringKey, codec.CollValue[types.NodeHealth](cdc)),
		qualityHistory: collections.NewMap(sb, types.QualityHistoryKey, "quality_history",
			collections.PairKeyCodec(collections.StringKey, collections.Int64Key), codec.CollValue[types.QualityPoint](cdc)),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(err)
	}
	k.Schema = schema
	return k
}

// Params returns the params.
func (k Keeper) Params(ctx context.Context) (types.Params, error) { return k.params.Get(ctx) }

// SetParams validates and stores params.
func (k Keeper) SetParams(ctx context.Context, p types.Params) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return k.params.Set(ctx, p)
}

// CurrentEpoch returns the current epoch number and the epoch length in
// seconds of the configured x/epochs identifier. The epoch is 0 before
// epoch counting has started. Errors: ErrEpochNotFound.
func (k Keeper) CurrentEpoch(ctx context.Context) (epoch int64, durationSeconds int64, err error) {
	p, err := k.params.Get(ctx)
	if err != nil {
		return 0, 0, err
	}
	info, err := k.epochs.GetEpochInfo(sdk.UnwrapSDKContext(ctx), p.EpochIdentifier)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: x/epochs has no %q epoch: %s", types.ErrEpochNotFound, p.EpochIdentifier, err)
	}
	if !info.EpochCountingStarted {
		return 0, int64(info.Duration.Seconds()), nil
	}
	return info.CurrentEpoch, int64(info.Duration.Seconds()), nil
}

// NodeTally returns a media node's tally for an epoch (zero if none).
func (k Keeper) NodeTally(ctx context.Context, epoch int64, nodeID string) (types.NodeEpochTally, error) {
	t, err := k.nodeTallies.Get(ctx, collections.Join(epoch, nodeID))
	if err != nil {
		if isNotFound(err) {
			return emptyTally(epoch, nodeID), nil
		}
		return types.NodeEpochTally{}, err
	}
	return t, nil
}

// EpochTotals returns the totals of an epoch (zero if none).
func (k Keeper) EpochTotals(ctx context.Context, epoch int64) (types.EpochTotals, error) {
	t, err := k.totals.Get(ctx, epoch)
	if err != nil {
		if isNotFound(err) {
			return emptyTotals(epoch), nil
		}
		return types.EpochTotals{}, err
	}
	return t, nil
}

// WalkNodeTallies calls fn for the media node tallies of epoch with a node
// ID greater than after, in node ID order, until fn returns stop. Callers
// bound the walk by stopping.
func (k Keeper) WalkNodeTallies(ctx context.Context, epoch int64, after string, fn func(types.NodeEpochTally) (stop bool, err error)) error {
	rng := collections.NewPrefixedPairRange[int64, string](epoch)
	if after != "" {
		rng = rng.StartExclusive(after)
	}
	return k.nodeTallies.Walk(ctx, rng, func(_ collections.Pair[int64, string], t types.NodeEpochTally) (bool, error) {
		return fn(t)
	})
}

// WalkOrchestratorTallies is WalkNodeTallies for orchestrators.
func (k Keeper) WalkOrchestratorTallies(ctx context.Context, epoch int64, after string, fn func(types.OrchestratorEpochTally) (stop bool, err error)) error {
	rng := collections.NewPrefixedPairRange[int64, string](epoch)
	if after != "" {
		rng = rng.StartExclusive(after)
	}
	return k.orchTallies.Walk(ctx, rng, func(_ collections.Pair[int64, string], t types.OrchestratorEpochTally) (bool, error) {
		return fn(t)
	})
}

func emptyTally(epoch int64, nodeID string) types.NodeEpochTally {
	return types.NodeEpochTally{NodeId: nodeID, Epoch: epoch, Weight: zeroDec()}
}

func emptyTotals(epoch int64) types.EpochTotals {
	return types.EpochTotals{Epoch: epoch, MediaWeight: zeroDec()}
}

package keeper

import (
	"context"
)

// EndBlocker deletes replay markers of epochs that can no longer be
// submitted (older than the previous epoch), at most max_prune_per_block
// per block; the rest wait for the next block. A receipt for a pruned
// epoch is refused as stale, so pruning never re-opens a replay.
func (k Keeper) EndBlocker(ctx context.Context) error {
	params, err := k.params.Get(ctx)
	if err != nil {
		return err
	}
	current, _, err := k.CurrentEpoch(ctx)
	if err != nil || current < 3 {
		// Without an epoch (misconfigured chain) or before epoch 3 there is
		// nothing stale; a missing epoch must not halt the chain.
		return nil
	}
	_, err = k.PruneReplayMarkers(ctx, current-2, params.MaxPrunePerBlock)
	return err
}

// PruneReplayMarkers deletes up to limit markers of epochs ≤ upTo and
// returns how many it deleted.
func (k Keeper) PruneReplayMarkers(ctx context.Context, upTo int64, limit uint32) (int, error) {
	var stale []markerKey
	err := k.replay.Walk(ctx, nil, func(key markerKey, _ []byte) (bool, error) {
		if key.K1() > upTo || uint32(len(stale)) >= limit {
			return true, nil
		}
		stale = append(stale, key)
		return false, nil
	})
	if err != nil {
		return 0, err
	}
	for _, key := range stale {
		if err := k.replay.Remove(ctx, key); err != nil {
			return 0, err
		}
	}
	return len(stale), nil
}

// ReplayMarkerCount counts the stored markers; for tests.
func (k Keeper) ReplayMarkerCount(ctx context.Context) (int, error) {
	n := 0
	err := k.replay.Walk(ctx, nil, func(markerKey, []byte) (bool, error) { n++; return false, nil })
	return n, err
}

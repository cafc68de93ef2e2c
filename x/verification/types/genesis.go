package types

import (
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"

	"github.com/chroom/chroom/format"
)

// DefaultGenesis returns default params and empty state.
func DefaultGenesis() *GenesisState {
	return &GenesisState{Params: DefaultParams()}
}

// Validate checks params and the shape of every record.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	check := func(what string, i int, m ReplayMarker) error {
		if m.Epoch <= 0 || len(m.SessionId) != format.SessionIDBytes || format.ValidateNodeID(m.MediaNodeId) != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "%s[%d] is malformed", what, i)
		}
		return nil
	}
	for i, m := range gs.ReplayMarkers {
		if err := check("replay_markers", i, m); err != nil {
			return err
		}
		if len(m.ReceiptHash) != 32 {
			return errorsmod.Wrapf(ErrInvalidGenesis, "replay_markers[%d] receipt_hash must be 32 bytes", i)
		}
	}
	for i, m := range gs.Equivocations {
		if err := check("equivocations", i, m); err != nil {
			return err
		}
	}
	for i, t := range gs.NodeTallies {
		if t.Epoch <= 0 || format.ValidateNodeID(t.NodeId) != nil || t.Weight.IsNil() || t.Weight.IsNegative() {
			return errorsmod.Wrapf(ErrInvalidGenesis, "node_tallies[%d] is malformed", i)
		}
	}
	for i, t := range gs.OrchestratorTallies {
		if t.Epoch <= 0 || format.ValidateNodeID(t.OrchestratorId) != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "orchestrator_tallies[%d] is malformed", i)
		}
	}
	for i, t := range gs.EpochTotals {
		if t.Epoch <= 0 || t.MediaWeight.IsNil() || t.MediaWeight.IsNegative() {
			return errorsmod.Wrapf(ErrInvalidGenesis, "epoch_totals[%d] is malformed", i)
		}
	}
	for i, a := range gs.ProbeAssignments {
		if a.Epoch <= 0 || format.ValidateNodeID(a.MediaNodeId) != nil || format.ValidateNodeID(a.ProberId) != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "probe_assignments[%d] is malformed", i)
		}
	}
	for i, r := range gs.Probes {
		if err := r.Result.ValidateBasic(); err != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "probes[%d]: %s", i, err)
		}
		if !isFraction(r.Quality) {
			return errorsmod.Wrapf(ErrInvalidGenesis, "probes[%d]: quality must be in [0, 1]", i)
		}
	}
	for i, h := range gs.NodeHealth {
		if format.ValidateNodeID(h.NodeId) != nil || !isFraction(h.Score) {
			return errorsmod.Wrapf(ErrInvalidGenesis, "node_health[%d] is malformed", i)
		}
	}
	for i, pt := range gs.QualityHistory {
		if pt.Epoch <= 0 || format.ValidateNodeID(pt.NodeId) != nil || !isFraction(pt.Score) || !isFraction(pt.ProbeQuality) || !isFraction(pt.ClientQuality) {
			return errorsmod.Wrapf(ErrInvalidGenesis, "quality_history[%d] is malformed", i)
		}
	}
	return nil
}

func isFraction(d sdkmath.LegacyDec) bool {
	return !d.IsNil() && !d.IsNegative() && d.LTE(sdkmath.LegacyOneDec())
}

package types

import (
	errorsmod "cosmossdk.io/errors"

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
	return nil
}

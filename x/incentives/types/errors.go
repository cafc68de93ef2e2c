package types

import errorsmod "cosmossdk.io/errors"

// x/incentives errors. Codes start at 2 and are never renumbered.
var (
	ErrInvalidParams      = errorsmod.Register(ModuleName, 2, "invalid params")
	ErrInvalidGenesis     = errorsmod.Register(ModuleName, 3, "invalid genesis")
	ErrInvalidAddress     = errorsmod.Register(ModuleName, 4, "invalid address")
	ErrInvalidAmount      = errorsmod.Register(ModuleName, 5, "invalid amount")
	ErrNothingToClaim     = errorsmod.Register(ModuleName, 6, "nothing to claim")
	ErrSummaryNotFound    = errorsmod.Register(ModuleName, 7, "no summary for epoch")
	ErrInvalidRequest     = errorsmod.Register(ModuleName, 8, "invalid request")
	ErrInvalidApp         = errorsmod.Register(ModuleName, 9, "invalid app")
	ErrAppNotFound        = errorsmod.Register(ModuleName, 10, "app not found")
	ErrAppExists          = errorsmod.Register(ModuleName, 11, "app already exists")
	ErrNotAppOwner        = errorsmod.Register(ModuleName, 12, "not the app's owner")
	ErrInsufficientEscrow = errorsmod.Register(ModuleName, 13, "insufficient app escrow")
)

package types

import errorsmod "cosmossdk.io/errors"

// x/verification errors. Codes start at 2 and are never renumbered.
// Per-receipt problems in a batch are not errors: they are Rejections.
var (
	ErrTooManyReceipts        = errorsmod.Register(ModuleName, 2, "too many receipts in one message")
	ErrNoReceipts             = errorsmod.Register(ModuleName, 3, "no receipts")
	ErrInvalidEvidence        = errorsmod.Register(ModuleName, 4, "invalid evidence")
	ErrEvidenceAlreadyHandled = errorsmod.Register(ModuleName, 5, "equivocation already punished")
	ErrInvalidParams          = errorsmod.Register(ModuleName, 6, "invalid params")
	ErrInvalidGenesis         = errorsmod.Register(ModuleName, 7, "invalid genesis")
	ErrInvalidAddress         = errorsmod.Register(ModuleName, 8, "invalid address")
	ErrEpochNotFound          = errorsmod.Register(ModuleName, 9, "epoch not found")
	ErrInvalidRequest         = errorsmod.Register(ModuleName, 10, "invalid request")
	ErrInvalidProbe           = errorsmod.Register(ModuleName, 11, "invalid probe")
	ErrProbeNotAssigned       = errorsmod.Register(ModuleName, 12, "probe not assigned")
	ErrProbeAlreadySubmitted  = errorsmod.Register(ModuleName, 13, "probe already submitted")
)

package types

import errorsmod "cosmossdk.io/errors"

// x/registry errors. Codes start at 2 and are never renumbered.
var (
	ErrInvalidNodeType   = errorsmod.Register(ModuleName, 2, "invalid node_type")
	ErrInvalidPubkey     = errorsmod.Register(ModuleName, 3, "invalid pubkey")
	ErrPubkeyInUse       = errorsmod.Register(ModuleName, 4, "pubkey already registered")
	ErrInvalidMoniker    = errorsmod.Register(ModuleName, 5, "invalid moniker")
	ErrInvalidEndpoint   = errorsmod.Register(ModuleName, 6, "invalid endpoints")
	ErrInvalidRegion     = errorsmod.Register(ModuleName, 7, "invalid region")
	ErrInvalidCapacity   = errorsmod.Register(ModuleName, 8, "invalid capacity")
	ErrInvalidStake      = errorsmod.Register(ModuleName, 9, "invalid stake")
	ErrStakeBelowMinimum = errorsmod.Register(ModuleName, 10, "stake below minimum")
	ErrNodeNotFound      = errorsmod.Register(ModuleName, 11, "node not found")
	ErrNotOperator       = errorsmod.Register(ModuleName, 12, "signer is not the node's operator")
	ErrNodeUnbonding     = errorsmod.Register(ModuleName, 13, "node is unbonding")
	ErrNodeNotJailed     = errorsmod.Register(ModuleName, 14, "node is not jailed")
	ErrJailPeriodNotOver = errorsmod.Register(ModuleName, 15, "jail period not over")
	ErrInvalidNodeID     = errorsmod.Register(ModuleName, 16, "invalid node_id")
	ErrInvalidParams     = errorsmod.Register(ModuleName, 17, "invalid params")
	ErrInvalidGenesis    = errorsmod.Register(ModuleName, 18, "invalid genesis")
	ErrInvalidSlash      = errorsmod.Register(ModuleName, 19, "invalid slash")
	ErrInvalidAddress    = errorsmod.Register(ModuleName, 20, "invalid address")
	ErrNothingToUpdate   = errorsmod.Register(ModuleName, 21, "nothing to update")
)

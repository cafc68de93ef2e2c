package keeper

import (
	"errors"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"
)

func isNotFound(err error) bool { return errors.Is(err, collections.ErrNotFound) }

func zeroDec() sdkmath.LegacyDec { return sdkmath.LegacyZeroDec() }

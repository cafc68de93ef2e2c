package incentives

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"
)

// AutoCLIOptions describes `chroomd tx incentives` and `chroomd query incentives`.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: "chroom.incentives.v1.Query",
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Pool", Use: "pool", Short: "Show the reward pool, the unclaimed rewards and the module balance"},
				{
					RpcMethod:      "EpochSummary",
					Use:            "epoch-summary <epoch>",
					Short:          "Show how an epoch's rewards were split",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "epoch"}},
				},
				{
					RpcMethod:      "Rewards",
					Use:            "rewards <operator-address>",
					Short:          "Show an operator's claimable rewards",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "operator"}},
				},
				{RpcMethod: "Params", Use: "params", Short: "Show the x/incentives params"},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: "chroom.incentives.v1.Msg",
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{
					RpcMethod:      "FundPool",
					Use:            "fund-pool <amount> --from KEY",
					Short:          "Pay uchr into the reward pool; it is paid out with this epoch's budget",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "amount"}},
				},
				{
					RpcMethod: "ClaimRewards",
					Use:       "claim-rewards --from KEY",
					Short:     "Pay all of the --from operator's claimable rewards to it",
				},
				{RpcMethod: "UpdateParams", Skip: true}, // governance only
			},
		},
	}
}

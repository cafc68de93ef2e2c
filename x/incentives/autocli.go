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
				{
					RpcMethod:      "App",
					Use:            "app <app-id>",
					Short:          "Show an app account: owner, escrow balance, fees spent, orchestrators allowed to bill it",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "app_id"}},
				},
				{RpcMethod: "Apps", Use: "apps", Short: "List app accounts in app ID order"},
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
				{
					RpcMethod: "CreateApp",
					Use:       "create-app <app-id> [orchestrator-id]... --from KEY",
					Short:     "Create an app account (escrow) owned by --from that the named orchestrators may bill",
					Long: "Create an app account owned by --from. App IDs are 1-64 characters of a-z, 0-9 and '-', " +
						"starting with a letter. Each orchestrator-id (a node ID) may then bill the app's escrow one usage " +
						"fee per accepted receipt (x/verification price_per_participant_minute); name the app in the " +
						"orchestrator's config (api.keys[].bill_app). Fund it with fund-app.",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "app_id"}, {ProtoField: "orchestrator_ids", Varargs: true}},
				},
				{
					RpcMethod:      "FundApp",
					Use:            "fund-app <app-id> <amount> --from KEY",
					Short:          "Pay uchr into an app's escrow (anyone may)",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "app_id"}, {ProtoField: "amount"}},
				},
				{
					RpcMethod:      "WithdrawApp",
					Use:            "withdraw-app <app-id> <amount> --from OWNER",
					Short:          "Pay uchr from an app's escrow back to its owner",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "app_id"}, {ProtoField: "amount"}},
				},
				{
					RpcMethod:      "UpdateApp",
					Use:            "update-app <app-id> [orchestrator-id]... --from OWNER",
					Short:          "Replace the orchestrators allowed to bill an app (none: nobody may)",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "app_id"}, {ProtoField: "orchestrator_ids", Varargs: true}},
				},
				{RpcMethod: "UpdateParams", Skip: true}, // governance only
			},
		},
	}
}

// Package chain is the orchestrator's only connection to chroomd
// (DESIGN.md §3): gRPC queries of the registry, epochs and rewards, a View of
// the registry kept fresh on new blocks, and a Submitter that signs and
// broadcasts MsgSubmitReceipts with the operator's keyring account.
//
// Encoding: the package builds its own interface registry with the SDK's
// std types (crypto keys, tx) and Chroom's x/registry, x/verification and
// x/incentives registered, and the chroom bech32 address codecs as signing
// options. That is everything the queries, the keyring records and
// MsgSubmitReceipts need; building the whole app (app.New) for its
// EncodingConfig would link and construct every keeper of the chain in the
// orchestrator for no gain. Addresses are rendered with the package's own
// bech32 codec, so the SDK's global bech32 configuration is neither read
// nor changed.
//
// Dependencies: the package must not import the SDK's client packages
// (github.com/cosmos/cosmos-sdk/client, client/tx, client/grpc/cmtservice)
// or packages that do (x/auth/tx, x/auth/types): through CometBFT's RPC
// mock client they link the consensus engine, privval and go-libp2p with
// pion/webrtc into the orchestrator. Transactions are therefore built and
// signed here (see signDirect), and the x/auth AccountInfo and CometBFT
// GetLatestBlock queries use the cosmossdk.io/api (pulsar) types, which the
// client's gRPC codec encodes as well as the gogoproto ones.
package chain

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	authv1beta1 "cosmossdk.io/api/cosmos/auth/v1beta1"
	cmtv1beta1 "cosmossdk.io/api/cosmos/base/tendermint/v1beta1"
	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/codec/address"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/std"
	sdk "github.com/cosmos/cosmos-sdk/types"
	grpctypes "github.com/cosmos/cosmos-sdk/types/grpc"
	"github.com/cosmos/cosmos-sdk/types/query"
	epochstypes "github.com/cosmos/cosmos-sdk/x/epochs/types"
	"github.com/cosmos/cosmos-sdk/x/tx/signing"
	"github.com/cosmos/gogoproto/proto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	incentivestypes "github.com/chroom/chroom/x/incentives/types"
	registrytypes "github.com/chroom/chroom/x/registry/types"
	verificationtypes "github.com/chroom/chroom/x/verification/types"
)

const (
	// Bech32Prefix is the chain's account address prefix (app.Bech32Prefix).
	Bech32Prefix = "chroom"
	// Bech32PrefixValAddr is the validator operator prefix
	// (app.Bech32PrefixValAddr).
	Bech32PrefixValAddr = Bech32Prefix + "valoper"
	// EpochIdentifier is the x/epochs epoch receipts and rewards count in
	// (app.ChroomEpochIdentifier).
	EpochIdentifier = "chroom"
	// NodesPageLimit is the page size Nodes asks for: x/registry's
	// MaxPageLimit.
	NodesPageLimit = 1000
	// MaxNodesPages bounds how many pages one Nodes call reads
	// (NodesPageLimit × MaxNodesPages nodes), so a misbehaving node cannot
	// keep it paging forever.
	MaxNodesPages = 1000
)

// Client is a gRPC connection to one chroomd node with the codecs its
// queries and transactions need. It is safe for concurrent use.
type Client struct {
	conn      *grpc.ClientConn
	registry  codectypes.InterfaceRegistry
	cdc       *codec.ProtoCodec
	addrCodec address.Bech32Codec
}

// NewInterfaceRegistry returns the interface registry the package encodes
// with: std, x/registry, x/verification and x/incentives types, chroom
// bech32 address codecs for signers. (x/auth's types are not registered:
// their package links the SDK client, see the package doc, and nothing the
// package decodes carries them in an Any.)
func NewInterfaceRegistry() (codectypes.InterfaceRegistry, error) {
	reg, err := codectypes.NewInterfaceRegistryWithOptions(codectypes.InterfaceRegistryOptions{
		ProtoFiles: proto.HybridResolver,
		SigningOptions: signing.Options{
			AddressCodec:          address.Bech32Codec{Bech32Prefix: Bech32Prefix},
			ValidatorAddressCodec: address.Bech32Codec{Bech32Prefix: Bech32PrefixValAddr},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("build interface registry: %w", err)
	}
	std.RegisterInterfaces(reg)
	registrytypes.RegisterInterfaces(reg)
	verificationtypes.RegisterInterfaces(reg)
	incentivestypes.RegisterInterfaces(reg)
	return reg, nil
}

// Dial connects to chroomd's gRPC server at grpcAddr ("host:port"), without
// TLS: chroomd's gRPC server speaks plaintext, so it belongs on loopback or
// a private network. The connection is made lazily; Dial checks it with one
// query (the node's chain ID) and fails if that does not answer before ctx
// ends.
func Dial(ctx context.Context, grpcAddr string) (*Client, error) {
	reg, err := NewInterfaceRegistry()
	if err != nil {
		return nil, err
	}
	cdc := codec.NewProtoCodec(reg)
	conn, err := grpc.NewClient(grpcAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(cdc.GRPCCodec())))
	if err != nil {
		return nil, fmt.Errorf("dial chroomd gRPC %s: %w", grpcAddr, err)
	}
	c := &Client{
		conn:      conn,
		registry:  reg,
		cdc:       cdc,
		addrCodec: address.Bech32Codec{Bech32Prefix: Bech32Prefix},
	}
	if _, err := c.ChainID(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("dial chroomd gRPC %s: %w", grpcAddr, err)
	}
	return c, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Conn is the underlying connection, for query clients this package does
// not wrap.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Codec is the codec the client encodes with (the keyring needs it).
func (c *Client) Codec() codec.Codec { return c.cdc }

// AccAddressString renders addr in bech32 with the chroom prefix.
func (c *Client) AccAddressString(addr sdk.AccAddress) (string, error) {
	return c.addrCodec.BytesToString(addr)
}

// latestBlock returns the header of the node's latest block
// (cosmos.base.tendermint.v1beta1.Service/GetLatestBlock). Its getters are
// nil-safe: a block without a header reads as chain ID "" and height 0.
func (c *Client) latestBlock(ctx context.Context) (*cmtv1beta1.Header, error) {
	res, err := cmtv1beta1.NewServiceClient(c.conn).GetLatestBlock(ctx, &cmtv1beta1.GetLatestBlockRequest{})
	if err != nil {
		return nil, fmt.Errorf("query latest block: %w", err)
	}
	if res.GetSdkBlock() == nil {
		return nil, errors.New("query latest block: node returned no block")
	}
	return res.GetSdkBlock().GetHeader(), nil
}

// ChainID returns the chain ID of the node's latest block.
func (c *Client) ChainID(ctx context.Context) (string, error) {
	h, err := c.latestBlock(ctx)
	if err != nil {
		return "", err
	}
	if h.GetChainId() == "" {
		return "", errors.New("query latest block: empty chain ID")
	}
	return h.GetChainId(), nil
}

// LatestHeight returns the height of the node's latest block
// (GetLatestBlock).
func (c *Client) LatestHeight(ctx context.Context) (int64, error) {
	h, err := c.latestBlock(ctx)
	if err != nil {
		return 0, err
	}
	return h.GetHeight(), nil
}

// RegistryParams reads x/registry's params (chroom.registry.v1.Query/Params).
func (c *Client) RegistryParams(ctx context.Context) (registrytypes.Params, error) {
	res, err := registrytypes.NewQueryClient(c.conn).Params(ctx, &registrytypes.QueryParamsRequest{})
	if err != nil {
		return registrytypes.Params{}, fmt.Errorf("query registry params: %w", err)
	}
	return res.Params, nil
}

// Nodes returns every registered node, of every type and status, in the
// order the query returns them, reading all pages of the x/registry Nodes
// query. All pages are read at the height the first page answered at, so
// the list is one consistent snapshot.
func (c *Client) Nodes(ctx context.Context) ([]registrytypes.Node, error) {
	q := registrytypes.NewQueryClient(c.conn)
	var (
		out    []registrytypes.Node
		key    []byte
		height int64
	)
	for page := 1; ; page++ {
		if page > MaxNodesPages {
			return nil, fmt.Errorf("query registry nodes: more than %d pages", MaxNodesPages)
		}
		pctx := ctx
		if height > 0 {
			pctx = metadata.AppendToOutgoingContext(ctx, grpctypes.GRPCBlockHeightHeader, strconv.FormatInt(height, 10))
		}
		var header metadata.MD
		res, err := q.Nodes(pctx, &registrytypes.QueryNodesRequest{
			Pagination: &query.PageRequest{Key: key, Limit: NodesPageLimit},
		}, grpc.Header(&header))
		if err != nil {
			return nil, fmt.Errorf("query registry nodes, page %d: %w", page, err)
		}
		if height == 0 {
			height = headerHeight(header)
		}
		out = append(out, res.Nodes...)
		if res.Pagination == nil || len(res.Pagination.NextKey) == 0 {
			return out, nil
		}
		key = res.Pagination.NextKey
	}
}

// headerHeight reads the height a query answered at from the response
// header, 0 if absent.
func headerHeight(md metadata.MD) int64 {
	vals := md.Get(grpctypes.GRPCBlockHeightHeader)
	if len(vals) == 0 {
		return 0
	}
	h, err := strconv.ParseInt(vals[0], 10, 64)
	if err != nil || h < 0 {
		return 0
	}
	return h
}

// Claimable returns the rewards operator (a chroom1… address) can claim now
// (x/incentives Rewards).
func (c *Client) Claimable(ctx context.Context, operator string) (sdk.Coin, error) {
	res, err := incentivestypes.NewQueryClient(c.conn).Rewards(ctx, &incentivestypes.QueryRewardsRequest{Operator: operator})
	if err != nil {
		return sdk.Coin{}, fmt.Errorf("query rewards of %s: %w", operator, err)
	}
	return res.Claimable, nil
}

// CurrentEpoch returns the current number of the x/epochs epoch
// EpochIdentifier; 0 until epoch counting starts.
func (c *Client) CurrentEpoch(ctx context.Context) (int64, error) {
	res, err := epochstypes.NewQueryClient(c.conn).CurrentEpoch(ctx, &epochstypes.QueryCurrentEpochRequest{Identifier: EpochIdentifier})
	if err != nil {
		return 0, fmt.Errorf("query current %q epoch: %w", EpochIdentifier, err)
	}
	return res.CurrentEpoch, nil
}

// account returns the account number and sequence of addr (x/auth
// AccountInfo).
func (c *Client) account(ctx context.Context, addr string) (number, sequence uint64, err error) {
	res, err := authv1beta1.NewQueryClient(c.conn).AccountInfo(ctx, &authv1beta1.QueryAccountInfoRequest{Address: addr})
	if err != nil {
		return 0, 0, fmt.Errorf("query account %s: %w", addr, err)
	}
	if res.GetInfo() == nil {
		return 0, 0, fmt.Errorf("query account %s: no account info", addr)
	}
	return res.GetInfo().GetAccountNumber(), res.GetInfo().GetSequence(), nil
}

// ProbeAssignment is one QoS probe the chain assigned in an epoch
// (x/verification ProbeAssignments): orchestrator ProberID is to probe
// media node MediaNodeID; Submitted says a result is on chain.
type ProbeAssignment struct {
	Epoch       int64
	MediaNodeID string
	ProberID    string
	Submitted   bool
}

// ProbeAssignments returns every QoS probe assigned in epoch, all pages.
func (c *Client) ProbeAssignments(ctx context.Context, epoch int64) ([]ProbeAssignment, error) {
	q := verificationtypes.NewQueryClient(c.conn)
	var out []ProbeAssignment
	var key []byte
	for {
		res, err := q.ProbeAssignments(ctx, &verificationtypes.QueryProbeAssignmentsRequest{Epoch: epoch, Pagination: &query.PageRequest{Key: key, Limit: 1000}})
		if err != nil {
			return nil, fmt.Errorf("query probe assignments of epoch %d: %w", epoch, err)
		}
		done := map[string]bool{}
		for _, p := range res.Probes {
			done[p.Result.MediaNodeId] = true
		}
		for _, a := range res.Assignments {
			out = append(out, ProbeAssignment{Epoch: a.Epoch, MediaNodeID: a.MediaNodeId, ProberID: a.ProberId, Submitted: done[a.MediaNodeId]})
		}
		if res.Pagination == nil || len(res.Pagination.NextKey) == 0 {
			return out, nil
		}
		key = res.Pagination.NextKey
	}
}

// NodeHealth is a media node's quality record (x/verification NodeHealth)
// as plain values: score and qualities in [0, 1], history newest first.
type NodeHealth struct {
	Score                   float64
	ConsecutiveFailedProbes uint32
	ProbesPassed            uint64
	ProbesFailed            uint64
	LastProbedEpoch         int64
	// Probes are the node's recent probes, newest first.
	Probes  []ProbeRecord
	History []QualityPoint
}

// ProbeRecord is one accepted QoS probe.
type ProbeRecord struct {
	Epoch                                                           int64
	Connected                                                       bool
	SetupMs, RttMs, JitterMs, LossPermille, BitrateKbps, TargetKbps uint32
	Error                                                           string
	Quality                                                         float64
}

// QualityPoint is one epoch of a node's score history.
type QualityPoint struct {
	Epoch                       int64
	Probed                      bool
	ProbeQuality, ClientQuality float64
	ClientSeconds               uint64
	Score                       float64
}

// NodeHealth reads media node id's quality record.
func (c *Client) NodeHealth(ctx context.Context, id string) (NodeHealth, error) {
	res, err := verificationtypes.NewQueryClient(c.conn).NodeHealth(ctx, &verificationtypes.QueryNodeHealthRequest{NodeId: id})
	if err != nil {
		return NodeHealth{}, fmt.Errorf("query node health of %s: %w", id, err)
	}
	f := func(d sdkmath.LegacyDec) float64 {
		if d.IsNil() {
			return 0
		}
		v, _ := d.Float64()
		return v
	}
	h := res.Health
	out := NodeHealth{Score: f(h.Score), ConsecutiveFailedProbes: h.ConsecutiveFailedProbes, ProbesPassed: h.ProbesPassed,
		ProbesFailed: h.ProbesFailed, LastProbedEpoch: h.LastProbedEpoch}
	for _, p := range res.RecentProbes {
		r := p.Result
		out.Probes = append(out.Probes, ProbeRecord{Epoch: r.Epoch, Connected: r.Connected, SetupMs: r.SetupMs, RttMs: r.RttMs, JitterMs: r.JitterMs,
			LossPermille: r.LossPermille, BitrateKbps: r.BitrateKbps, TargetKbps: r.TargetKbps, Error: r.Error, Quality: f(p.Quality)})
	}
	for _, q := range res.History {
		out.History = append(out.History, QualityPoint{Epoch: q.Epoch, Probed: q.Probed, ProbeQuality: f(q.ProbeQuality),
			ClientQuality: f(q.ClientQuality), ClientSeconds: q.ClientSeconds, Score: f(q.Score)})
	}
	return out, nil
}

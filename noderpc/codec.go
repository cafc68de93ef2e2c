// Package noderpc is what both sides of Media Node RPC (DESIGN.md §3–§4)
// share: gRPC over HTTP/2 between media nodes and orchestrators, each
// call signed with the caller's node key and checked against x/registry
// by the callee — the signing and verifying interceptors, the gogoproto
// codec, endpoint parsing, and the generated messages and services
// (rpcpb). It imports neither the Cosmos SDK nor Pion, so an
// orchestrator does not link the SFU. The media node's service is in
// medianode/rpc.
package noderpc

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
)

// gogoMessage is what gogoproto-generated messages implement.
type gogoMessage interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

// Codec marshals gogoproto messages with their generated methods
// (deterministic field order), so signatures over request bytes verify on
// the other side.
type Codec struct{}

var _ encoding.Codec = Codec{}

// Marshal implements encoding.Codec.
func (Codec) Marshal(v any) ([]byte, error) {
	m, ok := v.(gogoMessage)
	if !ok {
		return nil, fmt.Errorf("rpc codec: %T is not a gogoproto message", v)
	}
	return m.Marshal()
}

// Unmarshal implements encoding.Codec.
func (Codec) Unmarshal(data []byte, v any) error {
	m, ok := v.(gogoMessage)
	if !ok {
		return fmt.Errorf("rpc codec: %T is not a gogoproto message", v)
	}
	return m.Unmarshal(data)
}

// Name implements encoding.Codec.
func (Codec) Name() string { return "proto" }

// codecV2 adapts Codec to grpc's encoding.CodecV2 for ForceCodecV2.
type codecV2 struct{}

func (codecV2) Marshal(v any) (mem.BufferSlice, error) {
	b, err := Codec{}.Marshal(v)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (codecV2) Unmarshal(data mem.BufferSlice, v any) error {
	return Codec{}.Unmarshal(data.Materialize(), v)
}

func (codecV2) Name() string { return "proto" }

// ServerCodec is the grpc.ServerOption that makes a server use Codec.
func ServerCodec() grpc.ServerOption { return grpc.ForceServerCodecV2(codecV2{}) }

// DialCodec is the grpc.DialOption that makes a client use Codec.
func DialCodec() grpc.DialOption { return grpc.WithDefaultCallOptions(grpc.ForceCodecV2(codecV2{})) }

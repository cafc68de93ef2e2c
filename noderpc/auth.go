package noderpc

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/chroom/chroom/format"
)

// Metadata keys of a signed call.
const (
	MetaNodeID    = "chroom-node-id"
	MetaUnixMs    = "chroom-unix-ms"
	MetaSignature = "chroom-signature"
)

// MaxClockSkew is how far a call's timestamp may be from the callee's clock.
const MaxClockSkew = 60 * time.Second

// callBytes is what a call's signature covers: the full method name, the
// timestamp in Unix ms and SHA-256 of the request's encoding.
func callBytes(method string, unixMs int64, req any) ([]byte, error) {
	m, ok := req.(gogoMessage)
	if !ok {
		return nil, fmt.Errorf("request %T is not a gogoproto message", req)
	}
	body, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	out := append([]byte(method), 0)
	out = binary.BigEndian.AppendUint64(out, uint64(unixMs))
	return append(out, sum[:]...), nil
}

// SignCalls returns a client interceptor that signs every unary call with
// key for chainID.
func SignCalls(key *format.NodeKey, chainID string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		now := time.Now().UnixMilli()
		payload, err := callBytes(method, now, req)
		if err != nil {
			return err
		}
		sig, err := key.Sign(format.ObjectRPCCall, chainID, payload)
		if err != nil {
			return err
		}
		ctx = metadata.AppendToOutgoingContext(ctx, MetaNodeID, key.ID, MetaUnixMs, strconv.FormatInt(now, 10),
			MetaSignature, base64.StdEncoding.EncodeToString(sig))
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// CallerKeys resolves the caller's registered public key; it returns an
// error if the caller is not an ACTIVE node of the type allowed to call.
type CallerKeys func(nodeID string) (ed25519.PublicKey, error)

type callerKey struct{}

// Caller returns the authenticated caller's node ID.
func Caller(ctx context.Context) string {
	id, _ := ctx.Value(callerKey{}).(string)
	return id
}

// WithCaller returns ctx as VerifyCalls leaves it for a call from node
// id (for in-process callers and tests).
func WithCaller(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, callerKey{}, id)
}

// VerifyCalls returns a server interceptor that accepts a call only if it
// carries a fresh timestamp and a valid signature, for chainID, by a node
// that keys accepts. Failures are Unauthenticated with the reason.
func VerifyCalls(keys CallerKeys, chainID string, now func() time.Time) grpc.UnaryServerInterceptor {
	if now == nil {
		now = time.Now
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		id, err := verify(ctx, keys, chainID, now(), info.FullMethod, req)
		if err != nil {
			return nil, status.Error(codes.Unauthenticated, err.Error())
		}
		return handler(context.WithValue(ctx, callerKey{}, id), req)
	}
}

func verify(ctx context.Context, keys CallerKeys, chainID string, now time.Time, method string, req any) (string, error) {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return "", errors.New("the call is not signed")
	}
	get := func(k string) string {
		if v := md.Get(k); len(v) == 1 {
			return v[0]
		}
		return ""
	}
	id, ts, sigB64 := get(MetaNodeID), get(MetaUnixMs), get(MetaSignature)
	if id == "" || ts == "" || sigB64 == "" {
		return "", errors.New("the call is not signed: node ID, timestamp and signature metadata are required")
	}
	unixMs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", errors.New("the call's timestamp is not a number")
	}
	if d := now.Sub(time.UnixMilli(unixMs)); d > MaxClockSkew || d < -MaxClockSkew {
		return "", fmt.Errorf("the call's timestamp is %s off this node's clock", d.Round(time.Second))
	}
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		return "", errors.New("the call's signature is not base64")
	}
	pub, err := keys(id)
	if err != nil {
		return "", fmt.Errorf("caller %s: %w", id, err)
	}
	payload, err := callBytes(method, unixMs, req)
	if err != nil {
		return "", err
	}
	if !format.Verify(pub, format.ObjectRPCCall, chainID, payload, sig) {
		return "", errors.New("the call's signature does not verify with the caller's registered key")
	}
	return id, nil
}

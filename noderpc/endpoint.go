package noderpc

import (
	"fmt"
	"net/url"
	"strings"
)

// RPCEndpoint returns the host:port and TLS choice of a node's Media Node
// RPC endpoint: its first http(s) endpoint whose path is /rpc.
func RPCEndpoint(endpoints []string) (target string, useTLS bool, err error) {
	for _, e := range endpoints {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || strings.TrimSuffix(u.Path, "/") != "/rpc" {
			continue
		}
		host := u.Host
		if u.Port() == "" {
			host += map[string]string{"http": ":80", "https": ":443"}[u.Scheme]
		}
		return host, u.Scheme == "https", nil
	}
	return "", false, fmt.Errorf("no http(s)://…/rpc endpoint among %v", endpoints)
}

// HTTPBase returns a node's public base URL: its first http(s) endpoint
// that is not its /rpc one; "" if none.
func HTTPBase(endpoints []string) string {
	for _, e := range endpoints {
		u, err := url.Parse(e)
		if err == nil && (u.Scheme == "http" || u.Scheme == "https") && strings.TrimSuffix(u.Path, "/") != "/rpc" {
			return e
		}
	}
	return ""
}

// SignalURL returns a media node's signaling WebSocket (ws(s)://…/rtc,
// from HTTPBase), as orchestrators tell clients and relay legs dial it;
// "" if it registered no http(s) base.
func SignalURL(endpoints []string) string {
	base := strings.TrimSuffix(HTTPBase(endpoints), "/")
	if base == "" {
		return ""
	}
	return "ws" + strings.TrimPrefix(base, "http") + "/rtc"
}

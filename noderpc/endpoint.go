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

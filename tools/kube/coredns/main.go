// Command coredns is CoreDNS with only the plugins a cluster's DNS needs,
// which keeps its build to the Kubernetes client and not the cloud SDKs of
// CoreDNS's default plugin set. This is CoreDNS's documented way to choose
// plugins at compile time.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/ready"
)

// The order in which plugins handle a query, as in CoreDNS's plugin.cfg.
var directives = []string{
	"bind",
	"errors",
	"health",
	"ready",
	"cache",
	"loadbalance",
	"kubernetes",
}

func init() {
	dnsserver.Directives = directives
}

func main() {
	coremain.Run()
}

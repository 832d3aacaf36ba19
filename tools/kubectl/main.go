// Command kubectl is Kubernetes' kubectl, built from the k8s.io/kubectl
// release that go.mod pins (the cluster's minor version, tools/kube), so the
// repository's targets never use whatever kubectl is on PATH. Its main is
// that of k8s.io/kubernetes/cmd/kubectl, which is not a module of its own;
// the cloud providers' credential plugins are left out.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	// Verbosity is set before the command is built, as upstream does, so
	// that klog honours -v while kubectl reads its configuration.
	logs.GlogSetter(cmd.GetLogVerbosity(os.Args)) //nolint:errcheck
	if err := cli.RunNoErrOutput(cmd.NewDefaultKubectlCommand()); err != nil {
		util.CheckErr(err)
	}
}

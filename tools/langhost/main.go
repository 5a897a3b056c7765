// Command pulumi-language-python is a small Python language host for the Pulumi CLI.
//
// The engine starts a language host to run a Pulumi program. OVHcloud users with internet get the
// official host from Pulumi's installer; on machines that reach only package registries its Go
// module (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) is not served, so
// scripts/install-pulumi.sh builds this one instead. It speaks the same gRPC protocol
// (pulumirpc.LanguageRuntime) and runs the program the same way: the Python SDK's own
// `pulumi-language-python-exec` script (shipped in the sdk/v3 module) inside the project's
// virtual environment, resolved by the SDK's own toolchain package from Pulumi.yaml's runtime
// options. What it does not implement (code generation, templates, packing) answers
// Unimplemented, which the engine reports as such.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// version is stamped by the build (-ldflags -X main.version=...): the Pulumi release whose Python
// SDK and exec script this host was installed with.
var version = "0.0.0-dev"

// execScriptName is the SDK's program runner, installed next to this binary.
const execScriptName = "pulumi-language-python-exec"

func main() {
	// The engine passes its own address as the last positional argument; older engines also pass
	// flags, accepted here so that they do not fail the start.
	flags := flag.NewFlagSet("pulumi-language-python", flag.ContinueOnError)
	flags.String("tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint (ignored)")
	flags.String("root", "", "Project root (ignored: the engine sends it with each request)")
	flags.String("virtualenv", "", "Virtual environment (ignored: read from the runtime options)")
	flags.String("typechecker", "", "Type checker (ignored)")
	if err := flags.Parse(os.Args[1:]); err != nil {
		fatalf("bad arguments: %v", err)
	}
	engineAddress := ""
	if flags.NArg() > 0 {
		engineAddress = flags.Arg(flags.NArg() - 1)
	}

	execPath, err := findExecScript()
	if err != nil {
		fatalf("%v", err)
	}
	h := &host{engineAddress: engineAddress, execPath: execPath}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		fatalf("could not start the language host: %v", err)
	}
	// The engine reads the port from the first line of standard output.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fatalf("language host stopped: %v", err)
	}
}

// findExecScript looks for the SDK's runner beside this binary, then on PATH.
func findExecScript() (string, error) {
	self, err := os.Executable()
	if err == nil {
		candidate := filepath.Join(filepath.Dir(self), execScriptName)
		if _, statErr := os.Stat(candidate); statErr == nil {
			return candidate, nil
		}
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		candidate := filepath.Join(dir, execScriptName)
		if _, statErr := os.Stat(candidate); statErr == nil {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("%s not found beside %s nor on PATH: reinstall with scripts/install-pulumi.sh",
		execScriptName, self)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pulumi-language-python: "+format+"\n", args...)
	os.Exit(1)
}

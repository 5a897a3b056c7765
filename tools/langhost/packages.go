package main

import (
	"context"
	"encoding/json"
	"fmt"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// listPluginsScript prints the pulumi-plugin.json of every installed distribution that ships one:
// that file is how a Pulumi provider SDK (pulumi-ovh, say) names the plugin it needs.
const listPluginsScript = `
import importlib.metadata, json
found = []
for dist in importlib.metadata.distributions():
    for path in dist.files or ():
        if path.name == "pulumi-plugin.json":
            try:
                found.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                pass
print(json.dumps(found))
`

type pluginJSON struct {
	Resource bool   `json:"resource"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Server   string `json:"server"`
}

func (h *host) requiredPackages(ctx context.Context, info *pulumirpc.ProgramInfo) ([]pluginJSON, error) {
	tc, err := resolveToolchain(info)
	if err != nil {
		return nil, err
	}
	cmd, err := tc.Command(ctx, "-c", listPluginsScript)
	if err != nil {
		return nil, err
	}
	cmd.Dir = info.GetProgramDirectory()
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing the Pulumi plugins of the installed Python packages: %w", err)
	}
	var all []pluginJSON
	if err := json.Unmarshal(out, &all); err != nil {
		return nil, fmt.Errorf("reading the list of Pulumi plugins: %w", err)
	}
	seen := map[string]bool{}
	var resources []pluginJSON
	for _, p := range all {
		if p.Resource && p.Name != "" && !seen[p.Name] {
			seen[p.Name] = true
			resources = append(resources, p)
		}
	}
	return resources, nil
}

func (h *host) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	found, err := h.requiredPackages(ctx, req.GetInfo())
	if err != nil {
		return nil, err
	}
	packages := make([]*pulumirpc.PackageDependency, 0, len(found))
	for _, p := range found {
		packages = append(packages, &pulumirpc.PackageDependency{
			Kind: "resource", Name: p.Name, Version: p.Version, Server: p.Server,
		})
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: packages}, nil
}

func (h *host) GetRequiredPlugins(
	ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	found, err := h.requiredPackages(ctx, req.GetInfo())
	if err != nil {
		return nil, err
	}
	plugins := make([]*pulumirpc.PluginDependency, 0, len(found))
	for _, p := range found {
		plugins = append(plugins, &pulumirpc.PluginDependency{
			Kind: "resource", Name: p.Name, Version: p.Version, Server: p.Server,
		})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/encoo-tools/imgup/internal/i18n"
)

// The docker CLI plugin form: the same binary, installed (or linked) as
// ~/.docker/cli-plugins/docker-imgup, makes `docker imgup apply …` work. The docker CLI
// runs it as `docker-imgup docker-cli-plugin-metadata` to list it, and as
// `docker-imgup [GLOBAL OPTIONS] imgup [ARGS]` to run it. imgup then talks to the engine
// the docker command would: -H/--host, else DOCKER_HOST, else the context of
// --context, DOCKER_CONTEXT or the config's currentContext.

// PluginName is the binary's name in the plugin form.
const PluginName = "docker-imgup"

// pluginMetadata answers the docker-cli-plugin-metadata call.
func pluginMetadata() string {
	b, _ := json.Marshal(map[string]string{
		"SchemaVersion":    "0.1.0",
		"Vendor":           "encoo-tools",
		"Version":          version(),
		"ShortDescription": "Update an offline compose deployment from image archives",
		"URL":              "https://github.com/encoo-tools/imgup",
	})
	return string(b)
}

// dockerGlobals are the docker CLI's global options that take a value.
var dockerGlobals = map[string]bool{"--config": true, "-c": true, "--context": true, "-H": true, "--host": true,
	"-l": true, "--log-level": true, "--tlscacert": true, "--tlscert": true, "--tlskey": true}

// pluginArgs splits a plugin call into the docker CLI's global options and imgup's own
// arguments, and returns the engine address those options (and the environment) choose;
// "" leaves the default.
func pluginArgs(args []string, getenv func(string) string) (rest []string, host string, err error) {
	var ctxName, hostFlag, configDir string
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "imgup" {
			break
		}
		name, val, hasVal := strings.Cut(a, "=")
		if dockerGlobals[name] && !hasVal {
			if i+1 >= len(args) {
				return nil, "", i18n.Errorf("docker option %s needs a value", name)
			}
			i++
			val = args[i]
		}
		switch name {
		case "-c", "--context":
			ctxName = val
		case "-H", "--host":
			hostFlag = val
		case "--config":
			configDir = val
		}
	}
	if i >= len(args) {
		return nil, "", i18n.Errorf("run as a docker CLI plugin without the %q command: use docker imgup …", "imgup")
	}
	rest = args[i+1:]
	if hostFlag != "" {
		return rest, hostFlag, nil
	}
	if ctxName == "" {
		if h := getenv("DOCKER_HOST"); h != "" {
			return rest, h, nil
		}
		ctxName = getenv("DOCKER_CONTEXT")
	}
	if configDir == "" {
		configDir = getenv("DOCKER_CONFIG")
	}
	if configDir == "" {
		home, _ := os.UserHomeDir()
		configDir = filepath.Join(home, ".docker")
	}
	if ctxName == "" {
		var cfg struct {
			CurrentContext string `json:"currentContext"`
		}
		if b, err := readConfig(filepath.Join(configDir, "config.json"), 1<<20); err == nil {
			json.Unmarshal(b, &cfg)
		}
		ctxName = cfg.CurrentContext
	}
	if ctxName == "" || ctxName == "default" {
		return rest, "", nil
	}
	sum := sha256.Sum256([]byte(ctxName))
	meta := filepath.Join(configDir, "contexts", "meta", hex.EncodeToString(sum[:]), "meta.json")
	b, err := readConfig(meta, 1<<20)
	if err != nil {
		return nil, "", i18n.Errorf("docker context %q: %v (see docker context ls)", ctxName, err)
	}
	var m struct {
		Endpoints map[string]struct {
			Host string `json:"Host"`
		} `json:"Endpoints"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, "", i18n.Errorf("docker context %q: %s: %v", ctxName, meta, err)
	}
	h := m.Endpoints["docker"].Host
	if h == "" {
		return nil, "", i18n.Errorf("docker context %q has no docker endpoint", ctxName)
	}
	return rest, h, nil
}

// pluginMain runs imgup as the docker CLI plugin; args are the process's arguments
// after its name.
// It returns the engine address the docker CLI's options chose ("" for the default).
func pluginMain(args []string) (rest []string, host string, exit int, done bool) {
	if len(args) > 0 && args[0] == "docker-cli-plugin-metadata" {
		fmt.Println(pluginMetadata())
		return nil, "", ExitOK, true
	}
	rest, host, err := pluginArgs(args, os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "imgup: %v\n", err)
		return nil, "", ExitUsage, true
	}
	return rest, host, 0, false
}

// readConfig reads one of docker's small JSON files (config.json, a context's
// meta.json): a regular file, at most 1 MiB.
func readConfig(path string, max int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() > max {
		return nil, fmt.Errorf("%s: not a regular file of at most %d bytes", path, max)
	}
	return os.ReadFile(path)
}

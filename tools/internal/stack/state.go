package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// State is the content of stack.json: everything a client needs to talk to a
// running stack, and everything `down` needs to stop it.
type State struct {
	Dir        string      `json:"dir"`
	GatewayURL string      `json:"gateway_url"`
	Redis      Redis       `json:"redis"`
	Keys       Keys        `json:"keys"`
	AdminToken string      `json:"admin_token"`
	Components []Component `json:"components"`
	// StartupSeconds is how long `up` took until every component was ready.
	StartupSeconds float64 `json:"startup_seconds"`
}

// Redis describes the stack's Redis.
type Redis struct {
	Addr string `json:"addr"`
	// Kind is "redis-server" or "embedded" (miniredis in a stratactl child).
	Kind string `json:"kind"`
}

// Keys names the auth key files.
type Keys struct {
	PrivateKey string `json:"private_key"`
	PublicKey  string `json:"public_key"`
}

// Component is one process of the stack.
type Component struct {
	Name string `json:"name"`
	// GRPCAddr is the gRPC listen address (empty for redis and gateway).
	GRPCAddr string `json:"grpc_addr,omitempty"`
	// AdminAddr serves /healthz, /readyz, /metrics (HTTP address for the gateway).
	AdminAddr string `json:"admin_addr,omitempty"`
	// ReadyURL is polled until it answers 200.
	ReadyURL string  `json:"ready_url,omitempty"`
	Process  Process `json:"process"`
	Log      string  `json:"log"`
	Config   string  `json:"config,omitempty"`
}

// Component returns the named component, or false.
func (s *State) Component(name string) (Component, bool) {
	for _, c := range s.Components {
		if c.Name == name {
			return c, true
		}
	}
	return Component{}, false
}

// LoadState reads DIR/stack.json.
func LoadState(dir string) (*State, error) {
	b, err := os.ReadFile(Layout{Dir: dir}.StateFile())
	if err != nil {
		return nil, fmt.Errorf("read stack state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode stack state %s: %w", Layout{Dir: dir}.StateFile(), err)
	}
	return &s, nil
}

// Save writes DIR/stack.json atomically (temp file, fsync, rename).
func (s *State) Save() error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode stack state: %w", err)
	}
	return writeFileAtomic(Layout{Dir: s.Dir}.StateFile(), append(b, '\n'), 0o600)
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

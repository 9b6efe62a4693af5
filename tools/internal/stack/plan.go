package stack

import (
	"fmt"

	"github.com/stratadb/strata/libs/platform/auth"

	"gopkg.in/yaml.v3"
)

// configFileFlag is the flag every Strata binary reads its YAML file from.
const configFileFlag = "config.file"

// stackPlan holds the addresses chosen for one stack.
type stackPlan struct {
	Layout      Layout
	RedisAddr   string
	Addrs       map[string][2]string // service → {gRPC, admin}
	GatewayAddr string
}

// componentSpec is one component ready to start: its config file content,
// the secrets it gets through the environment, and its State entry.
type componentSpec struct {
	comp   Component
	config []byte
	env    []string
}

// component builds the config and environment of one service or the gateway.
func (p stackPlan) component(name string, keys *keyRing) (componentSpec, error) {
	l := p.Layout
	c := Component{Name: name, Log: l.LogFile(name), Config: l.ConfigFile(name)}
	var env []string
	// Service-to-service tokens go through the environment
	// (STRATA_<SCOPE>_TOKEN, see auth.TokenEnv), never the config file.
	token := func(scope auth.Scope) error {
		t, err := keys.mint(scope, "")
		if err != nil {
			return err
		}
		env = append(env, auth.TokenEnv(scope)+"="+t)
		return nil
	}
	if name == Gateway {
		c.AdminAddr = p.GatewayAddr
		c.ReadyURL = "http://" + p.GatewayAddr + "/readyz"
		cfg := map[string]any{
			"listen_addr": p.GatewayAddr,
			"log":         map[string]any{"format": "json", "level": "info"},
			"upstreams": map[string]any{
				"page_service":    p.Addrs[PageService][0],
				"walredo_pool":    p.Addrs[WalredoPool][0],
				"upload_worker":   p.Addrs[UploadWorker][0],
				"gc_compactor":    p.Addrs[GCCompactor][0],
				"size_calculator": p.Addrs[SizeCalculator][0],
			},
		}
		b, err := yaml.Marshal(cfg)
		return componentSpec{comp: c, config: b, env: env}, err
	}
	grpcAddr, adminAddr := p.Addrs[name][0], p.Addrs[name][1]
	c.GRPCAddr, c.AdminAddr = grpcAddr, adminAddr
	c.ReadyURL = "http://" + adminAddr + "/readyz"
	cfg := map[string]any{
		"grpc":  map[string]any{"addr": grpcAddr},
		"admin": map[string]any{"addr": adminAddr},
		"log":   map[string]any{"format": "json", "level": "info"},
		"auth":  map[string]any{"public_key_files": []string{l.PublicKey()}},
	}
	storage := map[string]any{"local_path": l.ObjectsDir()}
	redis := map[string]any{"addr": p.RedisAddr}
	switch name {
	case PageService:
		cfg["node_id"] = 1
		cfg["workdir"] = l.PageServiceDir()
		cfg["redis"] = redis
		cfg["remote_storage"] = storage
		cfg["walredo_pool"] = map[string]any{"addr": p.Addrs[WalredoPool][0]}
		if err := token(scopeWalredo); err != nil {
			return componentSpec{}, err
		}
	case WalredoPool:
	case UploadWorker:
		cfg["redis"] = redis
		cfg["remote_storage"] = storage
		cfg["page_service"] = map[string]any{"addr": p.Addrs[PageService][0]}
		if err := token(scopeUploadWorker); err != nil {
			return componentSpec{}, err
		}
	case GCCompactor:
		cfg["redis"] = redis
		cfg["remote_storage"] = storage
		cfg["page_service"] = map[string]any{"addr": p.Addrs[PageService][0]}
		cfg["walredo_pool"] = map[string]any{"addr": p.Addrs[WalredoPool][0]}
		if err := token(scopeGCCompactor); err != nil {
			return componentSpec{}, err
		}
		if err := token(scopeWalredo); err != nil {
			return componentSpec{}, err
		}
	case SizeCalculator:
		cfg["redis"] = redis
		cfg["page_service"] = map[string]any{"addr": p.Addrs[PageService][0]}
		if err := token(scopeSizeCalculator); err != nil {
			return componentSpec{}, err
		}
	default:
		return componentSpec{}, fmt.Errorf("unknown component %q", name)
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return componentSpec{}, fmt.Errorf("encode %s config: %w", name, err)
	}
	return componentSpec{comp: c, config: b, env: env}, nil
}

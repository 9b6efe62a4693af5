// Package stack runs a local Strata stack on one machine: Redis, the five
// services and the gateway as detached child processes, with keys, configs,
// logs and object storage under one directory.
//
// Directory layout (DIR defaults to .strata/):
//
//	DIR/stack.json          endpoints, pids, key paths, an admin token (State)
//	DIR/keys/               auth_private.pem, auth_public.pem (Ed25519)
//	DIR/config/<svc>.yaml   per-service configuration (no secrets)
//	DIR/logs/<svc>.log      stdout+stderr of every process
//	DIR/objects/            local object storage
//	DIR/redis/              redis-server working directory
//	DIR/page-service/       page-service workdir (tenants/)
//
// Processes are started in their own process group so that `stratactl up`
// can return while they keep running; `stratactl down` stops them by pid,
// checking each pid's start time so a recycled pid is never signalled.
package stack

import "path/filepath"

// Layout names the files of a stack directory.
type Layout struct {
	Dir string
}

// StateFile is DIR/stack.json.
func (l Layout) StateFile() string { return filepath.Join(l.Dir, "stack.json") }

// KeysDir holds the auth key pair.
func (l Layout) KeysDir() string { return filepath.Join(l.Dir, "keys") }

// PrivateKey is the Ed25519 signing key (PEM).
func (l Layout) PrivateKey() string { return filepath.Join(l.KeysDir(), "auth_private.pem") }

// PublicKey is the Ed25519 verification key (PEM).
func (l Layout) PublicKey() string { return filepath.Join(l.KeysDir(), "auth_public.pem") }

// ConfigDir holds one YAML file per service.
func (l Layout) ConfigDir() string { return filepath.Join(l.Dir, "config") }

// ConfigFile is the config of one component.
func (l Layout) ConfigFile(name string) string {
	return filepath.Join(l.ConfigDir(), name+".yaml")
}

// LogsDir holds one log per component.
func (l Layout) LogsDir() string { return filepath.Join(l.Dir, "logs") }

// LogFile is the log of one component.
func (l Layout) LogFile(name string) string { return filepath.Join(l.LogsDir(), name+".log") }

// ObjectsDir is the local object storage root.
func (l Layout) ObjectsDir() string { return filepath.Join(l.Dir, "objects") }

// PageServiceDir is page-service's workdir (its tenants/ directory).
func (l Layout) PageServiceDir() string { return filepath.Join(l.Dir, "page-service") }

// RedisDir is redis-server's working directory.
func (l Layout) RedisDir() string { return filepath.Join(l.Dir, "redis") }

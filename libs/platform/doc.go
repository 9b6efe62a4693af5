// Package platform is the index of Strata's shared process plumbing; the
// code lives in one package per idea:
//
//	lifecycle   components with Start/Run/Stop, ordered start, reverse stop, Main
//	config      YAML (unknown keys are errors) + flags + env overrides, Duration, Problems
//	logging     slog JSON/text, Secret, redaction of tokens and passwords
//	metrics     per-process Prometheus registry, strata_<component>_<noun>_<unit>
//	health      gRPC health service, /healthz, /readyz
//	admin       admin HTTP server: /healthz /readyz /metrics PUT /v1/failpoints
//	grpcx       gRPC server and client builders (recovery, logging, deadlines, limits)
//	auth        EdDSA JWT: key sets, claims, scopes, interceptors, minting
//	failpoint   FAILPOINTS and PUT /v1/failpoints (build tag failpoints)
//	redisconn   the Redis client from config
//	lease       fenced leases on Redis
//	workqueue   ordered per-key work queues on Redis streams
//	notify      pub/sub notifications with subscribe-then-check waiting
//	redistest   a real redis-server for tests
//
// See Example (example_test.go) for a whole service's main wired from them.
package platform

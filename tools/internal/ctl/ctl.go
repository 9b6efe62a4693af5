// Package ctl is stratactl's command tree: the local stack (up, down,
// status, token) and the hidden internal commands stratactl runs as its own
// child processes.
package ctl

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratadb/strata/tools/internal/stack"
)

// DefaultDir is the stack directory when --dir is not given.
const DefaultDir = ".strata"

// New returns the root command. extra commands (owned by other packages, such
// as `wal`) are added as subcommands.
func New(extra ...*cobra.Command) *cobra.Command {
	root := &cobra.Command{
		Use:           "stratactl",
		Short:         "Run and inspect a local Strata stack",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(upCmd(), downCmd(), statusCmd(), tokenCmd(), envCmd(), probeCmd(), internalCmd())
	root.AddCommand(extra...)
	return root
}

// Main runs the root command and exits non-zero on error.
func Main(extra ...*cobra.Command) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := New(extra...).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stratactl:", err)
		os.Exit(1)
	}
}

func logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func upCmd() *cobra.Command {
	var dir, binDir, redisServer string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start Redis, the five services and the gateway; wait until all are healthy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("locate stratactl: %w", err)
			}
			if binDir == "" {
				binDir = filepath.Dir(self)
			}
			st, err := stack.Up(cmd.Context(), stack.Options{
				Dir: dir, BinDir: binDir, Self: self, RedisServer: redisServer,
				ReadyTimeout: timeout, Logger: logger(),
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "stack ready in %.2fs\n", st.StartupSeconds)
			fmt.Fprintf(out, "gateway:  %s\n", st.GatewayURL)
			fmt.Fprintf(out, "redis:    %s (%s)\n", st.Redis.Addr, st.Redis.Kind)
			fmt.Fprintf(out, "state:    %s\n", stack.Layout{Dir: st.Dir}.StateFile())
			fmt.Fprintf(out, "logs:     %s\n", stack.Layout{Dir: st.Dir}.LogsDir())
			fmt.Fprintf(out, "token:    stratactl token --dir %s --scope pageserverapi\n", dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", DefaultDir, "stack directory")
	cmd.Flags().StringVar(&binDir, "bin-dir", "", "directory of the service binaries (default: next to stratactl)")
	cmd.Flags().StringVar(&redisServer, "redis-server", "", `redis-server binary (default: from PATH; "-" forces the embedded Redis)`)
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "how long to wait for every component to become ready")
	return cmd
}

func downCmd() *cobra.Command {
	var dir string
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop every process of the stack (SIGTERM, then SIGKILL after the grace period)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := stack.Down(cmd.Context(), dir, grace); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "stack stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", DefaultDir, "stack directory")
	cmd.Flags().DurationVar(&grace, "grace", 10*time.Second, "time between SIGTERM and SIGKILL")
	return cmd
}

func statusCmd() *cobra.Command {
	var dir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each component's process and readiness",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hs, err := stack.Status(cmd.Context(), dir)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(hs)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "COMPONENT\tPID\tRUNNING\tREADY\tDETAIL")
			for _, h := range hs {
				fmt.Fprintf(tw, "%s\t%d\t%t\t%t\t%s\n", h.Name, h.PID, h.Running, h.Ready, h.Detail)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, h := range hs {
				if !h.Ready {
					return fmt.Errorf("%s is not healthy", h.Name)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", DefaultDir, "stack directory")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func tokenCmd() *cobra.Command {
	var dir, scope, tenant string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Mint a JWT signed by the stack's key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := stack.MintToken(dir, scope, tenant, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), t)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", DefaultDir, "stack directory")
	cmd.Flags().StringVar(&scope, "scope", "pageserverapi", "token scope (pageserverapi, tenant, walredo, uploadworker, gccompactor, sizecalculator)")
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant id (required for scope tenant)")
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "token lifetime (0: no exp claim)")
	return cmd
}

func internalCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "internal", Short: "Processes stratactl runs itself", Hidden: true}
	var addr string
	redis := &cobra.Command{
		Use:   "redis",
		Short: "Serve an embedded in-memory Redis (miniredis) until SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return stack.RunEmbeddedRedis(cmd.Context(), addr, logger())
		},
	}
	redis.Flags().StringVar(&addr, "addr", "127.0.0.1:6379", "listen address")
	cmd.AddCommand(redis)
	return cmd
}

// probeCmd is the container healthcheck: images are FROM scratch, so there
// is no curl; `stratactl probe URL` exits 0 when GET URL answers 200.
func probeCmd() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "probe URL",
		Short: "Exit 0 when GET URL answers 200 (container healthcheck)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: HTTP %d", args[0], resp.StatusCode)
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Second, "request timeout")
	return cmd
}

// envCmd prints shell exports for the running stack, for
// `eval "$(stratactl env)"`: the gateway URL and the admin token.
func envCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print shell exports (STRATA_GATEWAY_URL, STRATA_TOKEN) for the stack",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := stack.LoadState(dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "export STRATA_GATEWAY_URL=%s\nexport STRATA_TOKEN=%s\n", st.GatewayURL, st.AdminToken)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", DefaultDir, "stack directory")
	return cmd
}

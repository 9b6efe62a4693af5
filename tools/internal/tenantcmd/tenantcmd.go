// Package tenantcmd is stratactl's `tenant` and `timeline` commands: create
// and list tenants, import a running PostgreSQL 15 primary as a root
// timeline, branch a timeline at an LSN, and show timelines. They talk to the
// gateway of the stack in --stack DIR with its admin token.
//
//	stratactl tenant create --stack .strata [--id T]
//	stratactl tenant list --stack .strata
//	stratactl timeline import --stack .strata --tenant T --pg postgres://... [--id TL]
//	stratactl timeline branch --stack .strata --tenant T --from TL --at 0/3000060 [--id NEW]
//	stratactl timeline show --stack .strata --tenant T [--timeline TL] [--json]
package tenantcmd

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/stratadb/strata/tools/internal/stackapi"
)

// DefaultStack is the stack directory when --stack is not given.
const DefaultStack = ".strata"

// New returns the `tenant` and `timeline` commands.
func New() []*cobra.Command {
	return []*cobra.Command{tenantCmd(), timelineCmd()}
}

func tenantCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Create and list tenants", Args: cobra.NoArgs}
	var dir, tenantID string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a tenant and print its id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tenantID != "" {
				var err error
				if tenantID, err = stackapi.ParseID("tenant", tenantID); err != nil {
					return err
				}
			}
			c, err := stackapi.Open(dir)
			if err != nil {
				return err
			}
			id, err := c.CreateTenant(cmd.Context(), tenantID)
			if err != nil {
				return fmt.Errorf("create tenant: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), id)
			return nil
		},
	}
	create.Flags().StringVar(&dir, "stack", DefaultStack, "stack directory (stack.json of `stratactl up`)")
	create.Flags().StringVar(&tenantID, "id", "", "tenant id, 32 hex digits (default: generated)")

	var listDir string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List tenants and their states",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := stackapi.Open(listDir)
			if err != nil {
				return err
			}
			ts, err := c.ListTenants(cmd.Context())
			if err != nil {
				return fmt.Errorf("list tenants: %w", err)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), ts)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TENANT\tSTATE\tGENERATION\tDETAIL")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", t.ID, t.State, t.Generation, str(t.BrokenReason))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&listDir, "stack", DefaultStack, "stack directory")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(create, list)
	return cmd
}

func timelineCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "timeline", Short: "Import, branch and show timelines", Args: cobra.NoArgs}
	cmd.AddCommand(importCmd(), branchCmd(), showCmd())
	return cmd
}

func importCmd() *cobra.Command {
	var dir, tenant, pg, tlID, slot string
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Create a root timeline from a running PostgreSQL 15 primary and stream its WAL",
		Long: `Create a root timeline from a running PostgreSQL 15 primary: page-service
creates a physical replication slot, takes a base backup over the replication
protocol, imports it, and then streams the primary's WAL into the timeline.
The primary needs wal_level=replica (or logical), a free WAL sender and slot,
and must accept replication connections from page-service.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := stackapi.ParseID("tenant", tenant)
			if err != nil {
				return err
			}
			req := stackapi.CreateTimeline{Source: &stackapi.Source{Connstr: pg, SlotName: slot}}
			if pg == "" {
				return fmt.Errorf("--pg is required: the primary's connection string")
			}
			if tlID != "" {
				if req.NewTimelineID, err = stackapi.ParseID("timeline", tlID); err != nil {
					return err
				}
			}
			c, err := stackapi.Open(dir)
			if err != nil {
				return err
			}
			tl, err := c.CreateTimeline(cmd.Context(), t, req)
			if err != nil {
				return fmt.Errorf("import timeline: %w", err)
			}
			return printTimelines(cmd.OutOrStdout(), []stackapi.Timeline{*tl}, false)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "stack", DefaultStack, "stack directory")
	f.StringVar(&tenant, "tenant", "", "tenant id (required)")
	f.StringVar(&pg, "pg", "", "libpq connection string of the primary (required), e.g. postgres://postgres@127.0.0.1:5432/postgres")
	f.StringVar(&tlID, "id", "", "timeline id, 32 hex digits (default: generated)")
	f.StringVar(&slot, "slot", "", "replication slot name (default: strata_<timeline id>)")
	return cmd
}

func branchCmd() *cobra.Command {
	var dir, tenant, from, at, newID string
	cmd := &cobra.Command{
		Use:   "branch",
		Short: "Create a branch of a timeline at an LSN (default: its last record)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := stackapi.ParseID("tenant", tenant)
			if err != nil {
				return err
			}
			req := stackapi.CreateTimeline{}
			if req.AncestorTimelineID, err = stackapi.ParseID("timeline", from); err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			if at != "" {
				l, err := stackapi.ParseLSN(at)
				if err != nil {
					return fmt.Errorf("--at: %w", err)
				}
				req.AncestorStartLSN = l.String()
			}
			if newID != "" {
				if req.NewTimelineID, err = stackapi.ParseID("timeline", newID); err != nil {
					return err
				}
			}
			c, err := stackapi.Open(dir)
			if err != nil {
				return err
			}
			tl, err := c.CreateTimeline(cmd.Context(), t, req)
			if err != nil {
				return fmt.Errorf("branch timeline: %w", err)
			}
			return printTimelines(cmd.OutOrStdout(), []stackapi.Timeline{*tl}, false)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "stack", DefaultStack, "stack directory")
	f.StringVar(&tenant, "tenant", "", "tenant id (required)")
	f.StringVar(&from, "from", "", "ancestor timeline id (required)")
	f.StringVar(&at, "at", "", "branch point LSN, X/Y (default: the ancestor's last record)")
	f.StringVar(&newID, "id", "", "new timeline id, 32 hex digits (default: generated)")
	return cmd
}

func showCmd() *cobra.Command {
	var dir, tenant, tlID string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show a tenant's timelines (or one timeline)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := stackapi.ParseID("tenant", tenant)
			if err != nil {
				return err
			}
			if tlID != "" {
				if tlID, err = stackapi.ParseID("timeline", tlID); err != nil {
					return err
				}
			}
			c, err := stackapi.Open(dir)
			if err != nil {
				return err
			}
			var tls []stackapi.Timeline
			if tlID != "" {
				tl, err := c.GetTimeline(cmd.Context(), t, tlID)
				if err != nil {
					return fmt.Errorf("show timeline: %w", err)
				}
				tls = append(tls, *tl)
			} else if tls, err = c.ListTimelines(cmd.Context(), t); err != nil {
				return fmt.Errorf("list timelines: %w", err)
			}
			return printTimelines(cmd.OutOrStdout(), tls, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "stack", DefaultStack, "stack directory")
	f.StringVar(&tenant, "tenant", "", "tenant id (required)")
	f.StringVar(&tlID, "timeline", "", "timeline id (default: all of the tenant's)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// printTimelines writes one line per timeline (or JSON).
func printTimelines(w io.Writer, tls []stackapi.Timeline, asJSON bool) error {
	if asJSON {
		return writeJSON(w, tls)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIMELINE\tSTATE\tANCESTOR@LSN\tLAST_RECORD\tDISK_CONSISTENT\tMIN_READABLE\tWAL_SOURCE\tDETAIL")
	for _, t := range tls {
		anc := "-"
		if t.IsBranch() {
			anc = *t.AncestorTimelineID + "@" + str(t.AncestorLSN)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.TimelineID, t.State, anc, t.LastRecordLSN,
			t.DiskConsistentLSN, orDash(str(t.MinReadableLSN)), orDash(str(t.WalSourceConnstr)), str(t.BrokenReason))
	}
	return tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

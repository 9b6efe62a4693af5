// Package stackapi is stratactl's client of a running Strata stack: the
// gateway's REST management API (tenants, timelines, WAL sources) and
// page-service's gRPC page API (base backups, pages), both with the stack's
// admin token from stack.json.
//
//	c, err := stackapi.Open(".strata")
//	id, err := c.CreateTenant(ctx, "")
//	tl, err := c.CreateTimeline(ctx, id, stackapi.CreateTimeline{Source: &stackapi.Source{Connstr: pg}})
//
// Server errors come back as *APIError with the HTTP status and the {"msg"}
// text of the gateway's error body. Ids and LSNs are checked before any
// request is sent (ParseID, ParseLSN), so bad input fails with a clear
// message and no round trip.
package stackapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/tools/internal/stack"
)

// Client talks to one stack. It is safe for concurrent use.
type Client struct {
	// GatewayURL is the REST base URL, e.g. http://127.0.0.1:9000.
	GatewayURL string
	// PageServiceAddr is page-service's gRPC address (host:port).
	PageServiceAddr string
	// Token is sent as "Authorization: Bearer" on every call.
	Token string
	// HTTP is the REST client; nil means a client with a 5-minute timeout
	// (creating a timeline from a primary takes a base backup).
	HTTP *http.Client
}

// Open reads DIR/stack.json and returns a client using its gateway,
// page-service address and admin token.
func Open(dir string) (*Client, error) {
	st, err := stack.LoadState(dir)
	if err != nil {
		return nil, fmt.Errorf("%w (is a stack running? start one with `stratactl up --dir %s`)", err, dir)
	}
	c := &Client{GatewayURL: st.GatewayURL, Token: st.AdminToken}
	if ps, ok := st.Component(stack.PageService); ok {
		c.PageServiceAddr = ps.GRPCAddr
	}
	return c, nil
}

// APIError is a non-2xx answer of the gateway.
type APIError struct {
	Method, Path string
	Status       int
	// Msg is the "msg" of the error body, or the raw body when it is not
	// the gateway's error shape.
	Msg string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Msg)
}

// StatusOf returns the HTTP status of an *APIError in err's chain, or 0.
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// ParseID checks a 32-hex tenant or timeline id; what names the flag for the
// error message ("tenant", "timeline").
func ParseID(what, s string) (string, error) {
	v, err := id.Parse(s)
	if err != nil {
		return "", fmt.Errorf("invalid %s id %q: want 32 hex digits", what, s)
	}
	return v.String(), nil
}

// ParseLSN checks an LSN in X/Y form (or 16 hex digits).
func ParseLSN(s string) (lsn.LSN, error) {
	return lsn.Parse(strings.TrimSpace(s))
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 5 * time.Minute}
}

// Do sends a REST request with body (JSON-encoded when not nil) and decodes
// a 2xx answer into out (when not nil). Other answers are *APIError.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.GatewayURL, "/")+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(b))
		var eb struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal(b, &eb) == nil && eb.Msg != "" {
			msg = eb.Msg
		}
		return &APIError{Method: method, Path: path, Status: resp.StatusCode, Msg: msg}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// Tenant is one entry of GET /v1/tenant.
type Tenant struct {
	ID                  string  `json:"id"`
	State               string  `json:"state"`
	CurrentPhysicalSize *uint64 `json:"current_physical_size"`
	BrokenReason        *string `json:"broken_reason"`
	Generation          uint32  `json:"generation"`
}

// Timeline is the gateway's TimelineInfo.
type Timeline struct {
	TenantID            string  `json:"tenant_id"`
	TimelineID          string  `json:"timeline_id"`
	AncestorTimelineID  *string `json:"ancestor_timeline_id"`
	AncestorLSN         *string `json:"ancestor_lsn"`
	LastRecordLSN       string  `json:"last_record_lsn"`
	PrevRecordLSN       *string `json:"prev_record_lsn"`
	LatestGCCutoffLSN   string  `json:"latest_gc_cutoff_lsn"`
	DiskConsistentLSN   string  `json:"disk_consistent_lsn"`
	RemoteConsistentLSN string  `json:"remote_consistent_lsn"`
	InitdbLSN           *string `json:"initdb_lsn"`
	CurrentLogicalSize  *uint64 `json:"current_logical_size"`
	CurrentPhysicalSize *uint64 `json:"current_physical_size"`
	WalSourceConnstr    *string `json:"wal_source_connstr"`
	LastReceivedMsgLSN  *string `json:"last_received_msg_lsn"`
	PGVersion           uint32  `json:"pg_version"`
	State               string  `json:"state"`
	MinReadableLSN      *string `json:"min_readable_lsn"`
	BrokenReason        *string `json:"broken_reason"`
}

// IsBranch reports whether the timeline has an ancestor.
func (t *Timeline) IsBranch() bool { return t.AncestorTimelineID != nil && *t.AncestorTimelineID != "" }

// Source is a timeline's data source (TimelineSource).
type Source struct {
	Connstr           string `json:"connstr,omitempty"`
	BasebackupTarPath string `json:"basebackup_tar_path,omitempty"`
	BasebackupLSN     string `json:"basebackup_lsn,omitempty"`
	SlotName          string `json:"slot_name,omitempty"`
}

// CreateTimeline is the body of POST /v1/tenant/{id}/timeline.
type CreateTimeline struct {
	NewTimelineID      string  `json:"new_timeline_id,omitempty"`
	AncestorTimelineID string  `json:"ancestor_timeline_id,omitempty"`
	AncestorStartLSN   string  `json:"ancestor_start_lsn,omitempty"`
	Source             *Source `json:"source,omitempty"`
}

// CreateTenant creates a tenant (id "" lets the server pick one) and
// returns its id.
func (c *Client) CreateTenant(ctx context.Context, tenantID string) (string, error) {
	body := map[string]any{}
	if tenantID != "" {
		body["new_tenant_id"] = tenantID
	}
	var out string
	if err := c.Do(ctx, http.MethodPost, "/v1/tenant", body, &out); err != nil {
		return "", err
	}
	return out, nil
}

// ListTenants lists the tenants.
func (c *Client) ListTenants(ctx context.Context) ([]Tenant, error) {
	var out []Tenant
	return out, c.Do(ctx, http.MethodGet, "/v1/tenant", nil, &out)
}

// GetTenant reports one tenant.
func (c *Client) GetTenant(ctx context.Context, tenantID string) (*Tenant, error) {
	var out Tenant
	if err := c.Do(ctx, http.MethodGet, "/v1/tenant/"+url.PathEscape(tenantID), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateTimeline creates a root timeline (with a Source) or a branch.
func (c *Client) CreateTimeline(ctx context.Context, tenantID string, req CreateTimeline) (*Timeline, error) {
	var out Timeline
	if err := c.Do(ctx, http.MethodPost, "/v1/tenant/"+url.PathEscape(tenantID)+"/timeline", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListTimelines lists a tenant's timelines.
func (c *Client) ListTimelines(ctx context.Context, tenantID string) ([]Timeline, error) {
	var out []Timeline
	return out, c.Do(ctx, http.MethodGet, "/v1/tenant/"+url.PathEscape(tenantID)+"/timeline", nil, &out)
}

// GetTimeline reports one timeline.
func (c *Client) GetTimeline(ctx context.Context, tenantID, timelineID string) (*Timeline, error) {
	var out Timeline
	if err := c.Do(ctx, http.MethodGet, timelinePath(tenantID, timelineID), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetWalSource attaches a WAL source to a timeline (a branch's new primary).
func (c *Client) SetWalSource(ctx context.Context, tenantID, timelineID string, src Source) (*Timeline, error) {
	var out Timeline
	if err := c.Do(ctx, http.MethodPut, timelinePath(tenantID, timelineID)+"/wal_source", src, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Checkpoint flushes a timeline's in-memory layer now.
func (c *Client) Checkpoint(ctx context.Context, tenantID, timelineID string) error {
	return c.Do(ctx, http.MethodPut, timelinePath(tenantID, timelineID)+"/checkpoint", map[string]any{}, nil)
}

// WaitLSN polls a timeline until its last_record_lsn reaches at (or the
// context or timeout ends).
func (c *Client) WaitLSN(ctx context.Context, tenantID, timelineID string, at lsn.LSN, timeout time.Duration) (*Timeline, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		tl, err := c.GetTimeline(ctx, tenantID, timelineID)
		if err == nil {
			last, perr := lsn.Parse(tl.LastRecordLSN)
			if perr == nil && last >= at {
				return tl, nil
			}
			if tl.State == "Broken" {
				return tl, fmt.Errorf("timeline %s is Broken: %s", timelineID, deref(tl.BrokenReason))
			}
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return nil, fmt.Errorf("wait for timeline %s to reach %s: %w", timelineID, at, err)
			}
			got := ""
			if tl != nil {
				got = tl.LastRecordLSN
			}
			return tl, fmt.Errorf("wait for timeline %s to reach %s: still at %s after %s", timelineID, at, got, timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func timelinePath(tenantID, timelineID string) string {
	return "/v1/tenant/" + url.PathEscape(tenantID) + "/timeline/" + url.PathEscape(timelineID)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

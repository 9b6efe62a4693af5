package tenantmgr

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/stratadb/strata/libs/engine/timeline"
	"github.com/stratadb/strata/libs/platform/config"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
)

// Defaults of the tenant config, as Neon's at the reference revision. A
// period of 0 means "disabled".
var Defaults = &pagev1.TenantConfig{
	CheckpointDistance:        proto.Uint64(256 << 20),
	CheckpointTimeout:         proto.String("10m"),
	CompactionTargetSize:      proto.Uint64(128 << 20),
	CompactionPeriod:          proto.String("20s"),
	CompactionThreshold:       proto.Uint32(10),
	ImageCreationThreshold:    proto.Uint32(3),
	GcPeriod:                  proto.String("100s"),
	GcHorizon:                 proto.Uint64(64 << 20),
	PitrInterval:              proto.String("30 days"),
	WalreceiverConnectTimeout: proto.String("2s"),
	LaggingWalTimeout:         proto.String("3s"),
	MaxLsnWalLag:              proto.Uint64(10 << 20),
	TraceReadRequests:         proto.Bool(false),
}

// ValidateConf reports every invalid field of overrides c at once.
func ValidateConf(c *pagev1.TenantConfig) error {
	var errs []error
	dur := func(name string, v *string) {
		if v == nil {
			return
		}
		var d config.Duration
		if err := d.Set(*v); err != nil {
			errs = append(errs, fmt.Errorf("cannot parse `%s` duration %q: %v", name, *v, err))
		} else if d < 0 {
			errs = append(errs, fmt.Errorf("`%s`: negative duration %q", name, *v))
		}
	}
	dur("checkpoint_timeout", c.CheckpointTimeout)
	dur("compaction_period", c.CompactionPeriod)
	dur("gc_period", c.GcPeriod)
	dur("pitr_interval", c.PitrInterval)
	dur("walreceiver_connect_timeout", c.WalreceiverConnectTimeout)
	dur("lagging_wal_timeout", c.LaggingWalTimeout)
	if c.MaxLsnWalLag != nil && *c.MaxLsnWalLag == 0 {
		errs = append(errs, errors.New("`max_lsn_wal_lag`: must be non-zero"))
	}
	if c.CheckpointDistance != nil && *c.CheckpointDistance == 0 {
		errs = append(errs, errors.New("`checkpoint_distance`: must be non-zero"))
	}
	return errors.Join(errs...)
}

// Effective returns the defaults with the overrides c applied.
func Effective(c *pagev1.TenantConfig) *pagev1.TenantConfig {
	e := proto.Clone(Defaults).(*pagev1.TenantConfig)
	if c != nil {
		proto.Merge(e, c)
	}
	return e
}

func parseDur(s *string) time.Duration {
	if s == nil {
		return 0
	}
	var d config.Duration
	if err := d.Set(*s); err != nil {
		return 0
	}
	return d.D()
}

// timelineOptions maps the effective config to the engine's options.
// checkpoint_timeout 0 (disabled) is a very long timeout in the engine.
func timelineOptions(c *pagev1.TenantConfig, waitLSN time.Duration) timeline.Options {
	e := Effective(c)
	ct := parseDur(e.CheckpointTimeout)
	if ct == 0 {
		ct = 100 * 365 * 24 * time.Hour
	}
	return timeline.Options{
		CheckpointDistance:   int64(e.GetCheckpointDistance()),
		CheckpointTimeout:    ct,
		WaitLSNTimeout:       waitLSN,
		CompactionTargetSize: int64(e.GetCompactionTargetSize()),
	}.EnsureDefaults()
}

// encodeConf and decodeConf are the tenant config file format: the JSON
// form of TenantConfig (snake_case keys); unknown keys are errors.
func encodeConf(c *pagev1.TenantConfig) ([]byte, error) {
	return protojson.MarshalOptions{UseProtoNames: true, Multiline: true}.Marshal(c)
}

func decodeConf(b []byte) (*pagev1.TenantConfig, error) {
	c := &pagev1.TenantConfig{}
	if err := (protojson.UnmarshalOptions{}).Unmarshal(b, c); err != nil {
		return nil, err
	}
	if err := ValidateConf(c); err != nil {
		return nil, err
	}
	return c, nil
}

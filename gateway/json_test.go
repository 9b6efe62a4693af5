package gateway

import (
	"testing"

	"google.golang.org/protobuf/proto"

	pageservicev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
)

func TestNeonJSON(t *testing.T) {
	m := newMarshaler()
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"64-bit integers in nested and repeated fields are numbers",
			&pageservicev1.GetGcInfoResponse{GcHorizon: 1 << 40, Timelines: []*pageservicev1.TimelineGcInfo{{TimelineId: "t", RetainLsns: []uint64{10, 18446744073709551615}}}},
			`{"timelines":[{"timeline_id":"t","ancestor_timeline_id":"","ancestor_lsn":0,"initdb_lsn":0,"last_record_lsn":0,"disk_consistent_lsn":0,"latest_gc_cutoff_lsn":0,"horizon_cutoff_lsn":0,"pitr_cutoff_lsn":0,"retain_lsns":[10,18446744073709551615]}],"gc_horizon":1099511627776,"pitr_interval_seconds":0}`},
		{"unset optional fields are null and set ones keep their value",
			&pageservicev1.TenantConfig{CheckpointTimeout: proto.String("10m"), TraceReadRequests: proto.Bool(false)},
			`{"checkpoint_distance":null,"checkpoint_timeout":"10m","compaction_target_size":null,"compaction_period":null,"compaction_threshold":null,"image_creation_threshold":null,"gc_period":null,"gc_horizon":null,"pitr_interval":null,"walreceiver_connect_timeout":null,"lagging_wal_timeout":null,"max_lsn_wal_lag":null,"trace_read_requests":false}`},
		{"an unset message field is null",
			&pageservicev1.GetTenantResponse{},
			`{"tenant":null}`},
		{"a slice of messages is an array",
			[]*pageservicev1.Failpoint{{Name: "a", Actions: "off"}},
			`[{"name":"a","actions":"off"}]`},
		{"an empty slice is an empty array", []*pageservicev1.Failpoint(nil), `[]`},
		{"strings are not HTML-escaped",
			&pageservicev1.Failpoint{Name: "<a&b>", Actions: "off"},
			`{"name":"<a&b>","actions":"off"}`},
		{"a bare string is a JSON string", "0/16B9188", `"0/16B9188"`},
		{"nil is null", nil, `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Marshal(tt.in)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestNeonJSONReadsNumbersAndStrings(t *testing.T) {
	m := newMarshaler()
	for _, body := range []string{`{"checkpoint_distance": 268435456}`, `{"checkpoint_distance": "268435456"}`} {
		var c pageservicev1.TenantConfig
		if err := m.Unmarshal([]byte(body), &c); err != nil {
			t.Fatalf("Unmarshal %s: %v", body, err)
		}
		if c.GetCheckpointDistance() != 268435456 {
			t.Fatalf("Unmarshal %s: checkpoint_distance %d", body, c.GetCheckpointDistance())
		}
	}
}

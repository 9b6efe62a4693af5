package id

import "testing"

func TestTextFormRoundTripsAndRejectsBadInput(t *testing.T) {
	v := Generate()
	p, err := Parse(v.String())
	if err != nil || p != v {
		t.Fatalf("round trip of %s gave %s, %v", v, p, err)
	}
	for _, bad := range []string{"", "xyz", v.String() + "0", "../../../../etc/passwd0000000000000"[:32]} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

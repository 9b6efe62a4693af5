package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Duration is a time.Duration that YAML, flags and the environment accept in
// Go form ("1h30m", "250ms") or Neon/humantime form ("20 s", "10 min",
// "1h 30m", "2 days"). It prints in Go form.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String implements fmt.Stringer and flag.Value.
func (d Duration) String() string { return time.Duration(d).String() }

// Set implements flag.Value.
func (d *Duration) Set(s string) error {
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// UnmarshalText implements encoding.TextUnmarshaler (YAML scalars, env).
func (d *Duration) UnmarshalText(b []byte) error { return d.Set(string(b)) }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

var units = map[string]time.Duration{
	"ns": time.Nanosecond, "nsec": time.Nanosecond, "nanos": time.Nanosecond,
	"us": time.Microsecond, "µs": time.Microsecond, "usec": time.Microsecond, "micros": time.Microsecond,
	"ms": time.Millisecond, "msec": time.Millisecond, "millis": time.Millisecond,
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"w": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
}

// ParseDuration parses Go durations and humantime-style ones: a sequence of
// "<integer><space?><unit>" parts, like "20 s", "1h 30m" or "2days". "0" is
// zero. Negative durations are rejected.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("invalid duration %q: empty", s)
	}
	if in == "0" {
		return 0, nil
	}
	if d, err := time.ParseDuration(in); err == nil {
		if d < 0 {
			return 0, fmt.Errorf("invalid duration %q: negative", s)
		}
		return d, nil
	}
	var total time.Duration
	rest := in
	for rest != "" {
		rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
		i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if i < 0 {
			return 0, fmt.Errorf("invalid duration %q: missing unit (e.g. \"%ss\")", s, rest)
		}
		if i == 0 {
			return 0, fmt.Errorf("invalid duration %q: expected a number at %q", s, rest)
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: %w", s, err)
		}
		rest = strings.TrimLeftFunc(rest[i:], unicode.IsSpace)
		j := strings.IndexFunc(rest, func(r rune) bool { return unicode.IsSpace(r) || (r >= '0' && r <= '9') })
		if j < 0 {
			j = len(rest)
		}
		unit, ok := units[strings.ToLower(rest[:j])]
		if !ok {
			return 0, fmt.Errorf("invalid duration %q: unknown unit %q", s, rest[:j])
		}
		if n > int64(1<<62)/int64(unit) {
			return 0, fmt.Errorf("invalid duration %q: too large", s)
		}
		total += time.Duration(n) * unit
		rest = rest[j:]
	}
	return total, nil
}

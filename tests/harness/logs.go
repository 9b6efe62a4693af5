package harness

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// globalAllowed are WARN/ERROR lines every test tolerates. Keep it short:
// each entry hides a class of problems from every test.
var globalAllowed = []string{}

// logLevel returns the level of a service log line: the "level" field of a
// JSON line, level=X of a text line, ERROR for a Go panic or fatal error, and
// "" for anything else.
func logLevel(line string) string {
	if strings.HasPrefix(line, "{") {
		var rec struct {
			Level string `json:"level"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil {
			return strings.ToUpper(rec.Level)
		}
	}
	if i := strings.Index(line, "level="); i >= 0 {
		f := strings.Fields(line[i+len("level="):])
		if len(f) > 0 {
			return strings.ToUpper(f[0])
		}
	}
	if strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") {
		return "ERROR"
	}
	return ""
}

// CheckLogs returns every WARN or ERROR line of the service and gateway logs
// under dir/logs that matches none of allow, as "file:line: text". The Redis
// log is not checked (it is not a Strata log).
func CheckLogs(dir string, allow []*regexp.Regexp) []string {
	files, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
	var bad []string
	for _, f := range files {
		if filepath.Base(f) == "redis.log" {
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", f, err))
			continue
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		n := 0
		for sc.Scan() {
			n++
			line := sc.Text()
			switch logLevel(line) {
			case "WARN", "WARNING", "ERROR", "FATAL":
			default:
				continue
			}
			if allowed(line, allow) {
				continue
			}
			bad = append(bad, fmt.Sprintf("%s:%d: %s", filepath.Base(f), n, line))
		}
		fh.Close()
	}
	return bad
}

func allowed(line string, allow []*regexp.Regexp) bool {
	for _, re := range allow {
		if re.MatchString(line) {
			return true
		}
	}
	return false
}

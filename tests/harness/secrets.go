package harness

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

var (
	secretsMu sync.Mutex
	secrets   = map[string]bool{}
)

// recordSecret remembers a token, key or password the run used; Main fails
// the run if any log contains it.
func recordSecret(s string) {
	s = strings.TrimSpace(s)
	if len(s) < 8 {
		return
	}
	secretsMu.Lock()
	secrets[s] = true
	// A PEM block can be logged line by line: record its base64 lines too.
	if strings.HasPrefix(s, "-----BEGIN") {
		for _, l := range strings.Split(s, "\n") {
			if l = strings.TrimSpace(l); len(l) >= 16 && !strings.HasPrefix(l, "-----") {
				secrets[l] = true
			}
		}
	}
	secretsMu.Unlock()
}

// RecordSecret lets a test register a secret of its own (for example a
// token signed by another key).
func RecordSecret(s string) { recordSecret(s) }

// recordEnvSecrets records the STRATA_*TOKEN* and *PASSWORD* values of a
// running process's environment: the service-to-service tokens stratactl
// handed to it.
func recordEnvSecrets(pid int) {
	if pid <= 0 {
		return
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return
	}
	for _, kv := range bytes.Split(b, []byte{0}) {
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok {
			continue
		}
		if strings.Contains(k, "TOKEN") || strings.Contains(k, "PASSWORD") || strings.Contains(k, "SECRET") {
			recordSecret(v)
		}
	}
}

// jwtPattern matches anything shaped like a JWT (header.payload.signature,
// both JSON parts starting with '{"' in base64url).
var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}`)

// FindSecrets scans every file under root whose name ends in .log and
// returns "file:line: what" for each recorded secret or JWT-shaped string
// found (the secret itself is never part of the result).
func FindSecrets(root string) []string {
	secretsMu.Lock()
	list := make([]string, 0, len(secrets))
	for s := range secrets {
		list = append(list, s)
	}
	secretsMu.Unlock()
	var found []string
	_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".log") {
			return nil
		}
		fh, err := os.Open(path)
		if err != nil {
			return nil
		}
		defer fh.Close()
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		n := 0
		for sc.Scan() {
			n++
			line := sc.Text()
			if jwtPattern.MatchString(line) {
				found = append(found, fmt.Sprintf("%s:%d: a JWT", path, n))
				continue
			}
			for _, s := range list {
				if strings.Contains(line, s) {
					found = append(found, fmt.Sprintf("%s:%d: a recorded secret (%d bytes)", path, n, len(s)))
					break
				}
			}
		}
		return nil
	})
	return found
}

// SecretCount reports how many secrets the run recorded.
func SecretCount() int {
	secretsMu.Lock()
	defer secretsMu.Unlock()
	return len(secrets)
}

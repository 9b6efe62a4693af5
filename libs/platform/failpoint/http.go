package failpoint

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Handler serves PUT /v1/failpoints: body [{"name": .., "actions": ..}],
// answer 200 `null`, or 400 {"msg": ..} on a bad body, a bad action, or a
// build without failpoints. Mount it on the admin HTTP server.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			writeMsg(w, http.StatusMethodNotAllowed, "method not allowed: use PUT")
			return
		}
		if !Enabled {
			writeMsg(w, http.StatusBadRequest, ErrNotCompiled.Error())
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeMsg(w, http.StatusBadRequest, fmt.Sprintf("read body: %v", err))
			return
		}
		var cs []Config
		if err := json.Unmarshal(body, &cs); err != nil {
			writeMsg(w, http.StatusBadRequest, fmt.Sprintf("failed to parse failpoints: %v", err))
			return
		}
		for _, c := range cs {
			if c.Name == "" || c.Actions == "" {
				writeMsg(w, http.StatusBadRequest, "failed to configure failpoints: name and actions are required")
				return
			}
		}
		if err := Configure(cs); err != nil {
			writeMsg(w, http.StatusBadRequest, fmt.Sprintf("failed to configure failpoints: %v", err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("null"))
	})
}

func writeMsg(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(struct {
		Msg string `json:"msg"`
	}{msg})
}

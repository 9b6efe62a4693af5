package auth

import (
	"encoding/json"
	"net/http"
	"strings"
)

// HTTPCheckFunc decides whether claims may serve r; return Denied(...) to
// refuse with 403.
type HTTPCheckFunc func(c *Claims, r *http.Request) error

// HTTP returns middleware for HTTP routes (e.g. the admin server's
// PUT /v1/failpoints): missing "Authorization: Bearer" → 401 {"msg":"missing
// authorization header"}, invalid token → 401, check refusal → 403. In trust
// mode it passes everything. A nil check allows any valid token.
func (a *Authenticator) HTTP(check HTTPCheckFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if a.Trust() {
				next.ServeHTTP(w, r)
				return
			}
			h := r.Header.Get("Authorization")
			if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
				writeMsg(w, http.StatusUnauthorized, "missing authorization header")
				return
			}
			c, err := a.keys.Decode(strings.TrimSpace(h[7:]))
			if err != nil {
				writeMsg(w, http.StatusUnauthorized, err.Error())
				return
			}
			if check != nil {
				if err := check(c, r); err != nil {
					writeMsg(w, http.StatusForbidden, err.Error())
					return
				}
			}
			next.ServeHTTP(w, r.WithContext(WithClaims(r.Context(), c)))
		})
	}
}

func writeMsg(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(struct {
		Msg string `json:"msg"`
	}{msg})
}

package failpoint

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     string
		wantErr  bool
	}{
		{"two settings separated by a semicolon", "a=return(1);b=2*sleep(10)", "a=return(1);b=2*sleep(10)", false},
		{"empty parts are ignored", ";a=off;", "a=off", false},
		{"a part without actions is an error", "a=", "", true},
		{"a part without '=' is an error", "a", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := Parse(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if got := Join(cs); !tt.wantErr && got != tt.want {
				t.Fatalf("got %q want %q", got, tt.want)
			}
		})
	}
}

func put(t testing.TB, body string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/v1/failpoints", strings.NewReader(body)))
	return rec.Code, strings.TrimSpace(rec.Body.String())
}

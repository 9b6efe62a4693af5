package redisconn

import (
	"context"
	"testing"

	"github.com/stratadb/strata/libs/platform/redistest"
)

func TestCheckAgainstARealServer(t *testing.T) {
	srv := redistest.Start(t)
	rdb := New(Config{Addr: srv.Addr})
	defer rdb.Close()
	check := Check(rdb)
	if err := check(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	if err := check(context.Background()); err == nil {
		t.Fatal("check passed with Redis gone")
	}
	if err := (Config{DB: -1}).Validate(); err == nil {
		t.Fatal("bad config accepted")
	}
}

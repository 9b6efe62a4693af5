module github.com/stratadb/strata/proto

go 1.26.0

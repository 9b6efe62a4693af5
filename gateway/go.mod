module github.com/stratadb/strata/gateway

go 1.26.0

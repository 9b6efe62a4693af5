module github.com/stratadb/strata/services/gccompactor

go 1.26.0

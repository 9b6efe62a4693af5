module github.com/stratadb/strata/tests

go 1.26.0

module github.com/stratadb/strata/libs/engine

go 1.26.0

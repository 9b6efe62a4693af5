module github.com/stratadb/strata/libs/platform

go 1.26.0

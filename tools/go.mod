module github.com/stratadb/strata/tools

go 1.26.0

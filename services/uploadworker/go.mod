module github.com/stratadb/strata/services/uploadworker

go 1.26.0

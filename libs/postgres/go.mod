module github.com/stratadb/strata/libs/postgres

go 1.26.0

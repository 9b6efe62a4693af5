module github.com/stratadb/strata/libs/objstore

go 1.26.0
